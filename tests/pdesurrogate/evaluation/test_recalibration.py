"""Post-hoc calibration on synthetic ensembles whose truth is known: split-conformal intervals cover
the nominal level on an exchangeable set, per-ν bins fix a ν-dependent miscalibration, and a
variance scale fixes an overconfident ensemble."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pdesurrogate.evaluation.recalibration import (conformal_rank_quantile, ensemble_scores, fit_conformal,
                                                   scale_members, variance_scale)

LEVELS = (0.5, 0.9)


def heteroscedastic(rng, samples: int, overconfidence, members: int = 3, grid: int = 8, frames: int = 2):
    """Truth ``c + σ z₀`` and members ``c + k σ z_m``: a member spread of the right shape but ``k``
    times too small (k < 1: overconfident); σ varies over points, samples and frames, so an
    interval must follow the spread to cover. ``overconfidence`` may depend on the sample's ν."""
    viscosity = 10 ** rng.uniform(-4, -3, samples)
    k = np.broadcast_to(overconfidence(viscosity) if callable(overconfidence) else overconfidence, (samples,))
    shape = (samples, frames, 1, grid, grid)
    sigma = np.exp(rng.normal(0, 0.5, shape)) * (1 + np.arange(frames))[None, :, None, None, None]
    centre = rng.normal(0, 1, shape)
    truth = centre + sigma * rng.normal(size=shape)
    ensemble = centre + k[None, :, None, None, None, None] * sigma * rng.normal(size=(members, *shape))
    return ensemble, truth, viscosity


def test_the_rank_quantile_is_the_finite_sample_conformal_one():
    scores = np.arange(1, 10)  # N = 9: ⌈10 · 0.5⌉ = 5th, ⌈10 · 0.9⌉ = 9th, ⌈10 · 0.95⌉ = 10th > N
    assert [conformal_rank_quantile(scores, a) for a in (0.5, 0.9)] == [5.0, 9.0]
    assert conformal_rank_quantile(scores, 0.95) == math.inf


def test_split_conformal_covers_the_nominal_level_on_an_exchangeable_set():
    rng = np.random.default_rng(0)
    calibration = heteroscedastic(rng, 40, 0.4)
    test = heteroscedastic(rng, 200, 0.4)
    conformal = fit_conformal(*calibration, levels=LEVELS)
    coverage = conformal.coverage(*test).mean(axis=(0, 1, 2))
    n = calibration[1].size // calibration[1].shape[1]  # pooled calibration points per step and variable
    for level, observed in zip(LEVELS, coverage):
        # Coverage given the calibration set is Beta-distributed about [α, α + 1/(N+1)], sd √(α(1−α)/N).
        tolerance = 4 * math.sqrt(level * (1 - level) / n)
        assert level - tolerance <= observed <= level + 1 / (n + 1) + tolerance, (level, observed)
    # Uncalibrated, the Student-t intervals of an ensemble 0.4× too narrow miss by far.
    raw = ensemble_scores(*test[:2], LEVELS)
    assert raw["coverage_50"].mean() < 0.3 and raw["coverage_90"].mean() < 0.75


def test_per_viscosity_bins_fix_a_viscosity_dependent_miscalibration():
    def overconfidence(viscosity):  # too narrow at low ν, nearly right at high ν: one quantile fits neither
        return np.where(viscosity < 10 ** -3.5, 0.3, 0.9)

    rng = np.random.default_rng(1)
    calibration, test = heteroscedastic(rng, 60, overconfidence), heteroscedastic(rng, 200, overconfidence)
    low = test[2] < 10 ** -3.5
    pooled = fit_conformal(*calibration, levels=LEVELS).coverage(*test)[..., 1]
    binned = fit_conformal(*calibration, levels=LEVELS, bins=2).coverage(*test)[..., 1]
    assert pooled[low].mean() < 0.85 and pooled[~low].mean() > 0.95  # right on average, wrong in each half
    assert binned[low].mean() == pytest.approx(0.9, abs=0.03) and binned[~low].mean() == pytest.approx(0.9, abs=0.03)


def test_a_variance_scale_fixes_an_overconfident_ensemble():
    rng = np.random.default_rng(2)
    shape, m = (200, 3, 1, 8, 8), 3

    def draw(samples):  # exchangeable up to scale: truth c + z₀, members c + z_m / 2
        centre = rng.normal(0, 1, (samples, *shape[1:]))
        return centre + 0.5 * rng.normal(size=(m, samples, *shape[1:])), centre + rng.normal(size=(samples, *shape[1:]))

    calibration, test = draw(100), draw(200)
    scale = variance_scale(*calibration)
    # Expected: rms error √(1 + 0.25/M) over √((M+1)/M) · 0.5.
    assert scale == pytest.approx(math.sqrt(1 + 0.25 / m) / (math.sqrt((m + 1) / m) * 0.5), rel=0.03)
    before = ensemble_scores(*test, LEVELS)
    after = ensemble_scores(scale_members(test[0], scale), test[1], LEVELS)
    for level in LEVELS:
        name = f"coverage_{round(100 * level)}"
        assert before[name].mean() < level - 0.12
        assert after[name].mean() == pytest.approx(level, abs=0.015)
    ratio = math.sqrt((m + 1) / m) * np.sqrt(after["spread_squared"].mean() / after["error_squared"].mean())
    assert ratio == pytest.approx(1.0, abs=0.03)
    assert after["crps"].mean() < before["crps"].mean()  # a proper score rewards the honest spread
