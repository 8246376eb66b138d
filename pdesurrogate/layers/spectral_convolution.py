"""Spectral convolution: a learned linear map on the lowest Fourier modes of a periodic field."""

from __future__ import annotations

import math

import torch
from torch import nn

from .spectral_transforms import padded_irfft2, truncated_rfft2


class SpectralConv2d(nn.Module):
    """Multiply the lowest ``modes`` frequencies per direction by learned complex matrices.

    Kept wavenumbers (integer, ``rfft2`` layout): ``ky ∈ {−modes, …, modes−1}`` along y and
    ``kx ∈ {0, …, modes−1}`` along x, i.e. ``2·modes × modes`` complex ``in × out`` matrices.
    ``modes`` is exactly the original FNO's ``modes1`` (= ``modes2``; Li et al. 2021 keep the two
    corner blocks ``[:modes1]`` and ``[-modes1:]`` along y and ``[:modes2]`` along x). In
    ``neuraloperator`` ≥ 0.3, which counts all kept modes per axis, the same set is
    ``n_modes=(2·modes, 2·modes − 2)``.

    Resolution independent: with ``torch.fft``'s default normalisation (``norm="backward"``) the
    forward transform is an unnormalised sum, so a band-limited field's coefficients on an
    ``ny × nx`` grid are ``ny·nx`` times its continuous Fourier coefficients; the inverse divides
    by ``ny·nx``. The weights multiply coefficients linearly, so the two factors cancel and one
    set of weights gives the same output field on any grid (the coefficients themselves are not
    the same). On a grid too coarse for ``modes`` only the representable modes are used.

    The transforms are pruned (the y-transform runs only over the ``modes`` kept x-columns, which
    halves FFT work compared with ``rfft2``/``irfft2``) and carry their own adjoints as gradients
    (see :mod:`.spectral_transforms`). Under autocast the
    layer runs in float32: cuFFT in half precision accepts only power-of-two sizes and loses the
    small high-frequency coefficients that the weights act on.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        if modes < 1:
            raise ValueError(f"modes must be >= 1 (got {modes})")
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        # Real storage (…, 2) rather than a complex parameter: optimisers, weight decay and
        # gradient all-reduce (gloo/NCCL) then treat it like any other float tensor.
        std = math.sqrt(2.0 / (in_channels + out_channels)) / math.sqrt(2.0)
        self.weight = nn.Parameter(torch.randn(in_channels, out_channels, 2 * modes, modes, 2) * std)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

    def kept_modes(self, ny: int, nx: int) -> tuple[int, int]:
        """Modes used on an ``ny × nx`` grid: ``(along y per sign, along x)``."""
        return min(self.modes, ny // 2), min(self.modes, nx // 2 + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Half precision is lifted to float32; float32 and float64 run as they come, so a model
        # cast with ``.double()`` computes in float64 throughout (gradient checks, inverse problems).
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.dtype in (torch.float16, torch.bfloat16):
                x = x.float()
            return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        ny, nx = x.shape[-2:]
        my, mx = self.kept_modes(ny, nx)
        weight = torch.view_as_complex(self.weight.to(x.dtype))
        if (my, mx) != (self.modes, self.modes):  # a grid too coarse for all modes
            weight = torch.cat((weight[:, :, :my, :mx], weight[:, :, 2 * self.modes - my :, :mx]), dim=-2)
        mixed = torch.einsum("bixy,ioxy->boxy", truncated_rfft2(x, my, mx), weight)
        return padded_irfft2(mixed, ny, nx)
