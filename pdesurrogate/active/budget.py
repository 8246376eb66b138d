"""What a simulation budget buys: error against cumulative simulation cost, compared over paired seeds.

A *curve* is one loop of one seed: the acquired cost after each round (0 at round 0: the initial
set is common to every strategy and left out) and the target error of that round's ensemble.
Between rounds a curve is linear in cost. Strategies are compared over *paired* seeds (the same
initial set, member seeds and pool in both arms), and every interval is a paired bootstrap over
seeds: a resample draws seeds with replacement and keeps each drawn seed's two curves together.

- ``matching fraction``: the cost at which the mean active curve (mean over the resampled seeds of
  cost and error per round) first reaches the baseline's mean final error, over the baseline's
  mean final cost. 0.7: active learning needs 70 % of the baseline's simulations. ``inf``: it does
  not reach that error within its own budget.
- ``normalised AUC``: ∫ error d(cost) / C over [0, C], C the smaller of the two arms' final costs:
  the mean error over the budget both arms spent; the paired difference active − baseline < 0
  means active learning was ahead on average along the way, not only at the end.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def crossing_cost(cost: np.ndarray, error: np.ndarray, level: float) -> float:
    """The first cost at which the piecewise-linear curve reaches ``error <= level`` (inf if never)."""
    cost, error = np.asarray(cost, np.float64), np.asarray(error, np.float64)
    for i in range(len(cost)):
        if error[i] <= level:
            if i == 0:
                return float(cost[0])
            fraction = (error[i - 1] - level) / (error[i - 1] - error[i])
            return float(cost[i - 1] + fraction * (cost[i] - cost[i - 1]))
    return float("inf")


def normalised_auc(cost: np.ndarray, error: np.ndarray, upto: float) -> float:
    """``∫_{cost[0]}^{upto} error dc / (upto − cost[0])`` of the piecewise-linear curve."""
    cost, error = np.asarray(cost, np.float64), np.asarray(error, np.float64)
    if not cost[0] < upto <= cost[-1] + 1e-12:
        raise ValueError(f"upto must lie in ({cost[0]}, {cost[-1]}], got {upto}")
    upto = min(upto, cost[-1])
    inside = cost < upto
    c = np.append(cost[inside], upto)
    e = np.append(error[inside], np.interp(upto, cost, error))
    return float(np.sum((c[1:] - c[:-1]) * (e[1:] + e[:-1]) / 2) / (upto - cost[0]))


def matching_fraction(active_cost: np.ndarray, active_error: np.ndarray, baseline_cost: np.ndarray,
                      baseline_error: np.ndarray) -> float:
    """For (seed, round) arrays of both arms: the mean active curve's cost at the baseline's mean
    final error, over the baseline's mean final cost."""
    level = float(np.mean(np.asarray(baseline_error)[:, -1]))
    budget = float(np.mean(np.asarray(baseline_cost)[:, -1]))
    return crossing_cost(np.mean(active_cost, axis=0), np.mean(active_error, axis=0), level) / budget


def auc_difference(active_cost, active_error, baseline_cost, baseline_error) -> float:
    """Mean over seeds of the paired normalised-AUC difference active − baseline."""
    differences = []
    for ac, ae, bc, be in zip(active_cost, active_error, baseline_cost, baseline_error):
        upto = min(ac[-1], bc[-1])
        differences.append(normalised_auc(ac, ae, upto) - normalised_auc(bc, be, upto))
    return float(np.mean(differences))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    resamples: int
    exhaustive: bool  # every one of the n^n resamples, not a random draw of them

    def as_dict(self) -> dict:
        def number(v):
            return v if np.isfinite(v) else None  # JSON has no inf: None is "not reached"
        return {"estimate": number(self.estimate), "low": number(self.low), "high": number(self.high),
                "resamples": self.resamples, "exhaustive": self.exhaustive}


def paired_bootstrap(statistic, arrays: tuple[np.ndarray, ...], rng: np.random.Generator, resamples: int = 4000,
                     level: float = 0.95) -> Interval:
    """``statistic(*arrays)`` on all seeds, and its percentile interval over seed resamples.

    ``arrays`` all have seeds first; a resample takes the same seed rows from each, so the pairing
    is kept. With n seeds and n^n ≤ ``resamples`` every resample is enumerated once (the exact
    bootstrap distribution: 3125 for 5 seeds); beyond, ``resamples`` are drawn from ``rng``. The
    percentiles are order statistics of the resampled values (no interpolation, so an "never
    reached" inf stays inf and a finite bound stays a value that occurred)."""
    arrays = tuple(np.asarray(a, np.float64) for a in arrays)
    n = len(arrays[0])
    exhaustive = n ** n <= resamples
    draws = (itertools.product(range(n), repeat=n) if exhaustive
             else (rng.integers(0, n, n) for _ in range(resamples)))
    values = np.array([statistic(*(a[list(rows)] for a in arrays)) for rows in draws])
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return Interval(float(statistic(*arrays)), float(low), float(high), len(values), exhaustive)
