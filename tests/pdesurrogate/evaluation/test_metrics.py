"""Evaluation metrics against values computed by hand."""

import math

import pytest
import torch

from pdesurrogate.evaluation import (
    DEFAULT_BANDS,
    FRAME_METRICS,
    correlation_time,
    enstrophy,
    max_error,
    mean_error,
    navier_stokes_energy,
    nrmse,
    pearson_correlation,
    potential_enstrophy,
    relative_drift,
    relative_l2,
    rmse,
    shallow_water_energy,
    spectral_band_errors,
    spectrum_log_ratio,
    vrmse,
)

torch.set_num_threads(1)
F64 = torch.float64


def mode(n, kx, ky, wave=torch.cos, length=1.0):
    """``wave(2π (kx x + ky y) / L)`` on the ``n × n`` grid ``x_i = i L / n``, laid out ``(y, x)``."""
    c = torch.arange(n, dtype=F64) * length / n
    y, x = torch.meshgrid(c, c, indexing="ij")
    return wave(2 * math.pi * (kx * x + ky * y) / length)


def close(actual, expected):
    torch.testing.assert_close(actual, torch.as_tensor(expected, dtype=F64).expand_as(actual), rtol=1e-10, atol=1e-12)


# --- pointwise errors ------------------------------------------------------------------------------


def test_pointwise_errors_per_frame():
    truth = torch.ones(2, 3, 4, 4, dtype=F64)
    prediction = truth.clone()
    prediction[0, 1, 2, 3] = 3.0  # one point off by 2 in one frame
    prediction[1, 2] = 0.5  # a whole frame off by −0.5
    expected_rmse = torch.zeros(2, 3, dtype=F64)
    expected_rmse[0, 1] = math.sqrt(4 / 16)
    expected_rmse[1, 2] = 0.5
    close(rmse(prediction, truth), expected_rmse)
    # ‖t‖ = 4 on a 4 × 4 grid of ones.
    close(relative_l2(prediction, truth), expected_rmse * 4 / 4)
    expected_max = torch.zeros(2, 3, dtype=F64)
    expected_max[0, 1], expected_max[1, 2] = 2.0, 0.5
    close(max_error(prediction, truth), expected_max)
    close(nrmse(prediction, truth, scale=0.25), expected_rmse / 0.25)
    assert rmse(prediction.float(), truth.float()).dtype == F64


def test_relative_l2_honours_eps():
    truth = torch.zeros(1, 1, 2, 2, dtype=F64)
    prediction = torch.full_like(truth, 1.0)  # ‖e‖ = 2, ‖t‖ = 0
    close(relative_l2(prediction, truth, eps=0.5), 4.0)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan])
def test_nrmse_refuses_a_scale_that_is_not_positive(scale):
    field = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="scale"):
        nrmse(field, field, scale)


def test_vrmse_of_the_spatial_mean_is_one():
    truth = torch.randn(3, 2, 8, 8, dtype=F64, generator=torch.Generator().manual_seed(0))
    prediction = truth.mean(dim=(-2, -1), keepdim=True).expand_as(truth)
    close(vrmse(prediction, truth, eps=0.0), 1.0)


def test_vrmse_honours_eps_on_a_constant_truth():
    truth = torch.full((1, 1, 4, 4), 7.0, dtype=F64)
    prediction = truth + 0.3  # mse 0.09, var_xy(truth) 0
    close(vrmse(prediction, truth, eps=1e-4), math.sqrt(0.09 / 1e-4))
    close(vrmse(prediction, truth), math.sqrt(0.09 / 1e-7))


def test_vrmse_hand_value():
    truth = torch.tensor([[[[0.0, 2.0], [0.0, 2.0]]]], dtype=F64)  # var 1
    prediction = truth + torch.tensor([[[[1.0, -1.0], [1.0, 1.0]]]], dtype=F64)  # mse 1
    close(vrmse(prediction, truth, eps=1.0), math.sqrt(1 / 2))


@pytest.mark.parametrize(
    "metric", [*FRAME_METRICS.values(), spectral_band_errors, spectrum_log_ratio, mean_error]
)
def test_shape_mismatch_is_refused(metric):
    with pytest.raises(ValueError, match="same shape"):
        metric(torch.zeros(2, 3, 8, 8), torch.zeros(2, 4, 8, 8))


def test_frame_metrics_keep_leading_dims():
    field = torch.randn(2, 3, 5, 8, 8)
    for name, metric in FRAME_METRICS.items():
        assert metric(field + 1, field).shape == (2, 3, 5), name


# --- spectral band errors --------------------------------------------------------------------------


def test_default_bands():
    assert DEFAULT_BANDS == {"low": (0.0, 0.25), "mid": (0.25, 0.5), "high": (0.5, math.inf)}


def test_band_errors_of_known_modes():
    # n = 16, k_N = 8: low 0 < |k| ≤ 2, mid 2 < |k| ≤ 4, high |k| > 4.
    n = 16
    low = mode(n, 1, -1)  # |k| = √2, mean square ½
    mid = mode(n, -2, 3, torch.sin)  # |k| = √13 ≈ 3.6
    high = mode(n, 3, -5)  # |k| = √34 ≈ 5.8
    corner = mode(n, 8, 8)  # (−1)^(i+j): the Nyquist corner, mean square 1
    a = torch.tensor([1.0, 2.0], dtype=F64).reshape(2, 1, 1, 1)  # per sample
    b = torch.tensor([0.5, -1.0, 3.0], dtype=F64).reshape(1, 3, 1, 1)  # per frame
    offset, amplitude_mid, amplitude_high, amplitude_corner = 0.7, 1.5, -0.4, 0.25
    error = a * (low + offset) + b * (amplitude_mid * mid + amplitude_high * high + amplitude_corner * corner)
    truth = torch.randn(2, 3, n, n, dtype=F64, generator=torch.Generator().manual_seed(1))
    errors = spectral_band_errors(truth + error, truth)
    a, b = a.reshape(2, 1), b.reshape(1, 3)
    close(errors["low"], a.abs() * math.sqrt(0.5))
    close(errors["mid"], b.abs() * abs(amplitude_mid) * math.sqrt(0.5))
    close(errors["high"], b.abs() * math.sqrt(amplitude_high**2 / 2 + amplitude_corner**2))
    close(mean_error(truth + error, truth), a.abs() * offset)


def test_band_errors_satisfy_parseval():
    generator = torch.Generator().manual_seed(2)
    truth = torch.randn(2, 3, 16, 16, dtype=F64, generator=generator)
    prediction = torch.randn(2, 3, 16, 16, dtype=F64, generator=generator) + 0.3
    errors = spectral_band_errors(prediction, truth)
    total = sum(e.square() for e in errors.values()) + mean_error(prediction, truth).square()
    close(total, rmse(prediction, truth).square())


@pytest.mark.parametrize("kx, ky", [(5, -3), (-5, 3), (5, 3), (-3, -5), (3, -5)])
def test_a_mode_in_one_quadrant_is_binned(kx, ky):
    # Regression: a previous benchmark binned only one quadrant of the spectrum. n = 64, k_N = 32:
    # |k| = √34 ≈ 5.8 is in the low band (≤ 8) whatever the signs.
    field = torch.stack([mode(64, kx, ky), mode(64, kx, ky, torch.sin)]).unsqueeze(0)
    errors = spectral_band_errors(field, torch.zeros_like(field))
    close(errors["low"], math.sqrt(0.5))
    close(errors["mid"], 0.0)
    close(errors["high"], 0.0)


def test_band_upper_edges_are_inclusive():
    # n = 16: |k| = 2 is the last of low, |k| = 4 the last of mid, |k| = 5 the first of high.
    field = torch.stack([mode(16, 0, -2), mode(16, 4, 0), mode(16, -3, 4)]).unsqueeze(0)
    errors = spectral_band_errors(field, torch.zeros_like(field))
    half = math.sqrt(0.5)
    close(errors["low"], torch.tensor([[half, 0, 0]], dtype=F64))
    close(errors["mid"], torch.tensor([[0, half, 0]], dtype=F64))
    close(errors["high"], torch.tensor([[0, 0, half]], dtype=F64))


def test_custom_bands():
    field = mode(16, 2, 2)[None, None]  # |k| = √8 ≈ 2.8
    errors = spectral_band_errors(field, torch.zeros_like(field), bands={"a": (0.0, 0.3), "b": (0.3, 0.4)})
    close(errors["a"], 0.0)
    close(errors["b"], math.sqrt(0.5))
    with pytest.raises(ValueError, match="band"):
        spectral_band_errors(field, field, bands={"bad": (0.5, 0.25)})


# --- spectrum log ratio ----------------------------------------------------------------------------


def test_spectrum_log_ratio():
    n = 16  # shells: low 1–2, mid 3–4, high 5–8
    low, mid, high = mode(n, 1, -1), mode(n, -2, 3, torch.sin), mode(n, 3, -5)
    truth = (low + mid + high + 2.0)[None, None]
    for value in spectrum_log_ratio(truth, truth).values():
        close(value, 0.0)
    for value in spectrum_log_ratio(2 * truth, truth).values():
        close(value, math.log(4))
    # Mean changed (ignored), low kept, mid halved, high tripled.
    prediction = (low + 0.5 * mid + 3 * high - 1.0)[None, None]
    ratios = spectrum_log_ratio(prediction, truth)
    close(ratios["low"], 0.0)
    close(ratios["mid"], math.log(0.25))
    close(ratios["high"], math.log(9))


# --- correlation -----------------------------------------------------------------------------------


def test_pearson_correlation_hand_values():
    truth = mode(8, 1, 0)[None, None]
    close(pearson_correlation(3 * truth + 5, truth), 1.0)
    close(pearson_correlation(-truth, truth), -1.0)
    close(pearson_correlation(mode(8, 0, 2)[None, None], truth), 0.0)


def test_correlation_time_of_a_decorrelating_sequence():
    # a, b: orthogonal, zero mean, same norm, so corr(cos θ a + sin θ b, a) = cos θ exactly.
    a, b = mode(16, 1, 0), mode(16, 0, 2)
    theta = 0.1 * torch.arange(11, dtype=F64)  # frames 0 … 10
    times = 0.5 * torch.arange(11, dtype=F64)
    rollout = torch.cos(theta)[:, None, None] * a + torch.sin(theta)[:, None, None] * b
    truth = a.expand(11, 16, 16)
    correlation = pearson_correlation(rollout[None], truth[None])
    close(correlation, torch.cos(theta)[None])
    # cos 0.3 ≈ 0.955 > 0.95 > cos 0.4 ≈ 0.921 (frame 4); cos 0.6 ≈ 0.825 > 0.8 > cos 0.7 ≈ 0.765 (frame 7);
    # cos 1.0 ≈ 0.54 never falls below 0.5 within the horizon.
    close(correlation_time(correlation, times, 0.95), 2.0)
    close(correlation_time(correlation, times, 0.8), 3.5)
    assert correlation_time(correlation, times, 0.5).item() == math.inf


def test_correlation_time_per_sample_and_shape_check():
    correlation = torch.tensor([[1.0, 0.7, 0.9], [1.0, 0.95, 0.85]], dtype=F64)
    close(correlation_time(correlation, torch.tensor([0.0, 1.0, 2.0]), 0.9), torch.tensor([1.0, 2.0], dtype=F64))
    with pytest.raises(ValueError, match="times"):
        correlation_time(correlation, torch.tensor([0.0, 1.0]), 0.9)


# --- invariants ------------------------------------------------------------------------------------


def test_navier_stokes_energy_of_a_single_mode():
    # ω = sin(2πkx/L): ψ = ω (L/2πk)², u = ∂ψ/∂y = 0, v = −∂ψ/∂x = −(L/2πk) cos(2πkx/L),
    # so ½ mean v² = ¼ (L/2πk)². The mean of ω (here 3) carries no velocity.
    length, k = 2.5, 3
    omega = mode(16, k, 0, torch.sin, length) + 3.0
    close(navier_stokes_energy(omega[None, None], length), 0.25 * (length / (2 * math.pi * k)) ** 2)


def test_navier_stokes_energy_of_an_oblique_mode():
    # ω = cos(2π(−2x + 3y)/L): |u| = |∇ψ| = |ω̂-amplitude| / |k_angular|, ½ mean |u|² = ¼ / |k|².
    length = 1.0
    omega = torch.stack([mode(16, -2, 3), 2 * mode(16, -2, 3)])[:, None]
    k_squared = (2 * math.pi) ** 2 * 13
    close(navier_stokes_energy(omega, length), torch.tensor([[0.25], [1.0]], dtype=F64) / k_squared)


def test_enstrophy():
    omega = (3 * mode(8, 1, -2) + 2.0)[None, None]  # mean ω² = 9/2 + 4
    close(enstrophy(omega), 0.5 * (4.5 + 4.0))


def test_shallow_water_energy_and_potential_enstrophy():
    h = torch.tensor([[[[1.0, 2.0], [2.0, 1.0]]]], dtype=F64)
    u = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]], dtype=F64)
    v = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]], dtype=F64)
    g = 10.0
    # Points: h=1,|u|²=1 → ½ + 5; h=2,|u|²=1 → 1 + 20; mean of (5.5, 21, 21, 5.5).
    close(shallow_water_energy(h, u, v, g), (5.5 + 21) / 2)
    zeta = torch.tensor([[[[0.0, 1.0], [-1.0, 2.0]]]], dtype=F64)
    f = 1.0
    # ½ (ζ+f)²/h: ½·1/1, ½·4/2, ½·0/2, ½·9/1 → mean (0.5 + 1 + 0 + 4.5) / 4.
    close(potential_enstrophy(h, zeta, f), 6.0 / 4)


def test_relative_drift():
    predicted = torch.tensor([[1.1, 0.5], [-2.0, 3.0]], dtype=F64)
    true = torch.tensor([[1.0, 1.0], [-1.0, 3.0]], dtype=F64)
    close(relative_drift(predicted, true), torch.tensor([[0.1, -0.5], [-1.0, 0.0]], dtype=F64))
    with pytest.raises(ValueError, match="same shape"):
        relative_drift(predicted, true[0])
