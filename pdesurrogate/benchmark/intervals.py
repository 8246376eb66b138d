"""Confidence intervals over seeds: :class:`Interval`, with the package's one Student-t quantile."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..evaluation.metrics import student_t_quantile

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean over seeds and its 95 % confidence interval (NaN with fewer than two seeds)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return self.high - self.mean

    @classmethod
    def of(cls, values: Iterable[float]) -> Interval:
        """From per-seed values; non-finite ones (seeds with no surviving sample) do not count."""
        values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if n == 1:
            return cls(mean, math.nan, math.nan, 1)
        half = student_t_quantile(0.5 + CONFIDENCE / 2, n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
        return cls(mean, mean - half, mean + half, n)

    @classmethod
    def columns(cls, values: np.ndarray) -> list[Interval]:
        """One interval per column of ``(seed, column)`` values (per step, per wavenumber)."""
        return [cls.of(values[:, j]) for j in range(values.shape[1])]
