"""Per-variable mean and standard deviation, accumulated batch by batch and merged across shards.

Chan, Golub & LeVeque's pairwise update: each shard keeps ``(count, mean, M2)`` in float64, and
the train split's statistics are the merge of its shards' — so they stream in bounded memory and
come out the same whichever processes wrote which shards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

from .config import DatasetConfig
from .plan import Shard, sample_parameters


@dataclass
class RunningMoments:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean

    def update(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return
        batch_mean = float(values.mean())
        self.merge(RunningMoments(values.size, batch_mean, float(((values - batch_mean) ** 2).sum())))

    def merge(self, other: "RunningMoments") -> None:
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.mean += delta * other.count / total
        self.m2 += other.m2 + delta**2 * self.count * other.count / total
        self.count = total

    @property
    def std(self) -> float:
        """Population standard deviation (what normalising a field by its spread needs)."""
        return math.sqrt(self.m2 / self.count) if self.count else float("nan")

    def to_dict(self) -> dict:
        return {"count": self.count, "mean": self.mean, "m2": self.m2}

    @classmethod
    def from_dict(cls, d: dict) -> "RunningMoments":
        return cls(int(d["count"]), float(d["mean"]), float(d["m2"]))


def train_statistics(config: DatasetConfig, records: dict[str, dict], shards: list[Shard]) -> dict:
    """``stats.json``: per-variable mean and std merged over the train shards' records, and the
    train split's per-sample parameter ranges."""
    train = config.split("train")
    moments = {name: RunningMoments() for name in config.variables}
    for shard in shards:
        if shard.split == "train":
            for name in config.variables:
                moments[name].merge(RunningMoments.from_dict(records[shard.name]["moments"][name]))
    parameters = sample_parameters(config, train, range(train.samples))
    return {
        "split": "train",
        "samples": train.samples,
        "variables": {name: {"mean": m.mean, "std": m.std} for name, m in moments.items()},
        "parameters": {
            name: {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max())}
            for name, v in parameters.items()
        },
    }
