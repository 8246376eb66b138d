"""The benchmark's ensemble section: the seeds of each model as one deep ensemble.

Each seed's run already rolled its member out on its own predictions and wrote
``runs/<model>/seed-<s>/predictions/<split>.nc``; the ensemble's rows are computed from those files
(see :mod:`pdesurrogate.evaluation.ensemble`) and go into ``results.csv`` under the model
``<model>/ensemble`` with seed ``ensemble``. The per-seed tables of the report leave those rows out;
this section summarises them (:mod:`pdesurrogate.evaluation.calibration`): coverage of the central 50 %
and 90 % intervals, CRPS, NLL, spread–skill and the spread–error rank correlation per split and per
viscosity, a reliability diagram per split, and spread against error over the rollout steps.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..evaluation import calibration as tables
from ..evaluation.ensemble import ensemble_rows
from ..evaluation.ensemble_figures import reliability_diagram, spread_against_error
from ..evaluation.results import read_results
from ..run_directory import write_atomically
from .results import ENSEMBLE_SUFFIX


def benchmark_ensemble_rows(bench, reader) -> list[tuple]:
    """Rows of every model with at least two finished seeds, on every scored split."""
    rows = []
    for model in bench.config.models:
        seeds = [s for s in bench.config.seeds if bench.finished(model, s) is not None]
        if len(seeds) < 2:
            continue
        for split in bench.config.splits:
            paths = [bench.run_dir(model, s) / "predictions" / f"{split}.nc" for s in seeds]
            rows += ensemble_rows(paths, reader, split, bench.window, list(model.variables),
                                  f"{model.name}{ENSEMBLE_SUFFIX}")
    return rows


def _cell(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.3g}"


def ensemble_section(out: Path, members: dict[str, int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Report lines and ``(figure path relative to out, caption)`` of the ensembles in ``out/results.csv``;
    ``members``: the number of members of each ensemble model. Writes ``out/ensemble_summary.csv``."""
    table = read_results(out / "results.csv")
    table = table[table.role == "ensemble"]
    if table.empty:
        return [], []
    summaries, by_viscosity = [], []
    for model, part in table.groupby("model"):
        count = members[model.removesuffix(ENSEMBLE_SUFFIX)]
        summaries.append(tables.calibration(part, count, ("model", "split", "variable")).assign(members=count))
        by_viscosity.append(tables.calibration(part, count, ("model", "split", "variable", "viscosity")))
    summary = pd.concat(summaries)
    write_atomically(out / "ensemble_summary.csv", lambda t: summary.to_csv(t, index=False, float_format="%.6g"))
    viscosity = pd.concat(by_viscosity)
    write_atomically(out / "ensemble_by_viscosity.csv", lambda t: viscosity.to_csv(t, index=False, float_format="%.6g"))
    models = sorted(table.model.unique())
    reliability_diagram(tables.reliability(table), models, out / "figures" / "ensemble_reliability.png")
    spread_against_error(tables.spread_and_error_by_step(table), models, out / "figures" / "ensemble_spread_vs_error.png")
    lines = ["## Ensembles", "",
             "Each model's seeds as one deep ensemble (members rolled out on their own predictions). Coverage of the "
             "central 50 % and 90 % Student-t prediction intervals (nominal: 0.5 and 0.9), fair CRPS [field units], "
             "Gaussian NLL, spread–skill ratio (1: calibrated, below 1: overconfident) and Spearman's rank correlation "
             "between each sample's spread and its ensemble-mean RMSE. Means over samples, then scored frames; "
             "per viscosity in `ensemble_by_viscosity.csv`.", "",
             "| ensemble | members | split | variable | rel_l2 of mean | coverage 50 % | coverage 90 % | CRPS | NLL | "
             "spread–skill | rank corr. |", "|---" * 11 + "|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r['model']} | {r['members']} | {r['split']} | {r['variable']} | {_cell(r['rel_l2'])} | "
                     f"{_cell(r['coverage_50'])} | {_cell(r['coverage_90'])} | {_cell(r['crps'])} | {_cell(r['nll'])} | "
                     f"{_cell(r['spread_skill'])} | {_cell(r['rank_correlation'])} |")
    figures = [("figures/ensemble_reliability.png", "ensembles: reliability diagram (nominal against observed coverage) "
                "per split, in and out of distribution"),
               ("figures/ensemble_spread_vs_error.png", "ensembles: spread (dashed) against ensemble-mean RMSE over "
                "rollout steps")]
    lines += [""] + [f"- [{path}]({path}): {caption}" for path, caption in figures] + [""]
    return lines, figures
