"""The budget comparison against a case worked by hand: crossings, normalised AUC and the exact
paired bootstrap over two seeds."""

from __future__ import annotations

import numpy as np
import pytest

from pdesurrogate.active.budget import (auc_difference, crossing_cost, matching_fraction, normalised_auc,
                                        paired_bootstrap)

COST = np.array([[0.0, 1, 2, 3, 4]] * 2)
BASELINE = np.array([[1.0, 0.9, 0.7, 0.55, 0.4]] * 2)  # both seeds end at 0.4 after cost 4
ACTIVE = np.array([[1.0, 0.6, 0.4, 0.3, 0.2],   # seed a reaches 0.4 at cost 2
                   [1.0, 0.8, 0.6, 0.4, 0.3]])  # seed b at cost 3


def test_crossing_is_linear_between_rounds_and_inf_when_never_reached():
    assert crossing_cost(COST[0], ACTIVE[0], 0.4) == 2.0
    assert crossing_cost(COST[0], ACTIVE[0], 0.5) == pytest.approx(1.5)  # half-way from 0.6 to 0.4
    assert crossing_cost(COST[0], ACTIVE[0], 1.0) == 0.0
    assert crossing_cost(COST[0], ACTIVE[0], 0.1) == float("inf")


def test_normalised_auc_by_hand():
    # Trapezoids (1+.6)/2 + (.6+.4)/2 + (.4+.3)/2 + (.3+.2)/2 = 1.9 over a cost of 4.
    assert normalised_auc(COST[0], ACTIVE[0], 4.0) == pytest.approx(1.9 / 4)
    # Up to cost 1.5: (1+.6)/2 + (.6+.5)/2 · 0.5 = 1.075 over 1.5.
    assert normalised_auc(COST[0], ACTIVE[0], 1.5) == pytest.approx(1.075 / 1.5)
    # Baseline: (.95 + .8 + .625 + .475)/4 = 0.7125; seed b: (.9 + .7 + .5 + .35)/4 = 0.6125.
    assert normalised_auc(COST[0], BASELINE[0], 4.0) == pytest.approx(0.7125)
    expected = ((0.475 - 0.7125) + (0.6125 - 0.7125)) / 2  # the mean of the paired differences
    assert expected == pytest.approx(-0.16875)
    assert auc_difference(COST, ACTIVE, COST, BASELINE) == pytest.approx(expected)


def test_paired_bootstrap_of_the_matching_fraction_by_hand():
    # Mean active curve [1, .7, .5, .35, .25] reaches 0.4 at 2 + (0.5 − 0.4)/(0.5 − 0.35) = 2.667 of 4.
    assert matching_fraction(COST, ACTIVE, COST, BASELINE) == pytest.approx(2 / 3)
    interval = paired_bootstrap(matching_fraction, (COST, ACTIVE, COST, BASELINE), np.random.default_rng(0))
    # Exhaustively: seeds (a,a) → 0.5, (b,b) → 0.75, (a,b) and (b,a) → 2/3.
    assert interval.exhaustive and interval.resamples == 4
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((2 / 3, 0.5, 0.75))


def test_pairing_is_kept_and_unreached_stays_inf():
    # Seed b's baseline is much better: the pairing makes its resample unreachable for active learning.
    baseline = np.array([[1.0, 0.9, 0.7, 0.55, 0.4], [1.0, 0.5, 0.3, 0.2, 0.1]])
    interval = paired_bootstrap(matching_fraction, (COST, ACTIVE, COST, baseline), np.random.default_rng(0))
    # (a,a): 0.5; (b,b): level 0.1, never reached; mixed: level 0.25, which the mean
    # curve [1, .7, .5, .35, .25] reaches at its last round: 4 of 4.
    assert interval.low == 0.5 and interval.high == float("inf")
    assert interval.as_dict()["high"] is None
    assert interval.estimate == pytest.approx(1.0)
    assert np.isfinite(paired_bootstrap(matching_fraction, (COST[:1], ACTIVE[:1], COST[:1], baseline[:1]),
                                        np.random.default_rng(0)).high)


def test_many_seeds_draw_resamples_and_cover_the_estimate():
    rng = np.random.default_rng(1)
    values = rng.normal(1.0, 0.1, size=(12, 1))
    interval = paired_bootstrap(lambda v: float(v.mean()), (values,), rng, resamples=2000)
    assert not interval.exhaustive and interval.resamples == 2000
    # The bootstrap interval of a mean is about ± 1.96 σ/√n wide.
    half = 1.96 * values.std(ddof=1) / np.sqrt(12)
    assert interval.high - interval.low == pytest.approx(2 * half, rel=0.2)
    assert interval.low < interval.estimate < interval.high
