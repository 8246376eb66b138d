"""Confidence intervals over seeds: Student's t (CDF and quantile) and :class:`Interval`.

The quantile is computed here, from the regularised incomplete beta function, so that the package
needs no SciPy for a handful of numbers.

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

CONFIDENCE = 0.95


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def _regularised_beta(a: float, b: float, x: float) -> float:
    """``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    # The continued fraction converges fast only below (a + 1) / (a + b + 2); above it, use the
    # symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, dof: float) -> float:
    """The cumulative distribution function of Student's t with ``dof`` degrees of freedom."""
    tail = 0.5 * _regularised_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of Student's t (``0 < p < 1``, ``dof > 0``), by bisection on the CDF."""
    if not (0.0 < p < 1.0 and dof > 0):
        raise ValueError(f"need 0 < p < 1 and dof > 0, got p = {p}, dof = {dof}")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, dof)
    low, high = 0.0, 1.0
    while student_t_cdf(high, dof) < p:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if student_t_cdf(middle, dof) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return 0.5 * (low + high)


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
