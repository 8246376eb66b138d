"""A fit's epoch budget: what it completed is recorded, and a clock cap that cuts it short is flagged."""

from __future__ import annotations

import json
from pathlib import Path

from pdesurrogate.benchmark.report import _budget
from pdesurrogate.commands.lightning import run_lightning
from pdesurrogate.training.budget import BUDGET_FILE
from pdesurrogate.training.fit import fit_arguments

FIT = Path(__file__).resolve().parents[2] / "configs" / "fit" / "ns_fno_small.yaml"
TINY = ("--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4",
        "--data.rollout_steps", "3", "--data.batch_size", "4", "--trainer.enable_model_summary", "false")


def _fit(ns_dataset, directory: Path, epochs: int, minutes: float | None) -> dict:
    run_lightning(fit_arguments(FIT, ns_dataset, directory, seed=0, epochs=epochs, minutes=minutes, progress=False,
                                overrides=TINY))
    return json.loads((directory / "checkpoints" / BUDGET_FILE).read_text())


def test_an_epoch_budget_completes_its_epochs_and_a_tiny_clock_cap_is_flagged(ns_dataset, tmp_path):
    record = _fit(ns_dataset, tmp_path / "epochs", epochs=2, minutes=None)
    assert record["epochs_completed"] == record["max_epochs"] == 2
    assert not record["cut_short"] and not record["cut_by_clock"] and record["max_time_seconds"] is None

    # 2 s of wall time cannot hold 1000 epochs on any machine: the Timer stops the fit early.
    record = _fit(ns_dataset, tmp_path / "capped", epochs=1000, minutes=2 / 60)
    assert record["max_time_seconds"] == 2 and record["max_epochs"] == 1000
    assert record["epochs_completed"] < 1000 and record["cut_short"] and record["cut_by_clock"]
    lines = "\n".join(_budget({"budget": {"epochs": 1000, "max_minutes": 2 / 60},
                               "runs": {"fno seed 0": {"model": "fno", "fit_seconds": 2.5, "budget": record}}}))
    assert f"fno seed 0 ({record['epochs_completed']} of 1000 epochs, stopped by the clock cap)" in lines
