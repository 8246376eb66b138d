"""The two Fourier transforms of a spectral convolution, restricted to the kept modes.

``truncated_rfft2`` maps a real field ``(…, ny, nx)`` to its modes ``ky ∈ [0, my) ∪ [−my, 0)``,
``kx ∈ [0, mx)``, laid out ``(…, 2·my, mx)``; ``padded_irfft2`` is its inverse on fields with no
other modes. Both prune: the y-transform runs over the ``mx`` kept columns only.

Each is a linear map whose adjoint is (up to the Hermitian weights of the one-sided x-spectrum)
the other one, so their gradients are written as such rather than left to autograd, which would
differentiate through the slicing and zero-padding with full-size zero fills and copies.
"""

from __future__ import annotations

import torch


def _truncated_rfft2(x: torch.Tensor, my: int, mx: int) -> torch.Tensor:
    ny = x.shape[-2]
    spectrum = torch.fft.fft(torch.fft.rfft(x, dim=-1)[..., :mx], dim=-2)
    return torch.cat((spectrum[..., :my, :], spectrum[..., ny - my :, :]), dim=-2)


def _padded_irfft2(modes: torch.Tensor, ny: int, nx: int) -> torch.Tensor:
    my = modes.shape[-2] // 2
    padded = modes.new_zeros(*modes.shape[:-2], ny, modes.shape[-1])
    padded[..., :my, :] = modes[..., :my, :]
    padded[..., ny - my :, :] = modes[..., my:, :]
    # irfft zero-pads the missing high x-wavenumbers itself.
    return torch.fft.irfft(torch.fft.ifft(padded, dim=-2), n=nx, dim=-1)


def _column_weights(mx: int, nx: int, interior: float, like: torch.Tensor) -> torch.Tensor:
    """``interior`` on the columns ``0 < kx < nx/2`` that stand for a ±kx pair, 1 on ``kx = 0, nx/2``."""
    weights = torch.full((mx,), interior, dtype=like.real.dtype, device=like.device)
    weights[0] = 1.0
    if nx % 2 == 0 and mx == nx // 2 + 1:
        weights[-1] = 1.0
    return weights


class _TruncatedRFFT2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, my: int, mx: int):
        ctx.grid = tuple(x.shape[-2:])
        return _truncated_rfft2(x, my, mx)

    @staticmethod
    def backward(ctx, grad):
        ny, nx = ctx.grid
        # Adjoint of the one-sided transform: a column kx > 0 appears once in the spectrum but
        # twice (±kx) in irfft's synthesis, hence the weight 1/2.
        weights = _column_weights(grad.shape[-1], nx, 0.5, grad)
        return _padded_irfft2(grad * weights, ny, nx) * (ny * nx), None, None


class _PaddedIRFFT2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, modes, ny: int, nx: int):
        ctx.grid, ctx.modes = (ny, nx), (modes.shape[-2] // 2, modes.shape[-1])
        return _padded_irfft2(modes, ny, nx)

    @staticmethod
    def backward(ctx, grad):
        ny, nx = ctx.grid
        my, mx = ctx.modes
        # Adjoint of the synthesis: a column kx > 0 contributes its ±kx pair, hence the weight 2.
        weights = _column_weights(mx, nx, 2.0, grad) / (ny * nx)
        return _truncated_rfft2(grad, my, mx) * weights, None, None


def truncated_rfft2(x: torch.Tensor, my: int, mx: int) -> torch.Tensor:
    """Modes ``ky ∈ [0, my) ∪ [−my, 0)``, ``kx ∈ [0, mx)`` of ``rfft2(x)``, shaped ``(…, 2·my, mx)``."""
    return _TruncatedRFFT2.apply(x, my, mx)


def padded_irfft2(modes: torch.Tensor, ny: int, nx: int) -> torch.Tensor:
    """The real ``ny × nx`` field whose ``rfft2`` holds ``modes`` (as laid out above) and zeros elsewhere."""
    return _PaddedIRFFT2.apply(modes, ny, nx)
