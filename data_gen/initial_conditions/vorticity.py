"""Initial vorticity fields ``(batch, n, n)`` on a periodic grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..checks import require
from ..grid import PeriodicGrid
from ..randomness import white_noise
from ..spectral import irfft2, rfft2, velocity_symbols


def _filter_noise(grid: PeriodicGrid, split_seed: int, indices: Sequence[int], envelope: torch.Tensor) -> torch.Tensor:
    """Real white noise shaped in Fourier space by ``envelope`` (``(n, n//2+1)``)."""
    noise = white_noise(split_seed, indices, grid.n, dtype=grid.dtype, device=grid.device)[:, 0]
    return irfft2(rfft2(noise) * envelope, s=(grid.n, grid.n))


def gaussian_random_field(
    grid: PeriodicGrid,
    split_seed: int,
    indices: Sequence[int],
    alpha: float = 2.5,
    tau: float = 7.0,
    sigma: float | None = None,
) -> torch.Tensor:
    """``ω ~ N(0, σ²(−Δ + τ²)^(−α))`` with zero mean; the FNO defaults give σ = τ^(α−1).

    On a unit square the covariance eigenvalues are ``σ²(4π²|k|² + τ²)^(−α)``; on a domain of
    side L the Laplacian's are ``(2π/L)²|k|²``, so the field keeps its law under a change of L
    only through the operator, as written. The pointwise variance matches the FNO generator.
    """
    require(alpha > 1.0, "initial_condition.alpha", "> 1 (a field with finite variance in 2-D)", alpha)
    require(tau > 0, "initial_condition.tau", "> 0", tau)
    if sigma is None:
        sigma = tau ** (alpha - 1.0)
    require(sigma > 0, "initial_condition.sigma", "> 0", sigma)
    eigen = (-grid.laplacian_symbol() + tau**2) ** (-alpha / 2)
    # Real white noise has E|ξ̂_k|² = n²; the factor √2·n gives ω the FNO generator's variance
    # Σ_k 2σ²λ_k^(−α) (it takes the real part of complex noise over the full spectrum).
    envelope = math.sqrt(2.0) * grid.n * sigma * eigen
    envelope = envelope.clone()
    envelope[0, 0] = 0.0
    return _filter_noise(grid, split_seed, indices, envelope)


def velocity_from_vorticity(omega: torch.Tensor, grid: PeriodicGrid) -> tuple[torch.Tensor, torch.Tensor]:
    """``u = ∂ψ/∂y, v = −∂ψ/∂x`` with ``Δψ = −ω`` (mean velocity zero), not dealiased."""
    velocity = irfft2(rfft2(omega).unsqueeze(-3) * velocity_symbols(grid), s=tuple(omega.shape[-2:]))
    return velocity[..., 0, :, :], velocity[..., 1, :, :]


def filtered_velocity(
    grid: PeriodicGrid,
    split_seed: int,
    indices: Sequence[int],
    peak_wavenumber: float = 4.0,
    max_velocity: float = 1.0,
) -> torch.Tensor:
    """Vorticity of a random divergence-free velocity with energy spectrum peaked at ``peak_wavenumber``.

    The streamfunction is white noise filtered so that the shell energy spectrum is
    ``E(k) ∝ (k/k₀)⁴ exp(−2(k/k₀)²)`` (maximal at ``k = k₀``, integer wavenumbers), then the
    field is scaled so that ``max |u| = max_velocity`` in every sample.
    """
    require(0 < peak_wavenumber < grid.n / 3, "initial_condition.peak_wavenumber",
            f"in (0, {grid.n / 3:.4g}) (resolved by the {grid.n}² grid)", peak_wavenumber)
    require(max_velocity > 0, "initial_condition.max_velocity", "> 0", max_velocity)
    kx, ky = grid.integer_wavenumbers()
    k = torch.sqrt(kx**2 + ky**2)
    ratio = k / peak_wavenumber
    # |ψ̂_k|² ∝ E(k)/k³: a shell holds ~2πk modes, each with energy ~ k²|ψ̂|².
    safe_k = torch.where(k > 0, k, torch.ones_like(k))
    psi_envelope = torch.where(k > 0, ratio**2 * torch.exp(-(ratio**2)) * safe_k**-1.5, torch.zeros_like(k))
    omega = _filter_noise(grid, split_seed, indices, psi_envelope * (-grid.laplacian_symbol()))
    u, v = velocity_from_vorticity(omega, grid)
    speed = torch.sqrt(u**2 + v**2).amax(dim=(-2, -1), keepdim=True)
    return omega * (max_velocity / speed)


def taylor_green(grid: PeriodicGrid, wavenumber: int = 1, amplitude: float = 1.0, batch: int = 1) -> torch.Tensor:
    """The Taylor–Green vortex ``ω = 2κA sin(κx) sin(κy)``, ``κ = 2πk/L`` (velocity amplitude A)."""
    require(isinstance(wavenumber, int) and 1 <= wavenumber < grid.n // 3, "initial_condition.wavenumber",
            f"an integer in [1, {grid.n // 3 - 1}]", wavenumber)
    x, y = grid.mesh()
    kappa = 2 * math.pi * wavenumber / grid.length
    omega = 2 * kappa * amplitude * torch.sin(kappa * x) * torch.sin(kappa * y)
    return omega.expand(batch, -1, -1).clone()


def taylor_green_exact(
    grid: PeriodicGrid, time: float, viscosity, drag=0.0, wavenumber: int = 1, amplitude: float = 1.0
) -> torch.Tensor:
    """The exact Taylor–Green vorticity at ``time``: it decays as ``exp(−(2νκ² + μ)t)``.

    Its advection ``u·∇ω`` vanishes identically, so this solves the full nonlinear equation.
    """
    kappa = 2 * math.pi * wavenumber / grid.length
    nu = torch.as_tensor(viscosity, dtype=grid.dtype, device=grid.device).reshape(-1, 1, 1)
    mu = torch.as_tensor(drag, dtype=grid.dtype, device=grid.device).reshape(-1, 1, 1)
    decay = torch.exp(-(2 * nu * kappa**2 + mu) * time)
    return taylor_green(grid, wavenumber, amplitude)[0] * decay
