"""``OUT/report.md`` of the quickstart: every figure and table linked, and a reading of the numbers.

Each sentence of the reading is computed from the files the stages wrote (the benchmark's
``results.csv`` and ``speed.json``, the design's ``design.json``), never written in advance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..benchmark.results import group_results
from ..benchmark.runner import Benchmark
from ..benchmark.summary import ood_ratio
from ..design.table import route_table
from ..run_directory import write_atomically
from ..provenance import commit, machine
from .results import ID_SPLIT, best_model, conditioned_on_viscosity, describe_model, horizon_mean

OOD_SPLITS = {"test_ood": "below the training range", "test_ood_high": "above the training range"}


def _interval(interval) -> str:
    if interval is None or not math.isfinite(interval.mean):
        return "–"
    if not math.isfinite(interval.half_width):
        return f"{interval.mean:.3g}"
    if not interval.symmetric:  # an error's interval, taken on the log scale (see benchmark.intervals)
        return f"{interval.mean:.3g} [{interval.low:.2g}, {interval.high:.2g}]"
    return f"{interval.mean:.3g} ± {interval.half_width:.2g}"


def benchmark_reading(bench: Benchmark) -> list[str]:
    results = group_results(bench.out / "results.csv")
    lines = []
    for model in results.trained:
        name = describe_model(model)
        parts = []
        for split, where in OOD_SPLITS.items():
            ratio = ood_ratio(results, model, "vorticity", "rel_l2", ID_SPLIT, split)
            if ratio is not None and math.isfinite(ratio.mean):
                parts.append(f"{ratio.mean:.1f}× {where}")
        inside = horizon_mean(results, model, ID_SPLIT)
        lines.append(f"- The {name}'s error (relative L2, {_interval(inside)} in distribution) grows out of "
                     "distribution: " + ("; ".join(parts) if parts else "by a factor not measured") + ".")
    for split, where in OOD_SPLITS.items():
        means = {m: horizon_mean(results, m, split) for m in results.trained}
        means = {m: v for m, v in means.items() if v is not None and math.isfinite(v.mean)}
        if not means:
            continue
        best = min(means, key=lambda m: means[m].mean)
        persistence = horizon_mean(results, "persistence", split)
        beaten = [describe_model(m) for m in means if persistence is not None and means[m].mean < persistence.mean]
        lines.append(f"- {where.capitalize()} ({split}), the {describe_model(best)} does best "
                     f"({_interval(means[best])}); "
                     + (f"{len(beaten)} of {len(means)} models beat persistence ({persistence.mean:.3g})"
                        if persistence is not None else "persistence was not scored") + ".")
    speed_path = bench.out / "speed.json"
    if speed_path.is_file():
        speed = json.loads(speed_path.read_text())
        fastest = max(speed["speedup"], key=speed["speedup"].get)
        lines.append(f"- The surrogates roll out the {speed['trajectories']} `{speed['split']}` trajectories "
                     f"{min(speed['speedup'].values()):.0f}–{max(speed['speedup'].values()):.0f}× faster than the "
                     f"solver at {speed['sim_resolution']}² on {speed['device']} (fastest: the "
                     f"{describe_model(fastest)}).")
    return lines


def design_reading(summary: dict) -> list[str]:
    truth = summary["instance"]["viscosity"]
    lines = [f"  - The unseen trajectory was simulated at ν = {truth:.3g} (inside the training range "
             f"{summary['instance']['training_viscosity'][0]:.3g}–{summary['instance']['training_viscosity'][1]:.3g}, "
             "but no training sample's)."]
    for name, route in summary["routes"].items():
        error = route["design_error"]
        lines.append(f"  - `{name}` recovered ν = {route['design']['viscosity']:.4g} "
                     f"({100 * error:.2g} % off) in {route['seconds']:.1f} s with {route['surrogate_calls']} surrogate "
                     f"and {route['solver_calls']} solver calls; the surrogate promised an objective of "
                     f"{route['objective']['surrogate']:.3g}, the solver delivers {route['objective']['solver']:.3g}"
                     + ("" if route["in_distribution"] else " (outside the training distribution)") + ".")
    return lines


def write_report(out: Path, bench: Benchmark, seconds: dict[str, float], fast: bool) -> Path:
    design = json.loads((out / "design" / "design.json").read_text())
    design_model = best_model(bench.out / "results.csv", conditioned_on_viscosity(bench))
    figures = sorted((bench.out / "figures").glob("*.png"))
    lines = [
        "# pdesurrogate quickstart" + (" (--fast: tiny models and data, the numbers mean little)" if fast else ""),
        "",
        f"Commit {commit()}, {machine()}. Stage times: "
        + ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items()) + ".",
        "",
        "## What the numbers say",
        "",
        *benchmark_reading(bench),
        f"- The viscosity-conditioned model with the lowest in-distribution error, the {describe_model(design_model)}, "
        "inferred a viscosity:",
        *design_reading(design),
        "",
        "## The solver",
        "",
        "![viscosity sweep](sweep/navier_stokes_sweep.png)",
        "",
        "## The out-of-distribution benchmark",
        "",
        "Full report with every table: [benchmark/report.md](benchmark/report.md); "
        "long-form results: [benchmark/results.csv](benchmark/results.csv), "
        "summary: [benchmark/summary.csv](benchmark/summary.csv), speed: [benchmark/speed.json](benchmark/speed.json).",
        "",
        *[f"![{p.stem}](benchmark/figures/{p.name})" for p in figures],
        "",
        "## Viscosity inference through the surrogate, checked by the solver",
        "",
        "Config [design/design.yaml](design/design.yaml), results [design/design.json](design/design.json).",
        "",
        route_table(design),
        "",
        "![objective per route](design/objective.png)",
        "",
        "![fields](design/fields.png)",
        "",
    ]
    path = out / "report.md"
    write_atomically(path, lambda temporary: temporary.write_text("\n".join(lines)))
    return path
