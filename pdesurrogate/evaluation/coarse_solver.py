"""The ``coarse_solver`` baseline: the dataset's own solver on the saved grid, scored like a model.

The solver's physics (equation, forcing, drag, scheme, CFL rule, output cadence) comes from the
generation config that the dataset's manifest stores verbatim; it starts from the last context
frame (``score_from − 1``) and advances over the scored horizon, one saved interval per scored
frame, with its own adaptive inner steps. On a finer grid (``resolution``) the saved frame is
lifted by spectral zero-padding and every frame truncated back to the saved grid (see
:mod:`data_gen.coarse_solver`). A sample whose run blows up is scored as NaN: a diverged baseline
is reported, never dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from data_gen.coarse_solver import CoarseSolver
from data_gen.dataset import parse_settings
from data_gen.dataset.config import ConfigError
from data_gen.errors import ParameterError

from ..data.directory import DatasetReader
from ..errors import UserError
from .evaluate import _physics, scored_times, synchronise
from .scoring import ScoringWindow, frame_metrics, result_rows, scored, trajectories

COARSE_SOLVER = "coarse_solver"
"""The baseline's model name in ``results.csv``; a run on another grid is ``solver_<n>``."""


def solver_name(solver: CoarseSolver) -> str:
    """``coarse_solver`` on the saved grid, ``solver_<n>`` on an ``n²`` grid."""
    return COARSE_SOLVER if solver.resolution == solver.config.saved_resolution else f"solver_{solver.resolution}"


def dataset_solver(reader: DatasetReader, resolution: int | None = None, device: torch.device | str = "cpu",
                   dtype: torch.dtype | None = None) -> tuple[CoarseSolver | None, str]:
    """The dataset's solver on ``resolution²`` (default: the saved grid), or ``None`` and why not
    (an imported dataset has no generation config; an equation may have no solver)."""
    text = reader.manifest.get("config") if isinstance(reader.manifest, dict) else None
    if not isinstance(text, str):
        return None, f"{reader.root}/manifest.json records no generation config (an imported dataset?)"
    try:
        config = parse_settings(text, f"{reader.root}/manifest.json")
        return CoarseSolver(config, resolution, device, dtype), ""
    except (ConfigError, ParameterError) as error:
        return None, str(error)


def require_dataset_solver(reader: DatasetReader, resolution: int | None = None, device: torch.device | str = "cpu",
                           dtype: torch.dtype | None = None) -> CoarseSolver:
    """:func:`dataset_solver`, refusing in one line a dataset without one."""
    solver, reason = dataset_solver(reader, resolution, device, dtype)
    if solver is None:
        raise UserError(f"data: {reader.root} has no coarse solver: {reason}")
    return solver


def solver_prediction(solver: CoarseSolver, fields: torch.Tensor, parameters, window: ScoringWindow,
                      variables: Sequence[str]) -> torch.Tensor:
    """The solver's prediction of the scored frames ``(batch, horizon, variable, y, x)`` (float32, CPU,
    the benchmark's ``variables``) from saved fields ``(batch, time, state variable, y, x)``."""
    last = fields[:, window.score_from - 1]
    frames = solver.rollout_or_nan(last.to(solver.dtype), parameters, window.horizon)
    order = [solver.variables.index(v) for v in variables]
    return frames[:, :, order].to(torch.float32).cpu()


def solver_rows(solver: CoarseSolver, reader: DatasetReader, split_name: str, window: ScoringWindow,
                variables: Sequence[str], stats) -> tuple[list[tuple], float]:
    """Result rows of ``solver`` on every sample of ``split_name`` (seed ``-``, scored exactly as a
    model is), and the seconds its rollouts took."""
    split = reader.split(split_name, "split")
    window.check({}, split.frames, f"split {split_name!r}")
    times, domain_length = scored_times(split, variables, window)
    name, rows, seconds = solver_name(solver), [], 0.0
    device = solver.simulation.grid.device
    state = list(solver.state_variables)
    for (samples, fields), (_, truth_fields) in zip(trajectories(split, state), trajectories(split, variables)):
        parameters = solver.parameters({k: v[samples] for k, v in split.parameters.items()})
        synchronise(device)
        start = time.perf_counter()
        prediction = solver_prediction(solver, fields, parameters, window, variables)
        synchronise(device)
        seconds += time.perf_counter() - start
        rows += result_rows(name, "-", split_name, samples, split.parameters["viscosity"][samples], times,
                            frame_metrics(prediction, scored(truth_fields, window), variables, stats, domain_length,
                                          _physics(split, samples)))
    return rows, seconds


__all__ = ["COARSE_SOLVER", "dataset_solver", "require_dataset_solver", "solver_name", "solver_prediction",
           "solver_rows"]
