"""What an active-learning run writes once every round is finished: the tables, the budget at which
active learning matches random sampling, the figures and ``report.md``."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pandas as pd

from ..evaluation.results import write_results
from ..run_directory import write_atomically
from ..provenance import commit, machine
from ..evaluation import calibration as tables
from .figures import draw_figures

log = logging.getLogger(__name__)

STRATEGIES = ("active", "random")


def matching_budget(records: pd.DataFrame) -> dict:
    """The simulation cost at which active learning's mean target error (over seeds) first reaches the
    error random sampling ends with, interpolated linearly in cost between rounds.

    Both curves are the mean over seeds, per round, of the target error against the mean cost spent
    so far (the initial set included)."""
    curves = {s: records[records.strategy == s].groupby("round")[["cost_total", "target_rel_l2"]].mean()
              for s in STRATEGIES}
    random_final = float(curves["random"]["target_rel_l2"].iloc[-1])
    random_budget = float(curves["random"]["cost_total"].iloc[-1])
    active = curves["active"]
    result = {"random_final_error": random_final, "random_budget": random_budget,
              "active_final_error": float(active["target_rel_l2"].iloc[-1]),
              "active_budget": float(active["cost_total"].iloc[-1]), "active_matching_budget": None,
              "fraction_of_random_budget": None}
    costs, errors = active["cost_total"].to_numpy(), active["target_rel_l2"].to_numpy()
    for i, (cost, error) in enumerate(zip(costs, errors)):
        if error <= random_final:
            if i == 0:
                budget = float(cost)
            else:  # linear interpolation between the round above the level and the one at or below it
                fraction = (errors[i - 1] - random_final) / (errors[i - 1] - error)
                budget = float(costs[i - 1] + fraction * (cost - costs[i - 1]))
            result["active_matching_budget"] = budget
            result["fraction_of_random_budget"] = budget / random_budget
            break
    return result


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomically(path, lambda temporary: frame.to_csv(temporary, index=False, float_format="%.6g"))


def write_outputs(loop, pool, reader) -> Path:
    config, out = loop.config, loop.out
    records = pd.DataFrame(loop.records())
    rounds = records.drop(columns=["members"]).copy()
    for column in ("chosen_viscosity", "acquisition_score"):
        rounds[column] = rounds[column].map(lambda values: ";".join("" if v is None else f"{v:.6g}" for v in values))
    _write_csv(out / "rounds.csv", rounds)
    table = loop.all_rows()
    write_results(out / "results.csv", table)
    ensembles = table[table.role == "ensemble"]
    calibration = tables.calibration(ensembles, config.ensemble)
    _write_csv(out / "calibration.csv", calibration)
    by_viscosity = tables.calibration(ensembles, config.ensemble, ("model", "split", "variable", "viscosity"))
    _write_csv(out / "calibration_by_viscosity.csv", by_viscosity)
    reliability = tables.reliability(ensembles)
    _write_csv(out / "reliability.csv", reliability)
    budget = matching_budget(records)
    train = reader.split("train").parameters["viscosity"]
    target = reader.split(config.target).parameters["viscosity"]
    summary = {"matching": budget, "cost_exponent": pool.exponent,
               "pool_cpu_seconds": [float(pool.cpu_seconds.min()), float(pool.cpu_seconds.max())],
               "probe_cpu_seconds_total": float(pool.cpu_seconds.sum() * config.probes),
               "train_viscosity": [float(train.min()), float(train.max())],
               "target_viscosity": [float(target.min()), float(target.max())],
               "members": config.ensemble, "seeds": list(config.seeds), "rounds": config.rounds,
               "budget_per_round": config.budget_per_round, "commit": commit(), "machine": machine()}
    write_atomically(out / "summary.json", lambda t: t.write_text(json.dumps(summary, indent=2) + "\n"))
    figures = draw_figures(out / "figures", records, reliability, tables.spread_and_error_by_step(ensembles),
                           config, summary)
    report = out / "report.md"
    text = _report(config, records, calibration, summary, figures)
    write_atomically(report, lambda t: t.write_text(text))
    log.info(f"active: wrote {report}")
    return report


def _number(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.3g}"


def _report(config, records: pd.DataFrame, calibration: pd.DataFrame, summary: dict, figures: list[tuple[str, str]]) -> str:
    m = summary["matching"]
    lines = ["# Active learning of viscosities", "",
             f"- Config: `{config.source}`; model `{config.model.name}`, ensembles of {config.ensemble} members, "
             f"seeds {', '.join(map(str, config.seeds))}; {config.rounds} rounds of budget {config.budget_per_round:g}",
             f"- Commit {summary['commit']}; machine: {summary['machine']}",
             f"- Initial training viscosities: [{summary['train_viscosity'][0]:.3g}, {summary['train_viscosity'][1]:.3g}]; "
             f"target split `{config.target}`: [{summary['target_viscosity'][0]:.3g}, {summary['target_viscosity'][1]:.3g}]; "
             f"candidates: [{config.candidate_range[0]:.3g}, {config.candidate_range[1]:.3g}] ({config.pool} log-spaced)",
             f"- Cost: solver CPU seconds per trajectory, measured per candidate ({summary['pool_cpu_seconds'][0]:.3g}–"
             f"{summary['pool_cpu_seconds'][1]:.3g} s), fitted as ∝ ν^{summary['cost_exponent']:.2f}; unit: the pool's "
             f"median trajectory; the cost axis includes the initial set. Probing the pool cost "
             f"{summary['probe_cpu_seconds_total']:.3g} CPU s, apart from the budget.",
             f"- Target error: relative L2 of the ensemble mean on `{config.target}` (deviation from the training "
             "mean), mean over samples then scored frames; curves: mean over seeds.", "",
             "## Budget", ""]
    if m["active_matching_budget"] is None:
        lines.append(f"Active learning does **not** reach random sampling's final error ({m['random_final_error']:.4g} "
                     f"at cost {m['random_budget']:.3g}) within its budget; it ends at {m['active_final_error']:.4g} "
                     f"(cost {m['active_budget']:.3g}).")
    else:
        lines.append(f"Active learning reaches random sampling's final error ({m['random_final_error']:.4g} at cost "
                     f"{m['random_budget']:.3g}) at cost {m['active_matching_budget']:.3g}, "
                     f"{100 * m['fraction_of_random_budget']:.0f} % of random's budget; it ends at "
                     f"{m['active_final_error']:.4g} (cost {m['active_budget']:.3g}).")
    lines += ["", "| strategy | round | cost (mean) | target rel_l2 (mean ± sd over seeds) |", "|---|---|---|---|"]
    grouped = records.groupby(["strategy", "round"])
    for (strategy, round_), group in grouped:
        error = group["target_rel_l2"]
        lines.append(f"| {strategy} | {round_} | {group['cost_total'].mean():.3g} | {error.mean():.4g} ± "
                     f"{error.std(ddof=1) if len(error) > 1 else float('nan'):.2g} |")
    lines += ["", "## Calibration of the final ensembles (mean over seeds)", "",
              "Coverage of the central 50 % and 90 % prediction intervals (Student-t intervals from the members' "
              "mean and spread), fair CRPS, Gaussian NLL, spread–skill ratio (1: calibrated; below: overconfident), "
              "and Spearman's rank correlation of per-sample spread and error.", "",
              "| ensemble | split | rel_l2 | coverage 50 % | coverage 90 % | CRPS | NLL | spread–skill | rank corr. |",
              "|---|---|---|---|---|---|---|---|---|"]
    finals = {"initial": "initial/round-0", **{s: f"{s}/round-{config.rounds}" for s in STRATEGIES}}
    for label, model in finals.items():
        part = calibration[calibration.model == model]
        for (split, variable), group in part.groupby(["split", "variable"]):
            mean = group.mean(numeric_only=True)
            lines.append(f"| {model} | {split} ({variable}) | {_number(mean['rel_l2'])} | {_number(mean['coverage_50'])} | "
                         f"{_number(mean['coverage_90'])} | {_number(mean['crps'])} | {_number(mean['nll'])} | "
                         f"{_number(mean['spread_skill'])} | {_number(mean['rank_correlation'])} |")
    lines += ["", "## Files", "",
              "- `rounds.csv`: per strategy, seed and round: chosen viscosities, acquisition scores, cost, target error",
              "- `calibration.csv`, `calibration_by_viscosity.csv`, `reliability.csv`: from `results.csv` (long form)",
              "- `loops/<strategy>/seed-<s>/round-<r>/data/`: each round's simulations, a dataset whose manifest records "
              "the round and acquisition scores", "", "## Figures", ""]
    lines += [f"- [{name}]({name}): {caption}" for name, caption in figures]
    return "\n".join(lines) + "\n"
