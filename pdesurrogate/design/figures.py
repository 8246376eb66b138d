"""The design figures: objective per route against iteration and wall time, and the fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..run_directory import write_atomically
from .tasks import Problem

ROUTE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")


def _save(figure: Figure, path: Path) -> None:
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png", dpi=110))


def objective_figure(results: dict) -> Figure:
    """Per route: the best objective so far as the route saw it (solid: through the surrogate;
    dashed: through the solver) and, as markers, the solver's objective at designs along the way."""
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    axes = figure.subplots(1, 2)
    positive = all(min([t["objective"] for t in r["trace"]] + [p["objective"] for p in r["resimulated"]] or [1]) > 0
                   for r in results.values())
    for (name, result), colour in zip(results.items(), ROUTE_COLOURS * 4):
        trace = result["trace"]
        for axis, key in zip(axes, ("iteration", "seconds")):
            for through, style in (("surrogate", "-"), ("solver", "--")):
                points = [(t[key], t["objective"]) for t in trace if t["through"] == through]
                if points:
                    x, y = zip(*points)
                    axis.plot(x, y, style, color=colour, label=f"{name} ({through})")
            resim = [(p[key], p["objective"]) for p in result["resimulated"]]
            if resim:
                x, y = zip(*resim)
                axis.plot(x, y, "o", color=colour, markerfacecolor="none", label=f"{name}: re-simulated")
    for axis, label in zip(axes, ("iteration", "wall time [s]")):
        axis.set_xlabel(label)
        axis.set_ylabel("objective")
        if positive:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    axes[1].set_xscale("symlog", linthresh=1.0)  # routes span seconds to many minutes
    axes[1].set_xlim(left=0)
    axes[0].legend(fontsize=7, loc="best")
    figure.suptitle("objective per route (lines: what the route optimised; circles: the solver at its designs)")
    return figure


def fields_figure(problem: Problem, results: dict) -> Figure:
    """The target (or truth) beside each route's designed or re-simulated field, on one colour scale."""
    panels = [(problem.target_label, problem.target_field)]
    for name, result in results.items():
        predicted = result["predicted"].get("solver")
        if predicted is None or problem.showcase is None:
            continue
        panels.append((f"{name}\n{problem.result_label}", problem.showcase(result["value"], predicted)))
    arrays = [np.asarray(field.detach().cpu(), dtype=np.float64) for _, field in panels]
    limit = max(float(np.abs(a).max()) for a in arrays) or 1.0
    figure = Figure(figsize=(2.8 * len(panels), 3.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for axis, (label, _), array in zip(axes, panels, arrays):
        image = axis.imshow(array, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(label, fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(image, ax=list(axes), shrink=0.8)
    return figure


def write_figures(out: Path, problem: Problem, results: dict) -> list[Path]:
    paths = [out / "objective.png", out / "fields.png"]
    _save(objective_figure(results), paths[0])
    _save(fields_figure(problem, results), paths[1])
    return paths
