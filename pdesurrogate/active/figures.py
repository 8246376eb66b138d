"""The figures of an active-learning run: target error against simulation budget, the viscosities
each strategy chose, the reliability diagram and spread against error over the rollout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..evaluation.files import write_atomically

COLOURS = {"active": "C0", "random": "C1"}


def _save(figure: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png", dpi=120))


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
    _save(figure, path)


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
    _save(figure, path)


def _split_panels(table: pd.DataFrame):
    """One panel per split of ``table``: ``(figure, [(axis, split), …])``."""
    splits = sorted(table.split.unique())
    figure = Figure(figsize=(max(6.5, 3.4 * len(splits)), 3.6), layout="constrained")
    return figure, list(zip(figure.subplots(1, len(splits), squeeze=False)[0], splits))


def reliability_diagram(reliability: pd.DataFrame, models: list[str], path: Path) -> None:
    figure, panels = _split_panels(reliability)
    for axis, split in panels:
        axis.plot([0, 1], [0, 1], color="0.5", linestyle="--", label="calibrated")
        for i, model in enumerate(models):
            part = reliability[(reliability.split == split) & (reliability.model == model)]
            for variable, rows in part.groupby("variable"):
                axis.plot(rows["nominal"], rows["observed"], marker="o", color=f"C{i}", label=f"{model} ({variable})")
        axis.set_title(split)
        axis.set_xlabel("nominal coverage of the central interval")
        axis.set_ylabel("observed coverage")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
    panels[0][0].legend(fontsize=7)
    _save(figure, path)


def spread_against_error(by_step: pd.DataFrame, models: list[str], path: Path) -> None:
    figure, panels = _split_panels(by_step)
    for axis, split in panels:
        for i, model in enumerate(models):
            part = by_step[(by_step.split == split) & (by_step.model == model)]
            for variable, rows in part.groupby("variable"):
                axis.plot(rows["step"], rows["rmse"], color=f"C{i}", marker="o", label=f"{model} error ({variable})")
                axis.plot(rows["step"], rows["spread"], color=f"C{i}", linestyle="--", label=f"{model} spread")
        axis.set_title(split)
        axis.set_xlabel("rollout step (scored frame)")
        axis.set_ylabel("RMS over samples [field units]")
        axis.set_yscale("log")
    panels[0][0].legend(fontsize=7)
    _save(figure, path)


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
