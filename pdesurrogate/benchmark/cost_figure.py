"""Error against rollout cost, per split: the plain solver on grids from the saved one up, and every model.

The points: the horizon-mean headline metric against the wall time per trajectory of producing the
scored frames. The solver's grids (``baselines/solver_resolutions.csv`` and the ``coarse_solver``
rows, timed in ``baselines/solver_seconds.json``) form a line labelled by grid size; each model is one
point at the median over its seeds of the time its scored rollouts took (``done.json``), with its
mean over seeds and the 95 % interval of the error. Where a model's point lies below the solver's
line it is more accurate than the solver at that cost; the grid at which the line crosses the
model's error is the resolution the plain solver needs to match it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..evaluation.coarse_solver import COARSE_SOLVER
from .intervals import Interval, non_negative
from .results import Results, group_results
from .solvers import SOLVER_RESOLUTIONS
from .speed import solver_seconds_of


def solver_curve(out: Path, results: Results, split: str, variable: str, metric: str
                 ) -> list[tuple[int, float, float]]:
    """``(grid, seconds per trajectory, horizon-mean error)`` of the solver on each grid, coarsest first."""
    timings = (solver_seconds_of(out) or {}).get("runs") or {}
    finer_path = Path(out) / "baselines" / SOLVER_RESOLUTIONS
    finer = group_results(finer_path) if finer_path.is_file() else None
    points = []
    for name, run in timings.items():
        source = results if name == COARSE_SOLVER else finer
        table = source.get(name, split, variable, metric) if source is not None else None
        seconds, count = run.get("seconds", {}).get(split), run.get("trajectories", {}).get(split)
        if table is None or not seconds or not count:
            continue
        points.append((int(run["resolution"]), float(seconds) / count, float(table.per_seed()[0])))
    return sorted(points)


def model_points(results: Results, runs: Mapping[str, dict], split: str, variable: str, metric: str
                 ) -> dict[str, tuple[float, Interval]]:
    """Per trained model: the median seconds per trajectory of its scored rollouts, and its error."""
    seconds: dict[str, list[float]] = {}
    for done in runs.values():
        if not done:
            continue
        elapsed, count = (done.get("rollout_seconds") or {}).get(split), (done.get("samples") or {}).get(split)
        if elapsed and count:
            seconds.setdefault(done["model"], []).append(float(elapsed) / count)
    points = {}
    for model in results.trained:
        table = results.get(model, split, variable, metric)
        if table is not None and model in seconds:
            points[model] = (float(np.median(seconds[model])), Interval.of(table.per_seed(), non_negative(metric)))
    return points


def draw_error_vs_cost(out: Path, results: Results, split: str, meta: Mapping, colours: Mapping[str, str],
                       metric: str) -> Figure | None:
    """The figure for ``split`` (one panel per variable), or ``None`` when there is nothing to draw."""
    runs = meta.get("runs") or {}
    variables = [v for v in results.variables_with(metric, [split])
                 if solver_curve(out, results, split, v, metric) or model_points(results, runs, split, v, metric)]
    if not variables:
        return None
    figure = Figure(figsize=(max(7.0, 5.6 * len(variables)), 4.6), layout="constrained")
    for axis, variable in zip(figure.subplots(1, len(variables), squeeze=False)[0], variables):
        curve = solver_curve(out, results, split, variable, metric)
        if curve:
            grids, cost, error = zip(*curve)
            axis.plot(cost, error, color=colours.get(COARSE_SOLVER, "black"), marker="s", linestyle="-",
                      label="dataset's solver on n² (saved frame zero-padded)")
            for n, x, y in curve:
                axis.annotate(f"{n}²", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        for model, (x, interval) in model_points(results, runs, split, variable, metric).items():
            low, high = interval.low, interval.high
            error_bar = None
            if np.isfinite(low) and np.isfinite(high):
                error_bar = [[interval.mean - low], [high - interval.mean]]
            axis.errorbar([x], [interval.mean], yerr=error_bar, color=colours.get(model), marker="o", capsize=3,
                          linestyle="none", label=model)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())  # the minor labels of a short decade overlap
        axis.margins(x=0.12)  # room for the grid labels
        axis.set_xlabel("rollout wall time per trajectory [s]")
        axis.set_ylabel(f"horizon-mean {metric}")
        axis.set_title(f"{variable}, split {split}")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    return figure
