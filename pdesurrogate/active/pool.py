"""The candidate pool: what simulating each candidate viscosity costs, measured, and the probe
trajectories on which the ensemble's disagreement is measured.

Every candidate is simulated for ``probes`` full trajectories with the generator's own code
(:func:`data_gen.dataset.simulate.simulate_batch`), smallest viscosity first. That one pass

- runs the generator's resolution check (the enstrophy in the highest retained shell) on the
  hardest candidate before anything else is simulated or trained: a candidate range the grid cannot
  resolve fails with one line naming ``candidates.viscosity``;
- measures the cost: the CPU seconds of one trajectory at each candidate, simulated one at a time
  on one thread (two OpenMP threads on a busy machine bill their spin-waiting as work), the fastest
  of its probes (the timing least disturbed by other processes). Single timings stay noisy, so the
  cost used for acquisition is a power law ``c(ν) = a ν^b`` fitted to them in log–log, reported
  beside the raw values; costs are in units of the pool's median (``budget_per_round`` counts those);
- gives the context frames from which each member is rolled out to measure its disagreement.

The probe trajectories are never trained on: they are the price of choosing, reported apart.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from data_gen.dataset import parse_config
from data_gen.dataset.plan import sample_parameters
from data_gen.dataset.resolution import UNDER_RESOLVED_THRESHOLD, ShellFractionSummary
from data_gen.dataset.simulate import simulate_batch

from ..errors import UserError
from ..run_directory import write_atomically
from .config import ActiveConfig

POOL_SEED = 7_919  # the probes' initial conditions: a seed no split of the shipped configs uses


@dataclass(frozen=True)
class Pool:
    viscosity: np.ndarray  # (pool,), ascending
    cpu_seconds: np.ndarray  # (pool,) measured solver CPU seconds per trajectory (one thread, fastest probe)
    cost: np.ndarray  # (pool,) fitted cost in units of the pool's median
    exponent: float  # b of the fitted c ∝ ν^b
    shell_fraction: np.ndarray  # (pool,) largest highest-shell enstrophy fraction of each candidate
    probes: np.ndarray  # (pool, probes, time, variable, y, x) float32, saved resolution

    def relative_cost(self, viscosity) -> np.ndarray:
        """The fitted cost at any viscosity, in units of the pool's median (the initial set is priced
        with it too)."""
        return self.cost[0] * (np.asarray(viscosity, dtype=np.float64) / self.viscosity[0]) ** self.exponent


def _fit(viscosity: np.ndarray, cpu_seconds: np.ndarray) -> tuple[np.ndarray, float]:
    slope, intercept = np.polyfit(np.log(viscosity), np.log(cpu_seconds), 1)
    fitted = np.exp(intercept + slope * np.log(viscosity))
    return fitted / np.median(fitted), float(slope)


def probe_pool(config: ActiveConfig, out: Path, device: torch.device, progress: bool = True) -> Pool:
    """Simulate (or reload from ``out/pool.json`` and ``out/pool.npz``) every candidate's probes."""
    summary_path, fields_path = out / "pool.json", out / "pool.npz"
    viscosity = config.candidates
    if summary_path.is_file() and fields_path.is_file():
        summary = json.loads(summary_path.read_text())
        if np.allclose(summary["viscosity"], viscosity, rtol=1e-12) and summary["probes"] == config.probes:
            with np.load(fields_path, allow_pickle=False) as stored:
                probes = stored["probes"]
            cpu = np.asarray(summary["cpu_seconds"])
            cost, exponent = _fit(viscosity, cpu)
            return Pool(viscosity, cpu, cost, exponent, np.asarray(summary["shell_fraction"]), probes)
    dataset = parse_config(config.round_data(viscosity, POOL_SEED, "candidate probes", per_viscosity=config.probes),
                           "candidates")
    split = dataset.split("train")
    grid = dataset.grid(device)
    cutoff = dataset.builder.highest_retained_wavenumber(grid.n)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: no OpenMP spin-waiting, which on a busy machine is billed as work
    try:
        # One untimed run first: the first simulation of a process pays for FFT plans and allocations.
        warm = [len(viscosity) * config.probes - 1]
        simulate_batch(dataset, grid, split, warm, sample_parameters(dataset, split, warm), ShellFractionSummary())
        seconds, shells, probes = [], [], []
        for j in tqdm(range(len(viscosity)), desc="probe candidates", unit="ν", disable=not progress,
                      dynamic_ncols=True):
            summary, timings, blocks = ShellFractionSummary(), [], []
            for index in range(j * config.probes, (j + 1) * config.probes):
                start = time.process_time()
                blocks.append(simulate_batch(dataset, grid, split, [index],
                                             sample_parameters(dataset, split, [index]), summary))
                timings.append(time.process_time() - start)
            if not summary.resolved:
                raise UserError(
                    f"candidates.viscosity: the solver cannot resolve ν = {viscosity[j]:.3g} at sim_resolution "
                    f"{dataset.sim_resolution}: up to {summary.maximum:.2e} of the enstrophy sits in the highest "
                    f"retained shell {cutoff - 1} < |k| <= {cutoff} (threshold {UNDER_RESOLVED_THRESHOLD:.0e}); raise "
                    f"the lower bound of the candidate range or the data config's sim_resolution (nothing was trained "
                    f"or written)")
            # The fastest probe: the timing least disturbed by other processes.
            seconds.append(min(timings))
            shells.append(summary.maximum)
            probes.append(np.concatenate(blocks))
    finally:
        torch.set_num_threads(threads)
    cpu = np.asarray(seconds)
    probes = np.stack(probes)
    cost, exponent = _fit(viscosity, cpu)
    write_atomically(fields_path, lambda temporary: np.savez(temporary.open("wb"), probes=probes))
    summary = {"viscosity": viscosity.tolist(), "probes": config.probes, "cpu_seconds": cpu.tolist(),
               "fitted_relative_cost": cost.tolist(), "cost_exponent": exponent, "shell_fraction": shells,
               "device": str(device), "note": "cost: CPU seconds of one trajectory on one thread (fastest probe), fitted by a power law in ν"}
    write_atomically(summary_path, lambda temporary: temporary.write_text(json.dumps(summary, indent=2) + "\n"))
    return Pool(viscosity, cpu, cost, exponent, np.asarray(shells), probes)
