"""Batch selection from a pool: power sampling draws with the probabilities it claims (chi-square),
target weighting moves choices into the target region, top-k and the baselines stay in budget."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from pdesurrogate.active.selection import (acquisition_weights, power_probabilities, power_sampling, target_density,
                                           target_law_choice, top_k)
from pdesurrogate.errors import UserError


def chi_square_p_value(observed: np.ndarray, expected: np.ndarray) -> float:
    """Pearson's chi-square test of counts against expected counts (k − 1 degrees of freedom)."""
    statistic = float(((observed - expected) ** 2 / expected).sum())
    dof = len(observed) - 1
    return float(mpmath.gammainc(dof / 2, statistic / 2, mpmath.inf, regularized=True))


def test_power_sampling_frequencies_match_score_to_the_beta():
    score = np.array([0.1, 0.4, 0.2, 0.8, 0.05, 0.3])
    cost = np.ones_like(score)
    rng = np.random.default_rng(20)
    for beta in (0.0, 1.0, 2.5):
        p = power_probabilities(score, beta)
        assert p == pytest.approx(score ** beta / (score ** beta).sum(), rel=1e-12)
        draws = 6_000
        counts = np.bincount([power_sampling(score, cost, 1.0, beta, rng)[0] for _ in range(draws)],
                             minlength=len(score))
        assert chi_square_p_value(counts, draws * p) > 1e-3, (beta, counts, draws * p)
    # A wrong law is rejected by the same test: the check can fail.
    counts = np.bincount([power_sampling(score, cost, 1.0, 1.0, rng)[0] for _ in range(6_000)], minlength=len(score))
    assert chi_square_p_value(counts, 6_000 * power_probabilities(score, 2.0)) < 1e-6


def test_power_sampling_second_draw_is_conditional_on_the_first_and_respects_budget():
    score, cost = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])
    rng = np.random.default_rng(1)
    pairs = [tuple(power_sampling(score, cost, 2.0, 1.0, rng)) for _ in range(8_000)]
    assert all(len(set(p)) == 2 for p in pairs)  # each candidate at most once
    # P(first = 2, second = 1) = 3/6 · 2/3 = 1/3.
    assert np.mean([p == (2, 1) for p in pairs]) == pytest.approx(1 / 3, abs=0.02)
    # Excluded candidates (already simulated in an earlier round) are never drawn.
    assert all(0 not in power_sampling(score, cost, 2.0, 1.0, rng, exclude=[0]) for _ in range(200))
    # Over budget: never; a candidate dearer than the rest of the budget is skipped, not forced in.
    chosen = power_sampling(np.ones(4), np.array([0.6, 0.6, 2.0, 0.6]), 1.3, 1.0, rng)
    assert 2 not in chosen and len(chosen) == 2


def test_beta_below_zero_is_refused_in_one_line():
    with pytest.raises(UserError, match=r"acquisition\.beta: must be a finite number >= 0"):
        power_sampling(np.ones(3), np.ones(3), 1.0, -1.0, np.random.default_rng(0))


def test_top_k_takes_the_largest_weights_first():
    assert top_k(np.array([0.3, 0.9, 0.1, 0.5]), np.ones(4), 2.0) == [1, 3]
    assert top_k(np.array([0.3, 0.9, 0.1, 0.5]), np.ones(4), 2.0, exclude=[1]) == [3, 0]


VISCOSITY = np.geomspace(3e-5, 3e-3, 201)
X = np.log10(VISCOSITY)
TARGET = (6.25e-5, 1.25e-4)


def two_peaks() -> np.ndarray:
    """Disagreement peaking below the training range (where the target is) and, higher, above it:
    the landscape the issue found, which pulled choices away from the target."""
    return 0.05 + 0.6 * np.exp(-((X + 4.05) ** 2) / 0.02) + 1.0 * np.exp(-((X + 2.7) ** 2) / 0.02)


def in_target(indices) -> float:
    v = VISCOSITY[list(indices)]
    return float(np.mean((v >= TARGET[0]) & (v <= TARGET[1])))


def test_target_density_is_the_smoothed_log_uniform_law():
    density = target_density(VISCOSITY, *TARGET, bandwidth=0.1)
    centre = math.sqrt(TARGET[0] * TARGET[1])
    assert target_density(np.array([centre]), *TARGET, 0.1)[0] == pytest.approx(1.0)
    # Each edge is the half-way point of the smoothed box; two bandwidths outside it, ≈ Φ(−2).
    def phi(z):
        return 0.5 * math.erfc(-z / math.sqrt(2))

    width = math.log10(2) / 0.1  # the range is a factor 2 wide: 3.01 bandwidths
    peak = phi(width / 2) - phi(-width / 2)
    edge = target_density(np.array([TARGET[0]]), *TARGET, 0.1)[0]
    assert edge == pytest.approx((0.5 - phi(-width)) / peak, rel=1e-9)
    far = target_density(np.array([TARGET[0] / 10 ** 0.2]), *TARGET, 0.1)[0]
    assert far == pytest.approx((phi(-2) - phi(-2 - width)) / peak, rel=1e-9)
    near = (X > np.log10(TARGET[0]) - 1) & (X < np.log10(TARGET[1]) + 1)
    assert np.all(density[near] > 0) and np.all(density <= 1 + 1e-12)
    # Symmetric about the centre in log ν, above as below (no cancellation on either side).
    mirrored = target_density(centre ** 2 / VISCOSITY[near], *TARGET, 0.1)
    assert mirrored == pytest.approx(density[near], rel=1e-6)


def test_target_weighting_moves_choices_into_the_target_region():
    score, cost = two_peaks(), np.ones_like(X)
    weights = acquisition_weights(score, cost, target_density(VISCOSITY, *TARGET, 0.1), per_unit_cost=False)
    rng = np.random.default_rng(3)
    plain = [i for _ in range(200) for i in power_sampling(score, cost, 10.0, 2.0, rng)]
    aware = [i for _ in range(200) for i in power_sampling(weights, cost, 10.0, 2.0, rng)]
    assert in_target(aware) > 0.6 > 0.3 > in_target(plain)
    # Top-k on the plain score spends the whole batch on the upper peak, outside the target.
    assert in_target(top_k(score, cost, 10.0)) == 0.0 and in_target(top_k(weights, cost, 10.0)) == 1.0


def test_the_target_law_baseline_draws_only_inside_the_target_range_and_uniformly():
    rng = np.random.default_rng(5)
    inside = np.flatnonzero((VISCOSITY >= TARGET[0]) & (VISCOSITY <= TARGET[1]))
    draws = [target_law_choice(VISCOSITY, np.ones_like(X), 1.0, *TARGET, rng)[0] for _ in range(6_000)]
    assert set(draws) <= set(inside.tolist())
    counts = np.bincount(draws, minlength=len(VISCOSITY))[inside]
    assert chi_square_p_value(counts, np.full(len(inside), len(draws) / len(inside))) > 1e-3


def test_per_unit_cost_divides_and_a_diverged_score_counts_as_the_largest():
    weights = acquisition_weights(np.array([1.0, np.nan, 2.0]), np.array([1.0, 1.0, 4.0]), None, per_unit_cost=True)
    assert weights.tolist() == [1.0, 2.0, 0.5]
