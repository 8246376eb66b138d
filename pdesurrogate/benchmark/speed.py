"""The surrogate's time for the scored rollouts next to the solver's time for the same trajectories.

Both on the same device in the same run, each after one untimed warm-up (lazy initialisation, FFT
plans, kernel selection). The surrogate is timed over its scored rollouts of one split: ``horizon``
frames from the true context, as scored. The solver advances the same samples over the same
``horizon`` saved intervals at the resolution the data was simulated at (``sim_resolution``, the
dataset's scheme, dtype and CFL), from their initial conditions: the cost of a solver trajectory per
unit of simulated time does not depend on where in the trajectory it starts.
"""

from __future__ import annotations

import dataclasses
import os
import time

import torch

from data_gen.dataset import load_config
from data_gen.dataset.plan import sample_parameters
from data_gen.dataset.resolution import ShellFractionSummary
from data_gen.dataset.simulate import simulate_batch

from ..evaluation.evaluate import evaluate_split, synchronise
from ..training.checkpoint import load_surrogate
from ..training.device import evaluation_device


def timed_split(bench) -> str:
    """The split timed: the first out-of-distribution one (the hardest), else the first scored."""
    return next((s for s in bench.config.splits if s.startswith("test_ood")), bench.config.splits[0])


def _timed(device: torch.device, work) -> float:
    synchronise(device)
    start = time.perf_counter()
    work()
    synchronise(device)
    return time.perf_counter() - start


def measure_speed(bench, reader) -> dict:
    """Seconds per model (its first finished seed) and for the solver, and the solver/surrogate ratio."""
    split_name = timed_split(bench)
    device = evaluation_device()
    surrogate = {}
    for model in bench.config.models:
        done = next(filter(None, (bench.finished(model, s) for s in bench.config.seeds)), None)
        if done is None:
            continue
        module = load_surrogate(bench.out / done["checkpoint"]).to(device)
        score = lambda: evaluate_split(module, reader, split_name, bench.window, model.name, baselines=False)  # noqa: E731
        score()  # warm-up
        surrogate[model.name] = score().rollout_seconds

    data = load_config(bench.config.data_config)
    data = dataclasses.replace(data, time=dataclasses.replace(
        data.time, t_end=bench.config.horizon * data.time.save_interval, spinup=0.0))
    split = data.split(split_name)
    grid = data.grid(device)
    batches = [list(range(first, min(first + data.batch_size, split.samples)))
               for first in range(0, split.samples, data.batch_size)]

    def simulate(selected):
        for batch in selected:
            simulate_batch(data, grid, split, batch, sample_parameters(data, split, batch), ShellFractionSummary())

    simulate([batches[0][:1]])  # warm-up
    solver_seconds = _timed(device, lambda: simulate(batches))
    return {"device": str(device), "split": split_name, "trajectories": split.samples, "frames": bench.config.horizon,
            "sim_resolution": data.sim_resolution, "saved_resolution": data.saved_resolution,
            "solver_seconds": solver_seconds, "surrogate": surrogate,
            "speedup": {name: solver_seconds / seconds for name, seconds in surrogate.items() if seconds > 0}}
