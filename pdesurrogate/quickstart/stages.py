"""Named stages that print one line each with their elapsed time and are not redone on a rerun.

A finished stage's outputs are recorded in ``OUT/quickstart.json``; a second run (or one after a
kill) reads them back instead of running the stage again. A stage that was killed midway is simply
run again: every stage is built on resumable pieces (generation skips finished shards, the
benchmark skips finished trainings).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..run_directory import write_json

log = logging.getLogger(__name__)


class Stages:
    def __init__(self, out: Path, total: int):
        self.out, self.total, self.count = out, total, 0
        self.path = out / "quickstart.json"
        self.record = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.started = time.perf_counter()

    def run(self, name: str, title: str, work: Callable[[], dict]) -> dict:
        """Run ``work`` (returning the stage's outputs, JSON-serialisable) unless it already finished."""
        self.count += 1
        prefix = f"[{self.count}/{self.total}] {title}"
        if name in self.record:
            done = self.record[name]
            log.info(f"{prefix}: reused ({done['seconds']:.0f} s when it ran)")
            return done["outputs"]
        log.info(f"{prefix} …")
        start = time.perf_counter()
        outputs = work()
        seconds = time.perf_counter() - start
        self.record[name] = {"seconds": seconds, "outputs": outputs}
        write_json(self.path, self.record)
        log.info(f"{prefix}: done in {_duration(seconds)} (total {_duration(time.perf_counter() - self.started)})")
        return outputs

    def seconds(self) -> dict[str, float]:
        return {name: entry["seconds"] for name, entry in self.record.items()}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
