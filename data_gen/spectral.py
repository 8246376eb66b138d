"""Spectral operations on periodic fields: truncation to a coarser grid and spectra."""

from __future__ import annotations

import torch

from .checks import check_resolution, require
from .grid import integer_wavenumbers, rfft_weights


def _lone(field: torch.Tensor) -> bool:
    return field.numel() == field.shape[-2] * field.shape[-1]


def rfft2(field: torch.Tensor, norm: str = "backward") -> torch.Tensor:
    """``torch.fft.rfft2`` whose result for one sample does not depend on its batchmates.

    Torch's CPU FFT (MKL) computes a lone 2-D transform by another code path than a batch of
    two or more, and the two differ in the last bits; in a chaotic flow that difference grows,
    so a sample simulated alone would not match the same sample simulated in a batch. Batches
    of any size ≥ 2 agree bit for bit, so a lone transform is paired with a zero field.
    """
    if not _lone(field):
        return torch.fft.rfft2(field, norm=norm)
    pair = torch.stack((field.reshape(field.shape[-2:]), torch.zeros_like(field.reshape(field.shape[-2:]))))
    return torch.fft.rfft2(pair, norm=norm)[0].reshape(*field.shape[:-1], -1)


def irfft2(coeffs: torch.Tensor, s: tuple[int, int], norm: str = "backward") -> torch.Tensor:
    """``torch.fft.irfft2`` with the batch-invariance of :func:`rfft2`."""
    if not _lone(coeffs):
        return torch.fft.irfft2(coeffs, s=s, norm=norm)
    flat = coeffs.reshape(coeffs.shape[-2:])
    return torch.fft.irfft2(torch.stack((flat, torch.zeros_like(flat))), s=s, norm=norm)[0].reshape(
        *coeffs.shape[:-2], *s
    )


def spectral_truncate(field: torch.Tensor, n_out: int) -> torch.Tensor:
    """Resample a periodic field ``(..., n, n)`` to ``(..., n_out, n_out)`` by spectral truncation.

    Keeps the Fourier modes with ``|kx|, |ky| < n_out/2`` and drops the rest, so a field whose
    spectrum already fits is reproduced exactly at the coarse points (unlike striding, which
    aliases the dropped modes onto the kept ones). The coarse Nyquist mode is dropped because it
    cannot be represented symmetrically. Point values keep their scale.
    """
    n = field.shape[-1]
    require(field.shape[-2] == n, "field", "a square (..., n, n) array", tuple(field.shape))
    check_resolution(n_out, "saved_resolution")
    require(n_out <= n, "saved_resolution", f"<= the simulated resolution {n}", n_out)
    if n_out == n:
        return field
    half = n_out // 2
    coeffs = rfft2(field, norm="forward")
    kept = torch.zeros(*field.shape[:-2], n_out, half + 1, dtype=coeffs.dtype, device=coeffs.device)
    kept[..., :half, :half] = coeffs[..., :half, :half]
    kept[..., n_out - half + 1 :, :half] = coeffs[..., n - half + 1 :, :half]
    return irfft2(kept, s=(n_out, n_out), norm="forward")


def isotropic_spectrum(field: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shell-summed power ``E(k) = ½ Σ_{k-½<|k|≤k+½} |f̂_k|²`` of a field ``(..., n, n)``.

    With ``f̂`` normalised so that ``Σ E(k) = ½ mean(f²)`` (Parseval). Returns ``(k, E)`` with
    integer shell wavenumbers ``k = 0 … n/2``.
    """
    n = field.shape[-1]
    coeffs = torch.fft.rfft2(field, norm="forward")
    power = 0.5 * coeffs.abs() ** 2 * rfft_weights(n, field.dtype, field.device)
    kx, ky = integer_wavenumbers(n, torch.float32, field.device)
    shell = torch.sqrt(ky**2 + kx**2).round().long().clamp(max=n // 2)
    flat = power.reshape(*power.shape[:-2], -1)
    spectrum = torch.zeros(*power.shape[:-2], n // 2 + 1, dtype=power.dtype, device=power.device)
    spectrum.index_add_(-1, shell.reshape(-1), flat)
    return torch.arange(n // 2 + 1, device=field.device), spectrum


def velocity_symbols(grid) -> torch.Tensor:
    """``(2, n, n//2+1)`` complex multipliers taking ``ω̂`` to ``(û, v̂)``.

    ``u = ∂ψ/∂y, v = −∂ψ/∂x`` with ``Δψ = −ω``: ``û = i ky ω̂/|k|², v̂ = −i kx ω̂/|k|²``; the mean
    flow (``k = 0``) is zero.
    """
    kx, ky = grid.wavenumbers()
    k2 = -grid.laplacian_symbol()
    inverse_k2 = torch.where(k2 > 0, 1 / torch.where(k2 > 0, k2, torch.ones_like(k2)), torch.zeros_like(k2))
    return torch.stack((1j * ky * inverse_k2, -1j * kx * inverse_k2)).to(grid.complex_dtype)
