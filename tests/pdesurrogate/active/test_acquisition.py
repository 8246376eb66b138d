"""Choosing simulations on a synthetic disagreement landscape: the largest disagreement per unit of
cost first, a diverse batch, never over budget; the random baseline spends the same budget."""

from __future__ import annotations

import numpy as np

from pdesurrogate.active.acquisition import uncertain_and_diverse
from pdesurrogate.active.selection import power_sampling


def random_choice(cost, budget, rng):
    """The uniform-over-the-pool baseline: power sampling with β = 0."""
    return power_sampling(np.ones(len(cost)), cost, budget, 0.0, rng)

VISCOSITY = np.geomspace(1e-5, 1e-2, 31)  # 0.1 decade apart
X = np.log10(VISCOSITY)


def landscape(peak: float, width: float = 0.3) -> np.ndarray:
    """A smooth bump of disagreement centred at log10 ν = ``peak``, on a floor."""
    return 0.05 + np.exp(-((X - peak) ** 2) / (2 * width ** 2))


def test_the_first_pick_is_the_largest_disagreement_per_cost():
    disagreement = landscape(-4.0)
    cost = np.ones_like(X)
    chosen = uncertain_and_diverse(disagreement, cost, VISCOSITY, budget=1.0, length=0.2)
    assert chosen == [int(np.argmax(disagreement))]
    # A cost that doubles every decade towards low ν moves the best value per cost to higher ν.
    cost = 2.0 ** -(X + 2)
    cost = cost / np.median(cost)
    chosen = uncertain_and_diverse(disagreement, cost, VISCOSITY, budget=cost.max(), length=0.2)
    assert chosen[0] == int(np.argmax(disagreement / cost))
    assert VISCOSITY[chosen[0]] > VISCOSITY[int(np.argmax(disagreement))]


def test_the_batch_stays_in_the_uncertain_region_and_is_diverse():
    disagreement, cost = landscape(-4.0), np.ones_like(X)
    chosen = uncertain_and_diverse(disagreement, cost, VISCOSITY, budget=4.0, length=0.2)
    assert len(chosen) == 4
    picked = np.sort(X[chosen])
    # every pick near the bump (within two of its widths), none adjacent to another on the grid
    assert np.all(np.abs(picked + 4.0) <= 0.6)
    assert np.min(np.diff(picked)) >= 0.2 - 1e-9
    # without repulsion the greedy batch is the 4 grid points nearest the peak: three of them neighbours
    greedy = uncertain_and_diverse(disagreement, cost, VISCOSITY, budget=4.0, length=1e-6)
    assert np.min(np.diff(np.sort(X[greedy]))) < 0.2 - 1e-9


def test_two_bumps_both_get_picks():
    disagreement = np.maximum(landscape(-4.5, 0.15), landscape(-2.5, 0.15))
    chosen = uncertain_and_diverse(disagreement, np.ones_like(X), VISCOSITY, budget=2.0, length=0.3)
    assert sorted(np.round(X[chosen], 6)) == [-4.5, -2.5]


def test_budgets_are_never_exceeded():
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.5, 2.0, size=X.size)
    for budget in (1.0, 3.3, 7.0):
        active = uncertain_and_diverse(landscape(-3.0), cost, VISCOSITY, budget, 0.2)
        chosen = random_choice(cost, budget, np.random.default_rng(1))
        for picks in (active, chosen):
            assert len(set(picks)) == len(picks) >= 1
            assert cost[picks].sum() <= budget + 1e-12
            # nothing left would still fit
            left = budget - cost[picks].sum()
            assert all(cost[i] > left for i in range(X.size) if i not in picks)


def test_random_choice_is_uniform_over_the_pool():
    counts = np.zeros(X.size)
    for seed in range(3000):
        counts[random_choice(np.ones(X.size), 2.0, np.random.default_rng(seed))] += 1
    expected = 3000 * 2 / X.size
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
