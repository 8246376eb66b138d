"""The figures of an active-learning run: target error against simulation budget, the viscosities
each strategy chose, the reliability diagram and spread against error over the rollout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..evaluation.ensemble_figures import save_figure, spread_against_error


def _colours(strategies) -> dict[str, str]:
    return {s: f"C{i}" for i, s in enumerate(strategies)}


def error_against_budget(records: pd.DataFrame, config, path: Path) -> None:
    """Per scored split: error against acquired cost, mean and range over the paired seeds."""
    splits = list(config.scored_splits)
    figure = Figure(figsize=(4.2 * len(splits), 4.0), layout="constrained")
    axes = figure.subplots(1, len(splits), squeeze=False)[0]
    for axis, split in zip(axes, splits):
        for strategy, colour in _colours(config.strategies).items():
            part = records[records.strategy == strategy]
            column = f"rel_l2_{split}"
            curve = part.groupby("round").agg(cost=("cost_total", "mean"), mean=(column, "mean"),
                                              low=(column, "min"), high=(column, "max"))
            axis.plot(curve["cost"], curve["mean"], marker="o", color=colour, label=strategy)
            axis.fill_between(curve["cost"], curve["low"], curve["high"], color=colour, alpha=0.15, linewidth=0)
        axis.set_title(f"{split}{' (target)' if split == config.target else ''}")
        axis.set_xlabel("acquired simulation cost [pool-median trajectories]")
        axis.set_ylabel("relative L2 error of the ensemble mean")
    axes[0].legend(fontsize=8, title=f"mean; band: range over {records.seed.nunique()} seeds", title_fontsize=7)
    save_figure(figure, path)


def chosen_viscosities(records: pd.DataFrame, config, summary: dict, path: Path) -> None:
    figure = Figure(figsize=(6.5, 4.0), layout="constrained")
    axis = figure.subplots()
    low, high = config.candidate_range
    bins = np.geomspace(low, high, 25)
    for strategy, colour in _colours(config.strategies).items():
        chosen = [float(v) for values in records[records.strategy == strategy]["chosen_viscosity"]
                  for v in str(values).split(";") if v not in ("", "nan")]
        axis.hist(chosen, bins=bins, color=colour, histtype="step", linewidth=1.5,
                  label=f"{strategy} ({len(chosen)} trajectories)")
    axis.axvspan(*summary["train_viscosity"], color="0.6", alpha=0.25, label="initial training range")
    axis.axvspan(*summary["target_viscosity"], color="C2", alpha=0.15, label=f"target split {config.target}")
    axis.set_xscale("log")
    axis.set_xlabel("viscosity ν")
    axis.set_ylabel("trajectories chosen (all seeds and rounds)")
    axis.legend(fontsize=7)
    save_figure(figure, path)


def recalibration_diagram(recalibration: pd.DataFrame, model: str, path: Path) -> None:
    """Nominal against observed coverage, before and after calibration, one panel per split."""
    part = recalibration[(recalibration.model == model) & recalibration.metric.str.startswith("coverage_")]
    splits = sorted(part.split.unique())
    figure = Figure(figsize=(max(6.5, 3.6 * len(splits)), 3.7), layout="constrained")
    axes = figure.subplots(1, len(splits), squeeze=False)[0]
    for axis, split in zip(axes, splits):
        axis.plot([0, 1], [0, 1], color="0.5", linestyle="--", label="calibrated")
        for i, (method, rows) in enumerate(part[part.split == split].groupby("method")):
            mean = rows.groupby("metric")["value"].mean()
            nominal = [int(m.split("_")[1]) / 100 for m in mean.index]
            axis.plot(nominal, mean.to_numpy(), marker="o", color=f"C{i}", label=method)
        axis.set_title(f"{split} ({model})", fontsize=9)
        axis.set_xlabel("nominal coverage of the central interval")
        axis.set_ylabel("observed coverage")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
    axes[0].legend(fontsize=7)
    save_figure(figure, path)


def draw_figures(directory: Path, records: pd.DataFrame, recalibration: pd.DataFrame, by_step: pd.DataFrame, config,
                 summary: dict) -> list[tuple[str, str]]:
    """Draw every figure; returns ``(path relative to OUT, caption)`` of each."""
    final = f"active/round-{config.rounds}"
    error_against_budget(records, config, directory / "error_vs_budget.png")
    chosen_viscosities(records, config, summary, directory / "chosen_viscosities.png")
    recalibration_diagram(recalibration, final, directory / "reliability.png")
    spread_against_error(by_step, ["initial/round-0", final], directory / "spread_vs_error.png")
    return [("figures/error_vs_budget.png", "error against acquired simulation cost per scored split, every strategy, "
             "mean and range over the paired seeds"),
            ("figures/chosen_viscosities.png", "histogram of the viscosities each strategy chose"),
            ("figures/reliability.png", f"reliability diagram of {final} (mean over seeds): raw, variance-scaled and "
             "conformal intervals per scored split"),
            ("figures/spread_vs_error.png", "ensemble spread (dashed) against ensemble-mean RMSE over rollout steps")]
