"""Laws of per-sample values in a dataset config: a constant, or uniform (in the value or its log)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RANGE_LAWS = ("uniform", "log_uniform")


@dataclass(frozen=True)
class Constant:
    value: float

    def draw(self, rng: np.random.Generator) -> float:
        return self.value

    def extremes(self) -> tuple[float, ...]:
        return (self.value,)

    def to_config(self):
        return self.value


@dataclass(frozen=True)
class Uniform:
    """Uniform in the value or (``log=True``) in its logarithm."""

    low: float
    high: float
    log: bool

    def draw(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def extremes(self) -> tuple[float, ...]:
        return (self.low, self.high)

    def to_config(self):
        return {"log_uniform" if self.log else "uniform": [self.low, self.high]}
