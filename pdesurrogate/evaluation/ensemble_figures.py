"""Figures of an ensemble's calibration, shared by the benchmark and active learning: the
reliability diagram and spread against error over the rollout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..run_directory import write_atomically


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG atomically (a reader never sees half an image)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png", dpi=120))


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
    save_figure(figure, path)


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
    save_figure(figure, path)
