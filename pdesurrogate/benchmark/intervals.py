"""Confidence intervals over seeds: :class:`Interval`, with the package's one Student-t quantile.

An error is never negative, but ``mean ± t·s/√n`` over three seeds of which one went badly reaches
below zero (``0.379 ± 0.64``). For a non-negative quantity (:func:`non_negative`) the interval is
taken on the logarithm of the per-seed values and mapped back, ``exp(m_log ± t·s_log/√n)``: a
multiplicative interval around the geometric mean, which stays above zero and widens upwards
where the seeds spread; the reported centre stays the arithmetic mean.
"""

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

    @property
    def symmetric(self) -> bool:
        return math.isclose(self.high - self.mean, self.mean - self.low, rel_tol=1e-9, abs_tol=1e-300)

    @classmethod
    def of(cls, values: Iterable[float], positive: bool = False) -> Interval:
        """From per-seed values; non-finite ones (seeds with no surviving sample) do not count.

        ``positive``: the values cannot be negative (an error, a ratio of errors, a time), so the
        interval is taken on their logarithm (see the module docstring); where a value is exactly
        zero that is impossible, and the Student-t interval is cut at zero instead.
        """
        values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if n == 1:
            return cls(mean, math.nan, math.nan, 1)
        t = student_t_quantile(0.5 + CONFIDENCE / 2, n - 1)
        if positive and (values > 0).all():
            logs = np.log(values)
            centre, half = float(logs.mean()), t * float(logs.std(ddof=1)) / math.sqrt(n)
            return cls(mean, math.exp(centre - half), math.exp(centre + half), n)
        half = t * float(values.std(ddof=1)) / math.sqrt(n)
        return cls(mean, max(mean - half, 0.0) if positive else mean - half, mean + half, n)

    @classmethod
    def columns(cls, values: np.ndarray, positive: bool = False) -> list[Interval]:
        """One interval per column of ``(seed, column)`` values (per step, per wavenumber)."""
        return [cls.of(values[:, j], positive) for j in range(values.shape[1])]


NON_NEGATIVE_METRICS = frozenset({"rel_l2", "rmse", "nrmse", "vrmse", "max_error"})
"""Metrics that are never negative (besides the spectral ``band_*`` RMSEs); correlations, signed
drifts and spectrum log-ratios can take either sign."""


def non_negative(metric: str) -> bool:
    """Whether ``metric`` cannot be negative, so that its interval is taken on the log scale."""
    return metric in NON_NEGATIVE_METRICS or metric.startswith("band_")
