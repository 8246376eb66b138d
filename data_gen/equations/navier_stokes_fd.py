"""2-D incompressible Navier–Stokes in vorticity form, second-order finite differences.

``∂ω/∂t = J(ψ, ω) + ν Δ_h ω + F − μ ω`` with ``J(ψ, ω) = ψ_x ω_y − ψ_y ω_x = −u·∇ω`` and
``Δ_h ψ = −ω`` on the periodic collocated grid of :class:`~data_gen.grid.PeriodicGrid`. The state is
the physical vorticity ``(batch, n, n)``; the scheme is explicit (RK3 or RK4), an independent
cross-check of the spectral solver.
"""

from __future__ import annotations

import torch

from ..grid import PeriodicGrid
from ..spectral import irfft2, rfft2
from .base import StabilityRegion
from .vorticity import VorticityEquation


def _difference(field: torch.Tensor, dim: int) -> torch.Tensor:
    """Undivided centred difference ``f_{i+1} − f_{i−1}`` along ``dim`` (periodic)."""
    return torch.roll(field, -1, dims=dim) - torch.roll(field, 1, dims=dim)


class NavierStokesFD(VorticityEquation):
    """Vorticity–streamfunction finite differences with the Arakawa (1966) Jacobian.

    - Jacobian: ``J = (J⁺⁺ + J⁺ˣ + Jˣ⁺)/3``, the average of the advective form and two flux forms,
      built from centred differences ``D_x, D_y``:
      ``J⁺⁺ = D_xψ D_yω − D_yψ D_xω``, ``J⁺ˣ = D_x(ψ D_yω) − D_y(ψ D_xω)``,
      ``Jˣ⁺ = D_y(ω D_xψ) − D_x(ω D_yψ)``. The average satisfies ``Σ ψ J = Σ ω J = 0`` exactly, so
      with ``ν = μ = F = 0`` the discrete energy ``½ Σ ψω`` and enstrophy ``½ Σ ω²`` are
      conserved by the semi-discrete system (only time stepping changes them).
    - Streamfunction: the 5-point Laplacian ``Δ_h`` is inverted exactly by FFT (its symbol is
      ``−(4/h²)(sin²(k_x h/2) + sin²(k_y h/2))``), with zero mean.
    - Velocity ``u = D_yψ, v = −D_xψ``: its centred divergence ``D_x u + D_y v`` vanishes identically.
    - Diffusion ``ν Δ_h ω`` with the 5-point Laplacian, explicit like everything else.

    Arguments: see :class:`~data_gen.equations.vorticity.VorticityEquation`.
    """

    schemes = ("rk4", "rk3")
    compiles_well = True  # stencils: dozens of elementwise passes that Inductor fuses

    def __init__(self, grid: PeriodicGrid, viscosity, drag=0.0, forcing=None, forcing_amplitude=1.0, *,
                 allow_inviscid: bool = False):
        super().__init__(grid, viscosity, drag, forcing, forcing_amplitude, allow_inviscid=allow_inviscid)
        h = grid.spacing
        kx, ky = grid.wavenumbers()
        minus_laplacian = (4 / h**2) * (torch.sin(kx * h / 2) ** 2 + torch.sin(ky * h / 2) ** 2)
        safe = torch.where(minus_laplacian > 0, minus_laplacian, torch.ones_like(minus_laplacian))
        # ψ̂ = ω̂ / (−Δ_h symbol); the mean of ψ is a gauge and set to zero.
        self._inverse_minus_laplacian = torch.where(minus_laplacian > 0, 1 / safe, torch.zeros_like(safe))

    # --- discrete operators ---------------------------------------------------------------
    def streamfunction(self, vorticity: torch.Tensor) -> torch.Tensor:
        """``ψ`` with ``Δ_h ψ = −ω`` (5-point Laplacian, exact periodic solve), zero mean."""
        n = self.grid.n
        return irfft2(rfft2(vorticity) * self._inverse_minus_laplacian, s=(n, n))

    def laplacian(self, field: torch.Tensor) -> torch.Tensor:
        """The 5-point Laplacian ``Δ_h``."""
        neighbours = (torch.roll(field, 1, -1) + torch.roll(field, -1, -1)
                      + torch.roll(field, 1, -2) + torch.roll(field, -1, -2))
        return (neighbours - 4 * field) / self.grid.spacing**2

    def velocity(self, vorticity: torch.Tensor) -> torch.Tensor:
        """``(u, v) = (D_yψ, −D_xψ)`` stacked as ``(batch, 2, n, n)``."""
        psi = self.streamfunction(vorticity)
        two_h = 2 * self.grid.spacing
        return torch.stack((_difference(psi, -2) / two_h, -_difference(psi, -1) / two_h), dim=1)

    def jacobian(self, psi: torch.Tensor, vorticity: torch.Tensor) -> torch.Tensor:
        """Arakawa's ``J(ψ, ω) = (J⁺⁺ + J⁺ˣ + Jˣ⁺)/3`` (see the class docstring)."""
        return self._jacobian(psi, vorticity, _difference(psi, -1), _difference(psi, -2))

    def _jacobian(self, psi, vorticity, psi_x, psi_y):
        # Undivided differences throughout: every term carries 1/(2h)², applied once at the end.
        omega_x, omega_y = _difference(vorticity, -1), _difference(vorticity, -2)
        total = (
            psi_x * omega_y - psi_y * omega_x  # J⁺⁺
            + _difference(psi * omega_y - vorticity * psi_y, -1)  # D_x parts of J⁺ˣ and Jˣ⁺
            + _difference(vorticity * psi_x - psi * omega_x, -2)  # D_y parts of J⁺ˣ and Jˣ⁺
        )
        return total / (12 * self.grid.spacing**2)

    # --- the right-hand side ---------------------------------------------------------------
    def _tendency(self, vorticity: torch.Tensor, with_speed: bool):
        psi = self.streamfunction(vorticity)
        psi_x, psi_y = _difference(psi, -1), _difference(psi, -2)
        tendency = self._jacobian(psi, vorticity, psi_x, psi_y)
        tendency = tendency + self.viscosity.reshape(-1, 1, 1) * self.laplacian(vorticity)
        tendency = tendency - self.drag.reshape(-1, 1, 1) * vorticity
        if self.forcing is not None:
            # Scaled here, not once at construction, so that a gradient w.r.t. the amplitude can
            # be taken through the same equation object more than once.
            tendency = tendency + self.forcing_amplitude.reshape(-1, 1, 1) * self.forcing
        speed = None
        if with_speed:
            squared = (psi_x.detach() ** 2 + psi_y.detach() ** 2).amax(dim=(-2, -1))
            speed = torch.sqrt(squared) / (2 * self.grid.spacing)
        return tendency, speed

    def explicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return self._tendency(state, with_speed=False)[0]

    def explicit_terms_and_max_speed(self, state):
        return self._tendency(state, with_speed=True)

    def max_speed(self, state: torch.Tensor) -> torch.Tensor:
        velocity = self.velocity(state.detach())
        return torch.sqrt((velocity**2).sum(dim=1).amax(dim=(-2, -1)))

    # --- time step control -----------------------------------------------------------------
    # Centred differences: for uniform flow |λ| ≤ (|u| + |v|)/h ≤ √2|u|_max/h, √2 per unit CFL.
    advective_eigenvalue_per_cfl = 2**0.5

    def time_step_limit(self, max_speed: torch.Tensor, cfl: float, region: StabilityRegion) -> torch.Tensor:
        """``dt = 1 / (|u|_max/(cfl·h) + (8ν/h² + μ)/c)``: advective CFL and explicit diffusion.

        The 5-point Laplacian's most negative eigenvalue is ``−8/h²`` (the checkerboard mode),
        so diffusion and drag alone need ``dt (8ν/h² + μ) ≤ c`` with ``c`` the scheme's
        real-axis stability limit (``region.real_axis``: 2.7853 for RK4, 2.5127 for
        SSP-RK3). The two rates are added rather than min'd: advection gives imaginary eigenvalues
        (``J(ψ, ·)`` is skew; ``|λ| ≤ √2|u|_max/h`` for uniform flow), diffusion real ones, and
        the RK3/RK4 stability regions contain the diamond between their real limit and their
        imaginary limit (√3, 2√2), so a step whose two fractions sum to one is stable for both.
        """
        reach = region.real_axis
        diffusive_rate = (8 * self.viscosity.detach() / self.grid.spacing**2 + self.drag.detach()) / reach
        advective_rate = max_speed / (cfl * self.grid.spacing)
        return 1 / (advective_rate + diffusive_rate)
