"""The dataset's solver in the benchmark: the ``coarse_solver`` baseline and the plain solver on finer grids.

``coarse_solver`` (the saved grid) is scored on every split into ``baselines/results.csv`` beside
``persistence`` and ``training_mean``. The same solver on the grids of ``solver_resolutions``
(between the saved and the simulated one; the saved frame lifted by spectral zero-padding) is scored
into ``baselines/solver_resolutions.csv`` (same columns), and every run's wall time per split into
``baselines/solver_seconds.json``: the points of the error-against-rollout-cost figure, which tell at
what grid the plain solver matches each surrogate, and at what cost.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..data import DatasetReader
from ..evaluation.coarse_solver import COARSE_SOLVER, dataset_solver, solver_name, solver_prediction, solver_rows
from ..evaluation.evaluate import write_results
from ..evaluation.scoring import trajectories
from ..run_directory import write_json
from ..training.device import evaluation_device

log = logging.getLogger(__name__)

SOLVER_RESOLUTIONS = "solver_resolutions.csv"
SOLVER_SECONDS = "solver_seconds.json"


def default_resolutions(saved: int, simulated: int) -> list[int]:
    """The saved grid and 1.5×, 2× and 3× finer ones (even, up to the simulation grid)."""
    grids = {saved, simulated} | {int(round(saved * f / 2)) * 2 for f in (1.5, 2, 3)}
    return sorted(n for n in grids if saved <= n <= simulated)


def _warm_up(solver, reader: DatasetReader, split: str, window) -> None:
    """One untimed sample: lazy initialisation and FFT plans stay out of the timings."""
    info = reader.split(split, "split")
    samples, fields = next(trajectories(info, list(solver.state_variables), batch=1))
    parameters = solver.parameters({k: v[samples] for k, v in info.parameters.items()})
    solver_prediction(solver, fields, parameters, window, list(solver.state_variables))


def score_solvers(bench, reader: DatasetReader) -> list[tuple]:
    """The ``coarse_solver`` rows of every scored split (returned), and the finer grids' rows and
    every grid's timings (written under ``OUT/baselines``); no rows when the dataset has no solver."""
    config, window, variables = bench.config, bench.window, list(bench.config.variables)
    baselines = Path(bench.out) / "baselines"
    device = evaluation_device()
    coarse, reason = dataset_solver(reader, device=device)
    if coarse is None:
        log.warning("benchmark: no coarse_solver baseline: %s", reason)
        write_json(baselines / SOLVER_SECONDS, {"available": False, "reason": reason})
        return []
    saved, simulated = coarse.config.saved_resolution, coarse.config.sim_resolution
    resolutions = config.solver_resolutions or default_resolutions(saved, simulated)
    stats = {v: reader.stats()[v] for v in variables}
    coarse_rows, finer_rows = [], []
    seconds: dict[str, dict] = {}
    for resolution in resolutions:
        solver = coarse if resolution == saved else dataset_solver(reader, resolution, device)[0]
        _warm_up(solver, reader, config.splits[0], window)
        name = solver_name(solver)
        seconds[name] = {"resolution": resolution, "seconds": {}, "trajectories": {}}
        for split in config.splits:
            rows, elapsed = solver_rows(solver, reader, split, window, variables, stats)
            (coarse_rows if name == COARSE_SOLVER else finer_rows).extend(rows)
            seconds[name]["seconds"][split] = elapsed
            seconds[name]["trajectories"][split] = reader.split(split).samples
        log.info("benchmark: the solver on %d² scored every split in %.3g s", resolution,
                 sum(seconds[name]["seconds"].values()))
    write_results(baselines / SOLVER_RESOLUTIONS, finer_rows)
    write_json(baselines / SOLVER_SECONDS, {
        "available": True, "device": str(device), "dtype": str(coarse.dtype).removeprefix("torch."),
        "saved_resolution": saved, "sim_resolution": simulated, "frames": window.horizon,
        "lift": "spectral zero-padding of the saved frame; every frame truncated back to the saved grid",
        "runs": seconds})
    return coarse_rows
