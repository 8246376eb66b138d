"""The figures of an active-learning run: target error against simulation budget, the viscosities
each strategy chose, and the ensembles' reliability diagram and spread against error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..evaluation.ensemble_figures import reliability_diagram, save_figure, spread_against_error

COLOURS = {"active": "C0", "random": "C1"}


def error_against_budget(records: pd.DataFrame, target: str, path: Path) -> None:
    figure = Figure(figsize=(6.5, 4.2), layout="constrained")
    axis = figure.subplots()
    for strategy, colour in COLOURS.items():
        part = records[records.strategy == strategy]
        curve = part.groupby("round").agg(cost=("cost_total", "mean"), mean=("target_rel_l2", "mean"),
                                          low=("target_rel_l2", "min"), high=("target_rel_l2", "max"))
        axis.plot(curve["cost"], curve["mean"], marker="o", color=colour, label=f"{strategy} (mean over seeds)")
        axis.fill_between(curve["cost"], curve["low"], curve["high"], color=colour, alpha=0.2, linewidth=0,
                          label=f"{strategy}: range over {part.seed.nunique()} seeds")
    axis.set_xlabel("simulation cost of the training set [pool-median trajectories]")
    axis.set_ylabel(f"relative L2 error of the ensemble mean on {target}")
    axis.legend(fontsize=8)
    save_figure(figure, path)


def chosen_viscosities(records: pd.DataFrame, config, summary: dict, path: Path) -> None:
    figure = Figure(figsize=(6.5, 4.0), layout="constrained")
    axis = figure.subplots()
    low, high = config.candidate_range
    bins = np.geomspace(low / 1.1, high * 1.1, min(config.pool, 20) + 1)
    for strategy, colour in COLOURS.items():
        chosen = [v for values in records[records.strategy == strategy]["chosen_viscosity"] for v in values]
        axis.hist(chosen, bins=bins, color=colour, alpha=0.55, label=f"{strategy} ({len(chosen)} trajectories)")
    axis.axvspan(*summary["train_viscosity"], color="0.6", alpha=0.25, label="initial training range")
    axis.axvspan(*summary["target_viscosity"], color="C2", alpha=0.2, label=f"target split {config.target}")
    axis.set_xscale("log")
    axis.set_xlabel("viscosity ν")
    axis.set_ylabel("trajectories chosen (all seeds and rounds)")
    axis.legend(fontsize=8)
    save_figure(figure, path)


def draw_figures(directory: Path, records: pd.DataFrame, reliability: pd.DataFrame, by_step: pd.DataFrame, config,
                 summary: dict) -> list[tuple[str, str]]:
    """Draw every figure; returns ``(path relative to OUT, caption)`` of each."""
    finals = ["initial/round-0"] + [f"{s}/round-{config.rounds}" for s in COLOURS]
    error_against_budget(records, config.target, directory / "target_error_vs_budget.png")
    chosen_viscosities(records, config, summary, directory / "chosen_viscosities.png")
    reliability_diagram(reliability, finals, directory / "reliability.png")
    spread_against_error(by_step, finals, directory / "spread_vs_error.png")
    return [("figures/target_error_vs_budget.png", f"target ({config.target}) error against simulation cost, "
             "mean and range over seeds, active and random"),
            ("figures/chosen_viscosities.png", "histogram of the viscosities each strategy chose"),
            ("figures/reliability.png", "reliability diagram: nominal against observed coverage, per scored split, "
             "initial and final ensembles"),
            ("figures/spread_vs_error.png", "ensemble spread (dashed) against ensemble-mean RMSE over rollout steps")]
