"""Choosing a batch from a pool of candidates by their acquisition scores, within a round's budget.

Every rule takes candidates one at a time, each at most once, while an affordable one is left
(cost ≤ what remains of the budget), and returns the pool indices in the order they were taken:

- :func:`power_sampling` draws each next candidate with probability ∝ wᵢ^β among the affordable
  ones left (wᵢ the weighted score, see :func:`acquisition_weights`). β = 0 is uniform sampling,
  β → ∞ tends to top-k; in between, a batch follows the score without piling onto its single peak,
  so no repulsion term is needed (stochastic batch acquisition, Kirsch et al. 2023);
- :func:`top_k` takes the largest weights first (greedy, for ablation);
- :func:`target_law_choice` is the baseline of a user who knows the target without active
  learning: uniform over the pool's candidates whose viscosity lies in the target split's range,
  which, for a pool drawn log-uniformly, is a draw from the target's own log-uniform law.

The uniform-over-the-pool baseline is :func:`power_sampling` with β = 0; the earlier rule (greedy
disagreement per cost with a repulsion in log ν) is kept in :mod:`pdesurrogate.active.acquisition`
for ablation.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UserError


def _affordable(cost: np.ndarray, taken: np.ndarray, remaining: float) -> np.ndarray:
    return np.flatnonzero(~taken & (cost <= remaining + 1e-12))


def power_probabilities(weights: np.ndarray, beta: float) -> np.ndarray:
    """``w^β / Σ w^β`` over the candidates (weights ≥ 0, β ≥ 0; all-zero weights: uniform)."""
    weights = np.asarray(weights, np.float64)
    if not beta >= 0 or not math.isfinite(beta):
        raise UserError(f"acquisition.beta: must be a finite number >= 0 (got {beta!r}); probability ∝ score^β "
                        "with β < 0 would prefer the candidates the ensemble is surest about")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("power sampling needs finite non-negative weights")
    if beta == 0:
        return np.full(len(weights), 1.0 / len(weights))
    # Work in logs relative to the largest weight: w^β overflows for β of a few tens.
    with np.errstate(divide="ignore"):
        logs = beta * np.log(weights)
    if not np.isfinite(logs).any():
        return np.full(len(weights), 1.0 / len(weights))
    p = np.exp(logs - logs[np.isfinite(logs)].max())
    return p / p.sum()


def power_sampling(weights: np.ndarray, cost: np.ndarray, budget: float, beta: float,
                   rng: np.random.Generator, exclude=()) -> list[int]:
    """Candidates drawn one at a time with probability ∝ weight^β among the affordable ones left."""
    weights, cost = np.asarray(weights, np.float64), np.asarray(cost, np.float64)
    power_probabilities(weights[:1], beta)  # β checked before anything is drawn
    taken = np.zeros(len(weights), bool)
    taken[list(exclude)] = True
    chosen, remaining = [], float(budget)
    while True:
        left = _affordable(cost, taken, remaining)
        if not len(left):
            return chosen
        pick = int(left[rng.choice(len(left), p=power_probabilities(weights[left], beta))])
        chosen.append(pick)
        taken[pick] = True
        remaining -= cost[pick]


def top_k(weights: np.ndarray, cost: np.ndarray, budget: float, exclude=()) -> list[int]:
    """The largest weights first, while affordable."""
    weights, cost = np.asarray(weights, np.float64), np.asarray(cost, np.float64)
    taken = np.zeros(len(weights), bool)
    taken[list(exclude)] = True
    chosen, remaining = [], float(budget)
    for i in np.argsort(-weights, kind="stable"):
        if not taken[i] and cost[i] <= remaining + 1e-12:
            chosen.append(int(i))
            remaining -= cost[i]
    return chosen


def target_density(viscosity: np.ndarray, low: float, high: float, bandwidth: float) -> np.ndarray:
    """The target split's log-uniform viscosity law on [low, high], as a density in x = log10 ν,
    smoothed by a Gaussian of ``bandwidth`` decades and scaled to 1 at its maximum.

    The smoothing keeps the weight of candidates near the range positive (it falls like a Gaussian
    tail outside, and underflows to 0 some 3 decades away at a bandwidth of 0.1): just outside the
    target range a candidate still teaches the model about it (a hard cut-off would also make every baseline's
    comparison hinge on where the pool's draws happened to fall). For a box [a, b] convolved with
    N(0, h²) the density is Φ((x − a)/h) − Φ((x − b)/h), up to a constant.
    """
    x = np.log10(np.asarray(viscosity, np.float64))
    a, b = math.log10(low), math.log10(high)
    if bandwidth <= 0:
        return ((x >= a) & (x <= b)).astype(np.float64)
    def phi(z):
        return 0.5 * math.erfc(-z / math.sqrt(2))

    half = (b - a) / 2 / bandwidth
    def box(v):  # Φ(hi) − Φ(lo), taken on the side where both terms are small (no cancellation)
        hi, lo = (v - a) / bandwidth, (v - b) / bandwidth
        return phi(-lo) - phi(-hi) if lo > 0 else phi(hi) - phi(lo)

    density = np.array([box(v) for v in x])
    peak = phi(half) - phi(-half)  # at the centre of the range
    return density / peak


def acquisition_weights(score: np.ndarray, cost: np.ndarray, target: np.ndarray | None,
                        per_unit_cost: bool) -> np.ndarray:
    """``score × target density (if target-aware) / cost (if per unit of cost)``; a non-finite score
    (a member diverged) counts as the largest finite one."""
    score = np.asarray(score, np.float64)
    finite = np.isfinite(score)
    weights = np.where(finite, score, np.max(score[finite], initial=1.0))
    if target is not None:
        weights = weights * np.asarray(target, np.float64)
    if per_unit_cost:
        weights = weights / np.asarray(cost, np.float64)
    return weights


def target_law_choice(viscosity: np.ndarray, cost: np.ndarray, budget: float, low: float, high: float,
                      rng: np.random.Generator, exclude=()) -> list[int]:
    """Uniformly among the pool's candidates with ν in [low, high], while affordable."""
    viscosity = np.asarray(viscosity, np.float64)
    inside = (viscosity >= low) & (viscosity <= high)
    weights = inside.astype(np.float64)
    taken = np.zeros(len(viscosity), bool)
    taken[list(exclude)] = True
    taken |= ~inside
    chosen, remaining = [], float(budget)
    while True:
        left = _affordable(np.asarray(cost, np.float64), taken, remaining)
        if not len(left):
            return chosen
        pick = int(left[rng.choice(len(left), p=weights[left] / weights[left].sum())])
        chosen.append(pick)
        taken[pick] = True
        remaining -= cost[pick]
