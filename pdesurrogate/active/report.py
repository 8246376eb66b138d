"""What an active-learning run writes once every round is finished: the tables, the budget
comparisons with their paired intervals, calibration before and after, the figures and ``report.md``."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation import calibration as tables
from ..evaluation.ensemble import COVERAGE_LEVELS
from ..evaluation.results import write_results
from ..evaluation.recalibration import ensemble_arrays, recalibration_rows
from ..provenance import commit, machine
from ..run_directory import write_atomically
from .budget import auc_difference, matching_fraction, paired_bootstrap
from .figures import draw_figures

log = logging.getLogger(__name__)

BOOTSTRAP_SEED = 20


def curves(records: pd.DataFrame, strategy: str, split: str, seeds) -> tuple[np.ndarray, np.ndarray]:
    """``(cost, error)``, each ``(seed, round)``: acquired cost and the split's error per round."""
    cost, error = [], []
    for seed in seeds:
        part = records[(records.strategy == strategy) & (records.seed == seed)].sort_values("round")
        cost.append(part["cost_total"].to_numpy(float))
        error.append(part[f"rel_l2_{split}"].to_numpy(float))
    return np.array(cost), np.array(error)


def budget_comparisons(records: pd.DataFrame, config) -> list[dict]:
    """Every learning strategy against every baseline, on every scored split, with paired intervals."""
    out, rng = [], np.random.default_rng(BOOTSTRAP_SEED)
    learners = [s for s, spec in config.strategies.items() if spec is not None]
    baselines = [s for s, spec in config.strategies.items() if spec is None]
    for split in config.scored_splits:
        for strategy in learners:
            for baseline in baselines:
                arrays = (*curves(records, strategy, split, config.seeds), *curves(records, baseline, split, config.seeds))
                out.append({"split": split, "strategy": strategy, "baseline": baseline,
                            "strategy_final_error": float(arrays[1][:, -1].mean()),
                            "baseline_final_error": float(arrays[3][:, -1].mean()),
                            "baseline_final_cost": float(arrays[2][:, -1].mean()),
                            "matching_fraction": paired_bootstrap(matching_fraction, arrays, rng).as_dict(),
                            "auc_difference": paired_bootstrap(auc_difference, arrays, rng).as_dict()})
    return out


def recalibration_table(loop, reader) -> pd.DataFrame:
    """Before and after post-hoc calibration (fitted on the calibration split) for the initial
    ensemble and every strategy's final one, per seed."""
    c = loop.config
    variables = list(c.model.variables)
    finals = [("initial", 0)] + [(s, c.rounds) for s in c.strategies]
    rows = []
    for seed in c.seeds:
        for strategy, round_ in finals:
            members = json.loads((loop.round_dir(strategy, seed, round_) / "done.json").read_text())["members"]
            arrays = {}
            for split in (c.calibration_split, *c.scored_splits):
                paths = [(loop.out / m).parents[1] / "predictions" / f"{split}.nc" for m in members]
                arrays[split] = ensemble_arrays(paths, reader, split, loop.window, variables)
            calibration = arrays.pop(c.calibration_split)
            for row in recalibration_rows(calibration, arrays, variables, COVERAGE_LEVELS, c.viscosity_bins):
                rows.append({"model": f"{strategy}/round-{round_}", "seed": seed, **row})
    return pd.DataFrame(rows)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomically(path, lambda temporary: frame.to_csv(temporary, index=False, float_format="%.6g"))


def rounds_table(records: list[dict], config) -> pd.DataFrame:
    table = pd.DataFrame([{k: v for k, v in r.items() if k not in ("members", "rel_l2")} for r in records])
    for split in config.scored_splits:
        table[f"rel_l2_{split}"] = [r["rel_l2"][split] for r in records]
    for column in ("chosen", "chosen_viscosity", "acquisition_weight"):
        table[column] = table[column].map(lambda values: ";".join("" if v is None else f"{v:.6g}" for v in values))
    return table


def write_outputs(loop, pool, reader) -> Path:
    config, out = loop.config, loop.out
    records = pd.DataFrame(rounds_table(loop.records(), config))
    _write_csv(out / "rounds.csv", records)
    table = loop.all_rows()
    write_results(out / "results.csv", table)
    ensembles = table[table.role == "ensemble"]
    calibration = tables.calibration(ensembles, config.ensemble)
    _write_csv(out / "calibration.csv", calibration)
    _write_csv(out / "calibration_by_viscosity.csv",
               tables.calibration(ensembles, config.ensemble, ("model", "split", "variable", "viscosity")))
    reliability = tables.reliability(ensembles)
    _write_csv(out / "reliability.csv", reliability)
    recalibration = recalibration_table(loop, reader)
    _write_csv(out / "recalibration.csv", recalibration)
    comparisons = budget_comparisons(records, config)
    write_atomically(out / "budget.json", lambda t: t.write_text(json.dumps(comparisons, indent=2) + "\n"))
    train = reader.split("train").parameters["viscosity"]
    target = reader.split(config.target).parameters["viscosity"]
    summary = {"comparisons": comparisons, "cost_model": pool.model, "cost_exponent": pool.exponent,
               "pool": len(pool.viscosity), "total_budget": config.total_budget,
               "pool_cost_range": [float(pool.cost.min()), float(pool.cost.max())],
               "pool_in_target_range": int(np.sum((pool.viscosity >= config.target_range[0])
                                                  & (pool.viscosity <= config.target_range[1])))
               if config.target_range else None,
               "train_viscosity": [float(train.min()), float(train.max())],
               "target_viscosity": [float(target.min()), float(target.max())],
               "members": config.ensemble, "seeds": list(config.seeds), "rounds": config.rounds,
               "schedule": config.schedule, "budget_per_round": config.budget_per_round,
               "strategies": {s: ("baseline" if a is None else a.describe()) for s, a in config.strategies.items()},
               "commit": commit(), "machine": machine()}
    write_atomically(out / "summary.json", lambda t: t.write_text(json.dumps(summary, indent=2) + "\n"))
    figures = draw_figures(out / "figures", records, recalibration, tables.spread_and_error_by_step(ensembles),
                           config, summary)
    report = out / "report.md"
    text = _report(config, records, recalibration, summary, figures)
    write_atomically(report, lambda t: t.write_text(text))
    log.info(f"active: wrote {report}")
    return report


def _number(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}"


def _fraction(interval: dict) -> str:
    def percent(v):
        return "not reached" if v is None else f"{100 * v:.0f} %"
    return f"{percent(interval['estimate'])} [{percent(interval['low'])}, {percent(interval['high'])}]"


def _report(config, records: pd.DataFrame, recalibration: pd.DataFrame, summary: dict,
            figures: list[tuple[str, str]]) -> str:
    id_splits = [s for s in config.scored_splits if s != config.target]
    lines = ["# Active learning of simulations", "",
             f"- Config: `{config.source}`; model `{config.model.name}`, ensembles of {config.ensemble} members, "
             f"paired seeds {', '.join(map(str, config.seeds))}; {config.rounds} rounds ({config.schedule} schedule, "
             f"round 1 budget {config.budget_per_round:g}; total {config.total_budget:g} pool-median trajectories)",
             f"- Commit {summary['commit']}; machine: {summary['machine']}",
             f"- Pool: {summary['pool']} (ν, initial condition) pairs, ν log-uniform in [{config.candidate_range[0]:.3g}, "
             f"{config.candidate_range[1]:.3g}] ({summary['pool'] / config.total_budget:.0f}× the total budget; "
             f"{summary['pool_in_target_range']} in the target range); cost model `{summary['cost_model']['kind']}`, "
             f"∝ ν^{summary['cost_exponent']:.2f}, {summary['pool_cost_range'][0]:.2f}–{summary['pool_cost_range'][1]:.2f} "
             "pool-median trajectories",
             f"- Initial training viscosities: [{summary['train_viscosity'][0]:.3g}, {summary['train_viscosity'][1]:.3g}]; "
             f"target split `{config.target}`: [{summary['target_viscosity'][0]:.3g}, {summary['target_viscosity'][1]:.3g}]",
             "- Strategies: " + "; ".join(f"`{s}`: {d}" for s, d in summary["strategies"].items()),
             "- Error: relative L2 of the ensemble mean (deviation from the training mean), mean over samples then "
             "scored frames. Cost: acquired simulations only (the initial set is common to all strategies).", "",
             "## Budget", "",
             "Cost at which a strategy's mean curve reaches the baseline's mean final error, as a fraction of the "
             "baseline's budget, and the paired difference of normalised AUC (mean error over the common budget; < 0: "
             "ahead along the way); brackets: 95 % paired bootstrap over seeds.", "",
             "| split | strategy | baseline | final error (strategy / baseline) | budget to reach baseline's final error "
             "| AUC difference |", "|---|---|---|---|---|---|"]
    for c in summary["comparisons"]:
        auc = c["auc_difference"]
        lines.append(f"| {c['split']} | {c['strategy']} | {c['baseline']} | {c['strategy_final_error']:.4g} / "
                     f"{c['baseline_final_error']:.4g} | {_fraction(c['matching_fraction'])} | {_number(auc['estimate'])} "
                     f"[{_number(auc['low'])}, {_number(auc['high'])}] |")
    lines += ["", "## Curves (mean ± sd over seeds)", "",
              "| strategy | round | acquired cost | " + " | ".join(f"{s} rel_l2" for s in config.scored_splits)
              + " | score–error Spearman |", "|---|---|---|" + "---|" * len(config.scored_splits) + "---|"]
    for (strategy, round_), group in records.groupby(["strategy", "round"], sort=False):
        cells = []
        for split in config.scored_splits:
            e = group[f"rel_l2_{split}"]
            cells.append(f"{e.mean():.4g} ± {e.std(ddof=1) if len(e) > 1 else float('nan'):.2g}")
        rho = pd.to_numeric(group["score_error_spearman"], errors="coerce")
        spear = "—" if rho.isna().all() else f"{rho.mean():.2f} ± {rho.std(ddof=1) if len(rho) > 1 else float('nan'):.2f}"
        lines.append(f"| {strategy} | {round_} | {group['cost_total'].mean():.3g} | " + " | ".join(cells) + f" | {spear} |")
    lines += ["", "The Spearman column: rank correlation, over the candidates left in the pool, between each one's "
              "score (members' rollout distance from the ensemble mean) and the ensemble mean's actual error on it, "
              "for the ensemble that chose that round.", "",
              "## Calibration before and after (final ensembles, mean over seeds)", "",
              f"Fitted on `{config.calibration_split}` ({config.viscosity_bins} log-ν bin(s)) per variable and rollout "
              "step: `variance_scale` (spread–skill 1 on the calibration split; Student-t intervals of the scaled "
              "members) and `conformal` (split-conformal intervals on |y − μ|/σ). In distribution "
              f"({', '.join(id_splits) or '—'}) split-conformal coverage is guaranteed at the nominal level for "
              "exchangeable samples. "
              f"**Out of distribution (`{config.target}`) no guarantee holds**: its samples are not exchangeable with "
              "the calibration split's, and its coverage is reported as measured.", "",
              "| ensemble | split | method | coverage 50 % | coverage 90 % | CRPS | spread–skill |",
              "|---|---|---|---|---|---|---|"]
    if len(recalibration):
        mean = recalibration.groupby(["model", "split", "variable", "method", "metric"])["value"].mean()
        for model in recalibration.model.unique():
            for split in config.scored_splits:
                for variable in config.model.variables:
                    for method in ("raw", "variance_scale", "conformal"):
                        def get(metric):
                            return mean.get((model, split, variable, method, metric))
                        lines.append(f"| {model} | {split} ({variable}) | {method} | {_number(get('coverage_50'))} | "
                                     f"{_number(get('coverage_90'))} | {_number(get('crps'))} | "
                                     f"{_number(get('spread_skill'))} |")
    lines += ["", "## Files", "",
              "- `rounds.csv`: per strategy, seed and round: chosen pool indices, viscosities and weights, cost, error per "
              "scored split, score–error Spearman",
              "- `budget.json`: the comparisons above with their bootstrap details",
              "- `recalibration.csv`: coverage at every level, CRPS and spread–skill before and after calibration",
              "- `calibration.csv`, `calibration_by_viscosity.csv`, `reliability.csv`: uncalibrated, from `results.csv`",
              "- `loops/<strategy>/seed-<s>/round-<r>/acquisition.json`: every candidate's score, weight, actual error "
              "and cost", "", "## Figures", ""]
    lines += [f"- [{name}]({name}): {caption}" for name, caption in figures]
    return "\n".join(lines) + "\n"

