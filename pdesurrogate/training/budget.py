"""What a fit did with its budget: epochs asked for and completed, and whether a clock cut it short.

The budget of a training is a number of epochs, the same on every machine; a wall-clock cap
(``--trainer.max_time``) is only a safety option, and a run it stops early has trained a different
model (its cosine schedule never finished decaying). The fit writes ``budget.json`` beside its
checkpoints so that the benchmark can report every run the cap cut short.
"""

from __future__ import annotations

import json
from pathlib import Path

from data_gen.dataset.atomic import write_json

BUDGET_FILE = "budget.json"


def budget_record(trainer, epochs_completed: int) -> dict:
    """``max_epochs``, ``epochs_completed`` (run to their last batch), ``global_step``, the clock cap in
    seconds (``None`` without one) and ``cut_by_clock``: fewer epochs than asked and the cap spent."""
    from lightning.pytorch.callbacks import Timer  # noqa: PLC0415 (Lightning loads only with training)

    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    cap = timer._duration if timer is not None else None  # noqa: SLF001 (Lightning keeps it private)
    spent = timer is not None and cap is not None and (timer.time_remaining() or 0.0) <= 0.0
    max_epochs = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs >= 0 else None
    short = max_epochs is not None and epochs_completed < max_epochs
    return {"max_epochs": max_epochs, "epochs_completed": int(epochs_completed), "global_step": int(trainer.global_step),
            "max_time_seconds": cap, "cut_by_clock": bool(short and spent), "cut_short": bool(short)}


def write_budget_record(directory: Path, record: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / BUDGET_FILE, record)
    return directory / BUDGET_FILE


def read_budget_record(directory: Path) -> dict | None:
    """``budget.json`` of a fit's checkpoint folder, or ``None`` (an older fit, or no checkpoints)."""
    path = Path(directory) / BUDGET_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
