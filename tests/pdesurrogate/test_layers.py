"""Layers: spectral convolution against the original FNO formula, band limits, embeddings, blocks."""

import math

import pytest
import torch

from pdesurrogate.layers import (
    AttentionBlock, DomainPadding, FiLM, FourierResidualBlock, GridEmbedding2d, ParameterEmbedding,
    ResidualBlock, SinusoidalEmbedding, SpectralConv2d,
)
from pdesurrogate.layers.spectral_transforms import padded_irfft2, truncated_rfft2


def reference_fno_conv(layer: SpectralConv2d, x: torch.Tensor) -> torch.Tensor:
    """SpectralConv2d of Li et al. (2021) with modes1 = modes2 = layer.modes: two corner blocks of rfft2."""
    m = layer.modes
    w = torch.view_as_complex(layer.weight)
    x_ft = torch.fft.rfft2(x)
    out = torch.zeros(x.shape[0], layer.out_channels, x.shape[-2], x.shape[-1] // 2 + 1, dtype=torch.cfloat)
    out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :m, :m], w[:, :, :m])
    out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -m:, :m], w[:, :, m:])
    return torch.fft.irfft2(out, s=x.shape[-2:])


def test_spectral_conv_is_the_original_fno_convolution_with_modes1_equal_modes():
    torch.manual_seed(0)
    layer = SpectralConv2d(3, 4, modes=5)
    x = torch.randn(2, 3, 16, 20)
    torch.testing.assert_close(layer(x), reference_fno_conv(layer, x), rtol=1e-5, atol=1e-6)


def test_spectral_conv_acts_on_one_fourier_mode_as_its_weight():
    # x = cos(2π(kx·x + ky·y)) is two conjugate modes; the output is Re(w·e^{iθ}) for a 1×1 layer.
    layer = SpectralConv2d(1, 1, modes=4)
    n, kx, ky = 16, 2, -3
    idx = torch.arange(n) / n
    phase = 2 * math.pi * (kx * idx[None, :] + ky * idx[:, None])
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 2 * 4 + ky, kx] = torch.tensor([0.5, -2.0])  # row index of ky < 0: 2m + ky
    out = layer(torch.cos(phase)[None, None])[0, 0]
    expected = 0.5 * torch.cos(phase) + 2.0 * torch.sin(phase)  # Re((0.5 − 2i)e^{iθ})
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_coefficients_scale_with_the_grid_and_the_layer_output_does_not():
    # One band-limited field sampled on 16² and 32²: rfft2 (norm="backward") sums over the grid,
    # so its coefficients grow 4×; the inverse's 1/N² undoes it and the layer's output is the same field.
    torch.manual_seed(2)
    layer = SpectralConv2d(1, 2, modes=3)

    def field(n):
        grid = torch.arange(n) / n
        x, y = grid[None, :], grid[:, None]
        return (torch.cos(2 * math.pi * (x + 2 * y)) + 0.5 * torch.sin(2 * math.pi * (2 * x - y)))[None, None]

    coarse, fine = field(16), field(32)
    torch.testing.assert_close(truncated_rfft2(fine, 3, 3), 4 * truncated_rfft2(coarse, 3, 3), rtol=0, atol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(layer(fine)[..., ::2, ::2], layer(coarse), rtol=0, atol=1e-5)


def test_spectral_conv_output_is_band_limited_to_modes():
    torch.manual_seed(1)
    layer = SpectralConv2d(2, 2, modes=3)
    spectrum = torch.fft.rfft2(layer(torch.randn(1, 2, 16, 16))).abs()
    ky = torch.fft.fftfreq(16, 1 / 16)[:, None]
    kx = torch.arange(9)[None, :]
    # Kept: ky ∈ [−3, 2], kx ∈ [0, 2]; at kx = 0 a real field also holds the conjugate ky = +3.
    outside = (kx >= 3) | (ky.abs() > 3) | ((ky == 3) & (kx > 0))
    assert spectrum[..., outside].max() < 1e-5 * spectrum.max()


def test_spectral_conv_runs_in_float32_under_autocast():
    layer = SpectralConv2d(2, 3, modes=4)
    x = torch.randn(2, 2, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x.bfloat16())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, layer(x.bfloat16().float()))


def test_spectral_conv_on_a_grid_coarser_than_its_modes_uses_what_the_grid_holds():
    layer = SpectralConv2d(1, 1, modes=8)
    assert layer.kept_modes(8, 8) == (4, 5)
    assert layer(torch.randn(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_sinusoidal_embedding_values():
    embedding = SinusoidalEmbedding(frequencies=2, period=4.0)
    z = torch.tensor([1.0])
    expected = torch.tensor([[1.0, math.sin(math.pi / 4), math.sin(math.pi / 2), math.cos(math.pi / 4), 0.0]])
    torch.testing.assert_close(embedding(z[:, None]), expected, atol=1e-6, rtol=0)


def test_parameter_embedding_uses_log_viscosity():
    torch.manual_seed(0)
    embedding = ParameterEmbedding(["viscosity", "forcing_amplitude"], dim=8)
    nu = torch.tensor([[1e-3, 0.1]])
    first_layer_input = embedding.sinusoidal(torch.tensor([[math.log(1e-3), 0.1]]))
    torch.testing.assert_close(embedding(nu), embedding.mlp(first_layer_input))


def test_film_is_scale_and_shift_per_channel():
    film = FiLM(embedding_dim=3, channels=2)
    with torch.no_grad():
        linear = film.to_scale_shift[1]
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([1.0, -0.5, 0.25, 2.0]))  # scales 1, −0.5; shifts 0.25, 2
    h = torch.ones(1, 2, 4, 4)
    out = film(h, torch.zeros(1, 3))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([2.0 + 0.25, 0.5 + 2.0]))


def test_grid_embedding_gives_positions_i_over_n():
    out = GridEmbedding2d("linear")(torch.zeros(1, 1, 4, 8))
    torch.testing.assert_close(out[0, 1, 0], torch.arange(8) / 8)
    torch.testing.assert_close(out[0, 2, :, 0], torch.arange(4) / 4)
    out = GridEmbedding2d("periodic")(torch.zeros(1, 1, 4, 8))
    torch.testing.assert_close(out[0, 1, 0], torch.sin(2 * math.pi * torch.arange(8) / 8))
    torch.testing.assert_close(out[0, 4, :, 0], torch.cos(2 * math.pi * torch.arange(4) / 4))


def test_domain_padding_round_trips():
    padding = DomainPadding(0.25)
    x = torch.randn(1, 2, 16, 16)
    padded = padding.pad(x)
    assert padded.shape[-2:] == (20, 20)
    torch.testing.assert_close(padding.unpad(padded, (16, 16)), x)


@pytest.mark.parametrize("block", [
    lambda: ResidualBlock(4, 8, embedding_dim=6),
    lambda: ResidualBlock(8, 8, periodic=False),
    lambda: FourierResidualBlock(4, 8, modes=3, embedding_dim=6),
])
def test_residual_blocks_shapes(block):
    block = block()
    embedding = torch.randn(2, 6) if block.film is not None else None
    assert block(torch.randn(2, block.norm1.num_channels, 8, 8), embedding).shape == (2, 8, 8, 8)


def test_circular_residual_block_commutes_with_periodic_shifts():
    torch.manual_seed(0)
    block = ResidualBlock(4, 4, periodic=True)
    x = torch.randn(1, 4, 8, 8)
    shift = lambda t: torch.roll(t, shifts=(3, -2), dims=(-2, -1))  # noqa: E731
    torch.testing.assert_close(block(shift(x)), shift(block(x)), atol=1e-5, rtol=1e-5)


def test_attention_is_permutation_equivariant_over_grid_points():
    torch.manual_seed(0)
    block = AttentionBlock(8, heads=2)
    x = torch.randn(2, 8, 4, 4)
    assert block(x).shape == x.shape
    # Attention has no notion of position: permuting the points permutes the output.
    flipped = torch.flip(x, dims=(-1,))
    torch.testing.assert_close(block(flipped), torch.flip(block(x), dims=(-1,)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("ny,nx,my,mx", [(8, 8, 2, 3), (8, 10, 4, 6), (6, 7, 2, 4), (8, 8, 4, 5)])
def test_pruned_transforms_have_exact_gradients(ny, nx, my, mx):
    # Their backward passes are hand-written adjoints (Nyquist column and odd sizes included).
    torch.manual_seed(0)
    x = torch.randn(2, 1, ny, nx, dtype=torch.float64, requires_grad=True)
    modes = torch.randn(2, 1, 2 * my, mx, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: truncated_rfft2(t, my, mx), (x,))
    assert torch.autograd.gradcheck(lambda t: padded_irfft2(t, ny, nx), (modes,))


def test_truncated_rfft2_keeps_the_corner_blocks_of_rfft2():
    x = torch.randn(2, 3, 12, 10, dtype=torch.float64)
    full = torch.fft.rfft2(x)
    expected = torch.cat((full[..., :3, :4], full[..., -3:, :4]), dim=-2)
    torch.testing.assert_close(truncated_rfft2(x, 3, 4), expected)
    torch.testing.assert_close(padded_irfft2(expected, 12, 10),
                               torch.fft.irfft2(torch.cat((full[..., :3, :4], torch.zeros(2, 3, 6, 4),
                                                           full[..., -3:, :4]), dim=-2), s=(12, 10)))
