"""Where a fit keeps its checkpoints, and which one ``--ckpt_path best|last`` means afterwards.

Each fit writes into its own logger version, ``<save_dir>/<name>/version_N/``: its metrics, its
config and ``checkpoints/`` beside them, so a rerun never mixes with an earlier run's files.
``best-epochNNN.ckpt`` is the checkpoint selected on the validation metric, ``last.ckpt`` the last
epoch (for resuming), ``budget.json`` how much of its epoch budget the fit completed
(:mod:`.budget`).
"""

from __future__ import annotations

import re
from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint

from ..errors import UserError
from .budget import budget_record, write_budget_record

SELECTED = "best-epoch*.ckpt"


class SelectedCheckpoint(ModelCheckpoint):
    """:class:`ModelCheckpoint` whose ``last.ckpt`` is rewritten after every validation.

    Lightning writes ``last.ckpt`` only when it also writes a top-k checkpoint, so after an epoch
    that did not improve the validation metric ``last.ckpt`` is an older epoch than the run's last
    (found by a user resuming from epoch 8 of 10).
    """

    #: Whether a checkpoint's callback state is restored (the CLI turns it off for evaluation).
    restore_state = True

    def load_state_dict(self, state_dict) -> None:
        if self.restore_state:
            super().load_state_dict(state_dict)

    #: Epochs run to their last batch, counted from the start of training (a resumed fit included).
    epochs_completed = 0

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_skipped(trainer)
        # An epoch that a wall-clock cap (or max_steps) stopped mid-way also ends here; only one
        # that reached its last batch counts.
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            self.epochs_completed = trainer.current_epoch + 1

    def on_train_end(self, trainer, pl_module) -> None:
        super().on_train_end(trainer, pl_module)
        if self.dirpath is not None and trainer.is_global_zero:
            write_budget_record(Path(self.dirpath), budget_record(trainer, self.epochs_completed))

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_skipped(trainer)

    def _save_last_if_skipped(self, trainer) -> None:
        # The parent saved nothing at this step (no improvement): save last.ckpt anyway.
        if (self.save_last and not self._should_skip_saving_checkpoint(trainer)
                and self._last_global_step_saved != trainer.global_step):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def _version(path: Path) -> int:
    match = re.fullmatch(r"version_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def run_checkpoints(directory: Path) -> Path | None:
    """The checkpoint folder of the newest fit under ``directory``: ``directory`` itself when it holds
    checkpoints, else ``version_N/checkpoints`` with the largest N that holds any."""
    if any(directory.glob("*.ckpt")):
        return directory
    versions = sorted((p for p in directory.glob("version_*/checkpoints") if any(p.glob("*.ckpt"))),
                      key=lambda p: _version(p.parent))
    return versions[-1] if versions else None


def resolve_checkpoint(which: str, searched: list[Path]) -> Path:
    """The file ``--ckpt_path best`` (the selected checkpoint) or ``last`` means: in the newest fit
    found in the first of ``searched`` that holds one."""
    for directory in searched:
        folder = run_checkpoints(directory)
        if folder is None:
            continue
        if which == "last":
            if (folder / "last.ckpt").is_file():
                return folder / "last.ckpt"
            continue
        selected = sorted(folder.glob(SELECTED))
        if len(selected) == 1:
            return selected[0]
        if len(selected) > 1:
            raise UserError(f"ckpt_path: {which!r} is ambiguous: {folder} holds {', '.join(p.name for p in selected)} "
                            "(checkpoint.save_top_k > 1); pass one of them")
    looked = ", ".join(str(d) for d in searched) or "nowhere (no logger save_dir or checkpoint.dirpath)"
    raise UserError(f"ckpt_path: no {'selected (best-epoch*.ckpt)' if which == 'best' else 'last.ckpt'} "
                    f"checkpoint of a finished fit under {looked}; run `pdesurrogate fit` with this config first, or "
                    "pass a checkpoint file")
