"""Spectral metrics on a non-square box: physical wavenumbers, band edges, Parseval, known amplitudes."""

from __future__ import annotations

import math

import pytest
import torch

from pdesurrogate.evaluation import metrics

# 8 (y) × 16 (x) points on a box L_y = 2, L_x = 1: Nyquist π·16/1 along x, π·8/2 along y, so the
# band scale is k_N = π·min(16, 4) = 4π and the edges are k = π (low|mid) and 2π (mid|high).
NY, NX, LY, LX = 8, 16, 2.0, 1.0
LENGTHS = (LY, LX)


def mode(mx: int, my: int, amplitude: float = 1.0) -> torch.Tensor:
    y = torch.arange(NY, dtype=torch.float64)[:, None] * LY / NY
    x = torch.arange(NX, dtype=torch.float64)[None, :] * LX / NX
    return amplitude * torch.cos(2 * math.pi * (mx * x / LX + my * y / LY))


@pytest.mark.parametrize("mx,my,band", [
    (0, 1, "low"),   # |k| = π = k_N/4, on the low|mid edge: inside (0, k_N/4]
    (0, 2, "mid"),   # 2π = k_N/2: the mid|high edge, inside mid
    (1, 0, "mid"),   # 2π along x: the same physical wavenumber as (0, 2)
    (0, 3, "high"),  # 3π
    (3, 0, "high"),  # 6π, beyond the y axis' Nyquist 4π: still counted (the whole spectrum)
])
def test_a_single_mode_lands_in_its_band_with_its_amplitude(mx, my, band):
    error = mode(mx, my, amplitude=0.3)[None]
    bands = metrics.spectral_band_errors(error, torch.zeros_like(error), domain_lengths=LENGTHS)
    # cos has two modes of amplitude A/2: band error sqrt(2 (A/2)²) = A/√2.
    for name, value in bands.items():
        assert value.item() == pytest.approx(0.3 / math.sqrt(2) if name == band else 0.0, abs=1e-12), name


def test_parseval_and_equal_spacing_default_on_a_non_square_grid():
    generator = torch.Generator().manual_seed(0)
    error = torch.randn(3, NY, NX, generator=generator, dtype=torch.float64)
    bands = metrics.spectral_band_errors(error, torch.zeros_like(error), domain_lengths=LENGTHS)
    total = sum(b.square() for b in bands.values()) + error.mean(dim=(-2, -1)).square()
    torch.testing.assert_close(total, error.square().mean(dim=(-2, -1)))
    # Equal spacing (the default) is a box (8, 16): a y mode 1 is then |k| = 2π/8, in the low band.
    default = metrics.spectral_band_errors(mode(0, 1)[None], torch.zeros(1, NY, NX, dtype=torch.float64))
    assert default["low"].item() == pytest.approx(1 / math.sqrt(2))


def test_spectrum_log_ratio_is_log_four_for_twice_the_amplitude():
    truth = (mode(0, 1) + mode(0, 2) + mode(3, 0))[None]
    ratios = metrics.spectrum_log_ratio(2 * truth, truth, domain_lengths=LENGTHS)
    for name in ("low", "mid", "high"):
        assert ratios[name].item() == pytest.approx(math.log(4), abs=1e-12), name
    shells, energy, nyquist = metrics.shell_spectrum(truth, LENGTHS)
    assert nyquist == pytest.approx(2.0)  # k_N = 4π, in units of 2π/L_x
    # Shells every π (the y fundamental, the smaller one), up to k_N.
    torch.testing.assert_close(shells, torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], dtype=torch.float64))
    # Parseval: Σ E = ½ mean f².
    assert energy.sum().item() == pytest.approx(0.5 * truth.square().mean().item())
