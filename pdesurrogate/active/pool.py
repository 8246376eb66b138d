"""The candidate pool: ``pool`` (viscosity, initial condition) pairs and what simulating each costs.

The pool is a dataset of its own (``OUT/pool``), generated once with the generator's code, one
trajectory per shard: ν drawn from the candidate law, the initial condition from the sample's own
seed. A loop that chooses a candidate gets exactly that pair's trajectory (its round's dataset links
the shard) and pays its cost then. The whole trajectory is simulated up front for two reasons only:
the acquisition score needs the context frames (the first ``score_from``), and the per-round
diagnostic, the rank correlation between a candidate's score and the error the ensemble actually
makes on it, needs the truth. A user's own run needs only the context frames of unchosen candidates
(``score_from`` of the saved frames); that price of choosing is reported apart from the budget.

Cost, in units of the pool's median candidate (``budget_per_round`` counts those):

- ``measured``: the CPU seconds of one trajectory at five viscosities log-spaced over the candidate
  range, each the fastest of two runs on one thread (the timing least disturbed by other
  processes; two OpenMP threads on a busy machine bill their spin-waiting as work), fitted by a
  power law ``c ∝ ν^b`` in log–log. Measured once per run and stored in ``pool.json``, so a resumed
  run keeps its costs; two fresh runs on a busy machine may still differ, and with
  ``per_unit_cost`` choose differently;
- fixed: ``{power_law: b}`` or ``{per_candidate: [...]}``: a rerun prices, and so chooses, identically.

Before any of it, one trajectory at the smallest candidate viscosity runs the generator's resolution
check (the enstrophy in the highest retained shell): a candidate range the grid cannot resolve fails
with one line naming ``candidates.viscosity`` before anything is simulated or trained.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from data_gen.dataset import generate, parse_config
from data_gen.dataset.plan import sample_parameters
from data_gen.dataset.resolution import UNDER_RESOLVED_THRESHOLD, ShellFractionSummary
from data_gen.dataset.simulate import simulate_batch

from ..data import DatasetReader
from ..errors import UserError
from ..run_directory import write_atomically
from .config import ActiveConfig

POOL_SEED = 7_919  # the pool's initial conditions: a seed no split of the shipped configs uses
COST_POINTS = 5


@dataclass(frozen=True)
class Pool:
    root: Path  # the pool's dataset
    viscosity: np.ndarray  # (pool,) in sample order
    cost: np.ndarray  # (pool,) in units of the pool's median
    exponent: float  # b of c ∝ ν^b (fitted to the per-candidate costs when those are given)
    prefactor: float  # a of c = a ν^b, in units of the pool's median
    model: dict  # what pool.json records of the cost model
    trajectories: np.ndarray  # (pool, time, variable, y, x) float32, the data config's variables

    def relative_cost(self, viscosity) -> np.ndarray:
        """The cost at any viscosity (the initial set is priced with it), in pool-median units."""
        return self.prefactor * np.asarray(viscosity, np.float64) ** self.exponent

    @property
    def shard_files(self) -> list[dict]:
        """``{"file", "sha256"}`` of each candidate's shard, in sample order."""
        return json.loads((self.root / "manifest.json").read_text())["splits"]["train"]["shards"]


def _power_law(viscosity: np.ndarray, cost: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.log(viscosity), np.log(cost), 1)
    return float(slope), float(np.exp(intercept))


def _timed_trajectories(config: ActiveConfig, viscosity: np.ndarray, device: torch.device, repeats: int) -> tuple:
    """CPU seconds (fastest of ``repeats``) and the largest highest-shell enstrophy fraction of one
    trajectory at each viscosity, simulated one at a time on one thread."""
    dataset = parse_config(config.round_data(viscosity, POOL_SEED, "cost probes"), "candidates")
    split = dataset.split("train")
    grid = dataset.grid(device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seconds, shells = [], []
        for j in range(len(viscosity)):
            summary, timings = ShellFractionSummary(), []
            for _ in range(repeats):
                start = time.process_time()
                simulate_batch(dataset, grid, split, [j], sample_parameters(dataset, split, [j]), summary)
                timings.append(time.process_time() - start)
            seconds.append(min(timings))
            shells.append(summary.maximum)
    finally:
        torch.set_num_threads(threads)
    cutoff = dataset.builder.highest_retained_wavenumber(grid.n)
    return np.asarray(seconds), np.asarray(shells), dataset, cutoff


def _check_resolved(config: ActiveConfig, device: torch.device) -> float:
    low = config.candidate_range[0]
    _, shells, dataset, cutoff = _timed_trajectories(config, np.array([low]), device, repeats=1)
    if not shells[0] <= UNDER_RESOLVED_THRESHOLD:
        raise UserError(
            f"candidates.viscosity: the solver cannot resolve ν = {low:.3g} at sim_resolution "
            f"{dataset.sim_resolution}: up to {shells[0]:.2e} of the enstrophy sits in the highest retained shell "
            f"{cutoff - 1} < |k| <= {cutoff} (threshold {UNDER_RESOLVED_THRESHOLD:.0e}); raise the lower bound of "
            f"the candidate range or the data config's sim_resolution (nothing was trained or written)")
    return float(shells[0])


def _cost(config: ActiveConfig, viscosity: np.ndarray, device: torch.device) -> tuple[np.ndarray, dict]:
    model = config.cost
    if model.kind == "per_candidate":
        raw = np.asarray(model.per_candidate, np.float64)
        return raw / np.median(raw), {"kind": "per_candidate"}
    if model.kind == "power_law":
        raw = viscosity ** model.exponent
        return raw / np.median(raw), {"kind": "power_law", "exponent": model.exponent}
    points = np.geomspace(*config.candidate_range, COST_POINTS)
    seconds, _, _, _ = _timed_trajectories(config, points[:1], device, repeats=1)  # pays for FFT plans first
    seconds, shells, _, _ = _timed_trajectories(config, points, device, repeats=2)
    exponent, prefactor = _power_law(points, seconds)
    raw = prefactor * viscosity ** exponent
    return raw / np.median(raw), {"kind": "measured", "viscosity": points.tolist(), "cpu_seconds": seconds.tolist(),
                                  "exponent": exponent, "device": str(device),
                                  "note": "CPU seconds of one trajectory on one thread (fastest of 2), fitted by a "
                                          "power law in ν"}


def _read_trajectories(reader: DatasetReader, variables: tuple[str, ...]) -> np.ndarray:
    import netCDF4

    split = reader.split("train", "candidates")
    blocks = []
    for shard in split.shards:
        with netCDF4.Dataset(shard.path) as nc:
            nc.set_auto_mask(False)
            blocks.append(np.stack([np.asarray(nc[v][:], np.float32) for v in variables], axis=2))
    return np.concatenate(blocks)


def load_pool(config: ActiveConfig, out: Path, device: torch.device, progress: bool = True) -> Pool:
    """Generate (or resume) the pool's dataset and price its candidates (once: ``pool.json``)."""
    root, summary_path = out / "pool", out / "pool.json"
    if not (root / "manifest.json").is_file():
        _check_resolved(config, device)
    generate(parse_config(config.pool_data(POOL_SEED), "candidates"), root, progress=progress, device=device.type,
             shard="0/1")
    reader = DatasetReader(root)
    viscosity = np.asarray(reader.split("train", "candidates").parameters["viscosity"], np.float64)
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    if summary is None or not np.allclose(summary["viscosity"], viscosity, rtol=1e-12):
        cost, model = _cost(config, viscosity, device)
        summary = {"viscosity": viscosity.tolist(), "cost": cost.tolist(), "cost_model": model,
                   "samples": len(viscosity), "seed": POOL_SEED}
        write_atomically(summary_path, lambda temporary: temporary.write_text(json.dumps(summary, indent=2) + "\n"))
    cost = np.asarray(summary["cost"], np.float64)
    exponent, prefactor = _power_law(viscosity, cost) if len(np.unique(viscosity)) > 1 else (0.0, 1.0)
    return Pool(root, viscosity, cost, exponent, prefactor, summary["cost_model"],
                _read_trajectories(reader, config.saved_variables))
