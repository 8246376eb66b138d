"""2-D incompressible Navier–Stokes in vorticity form, pseudo-spectral on ``rfft2``.

``∂ω/∂t + u·∇ω = ν Δω + F − μ ω``, ``u = (∂ψ/∂y, −∂ψ/∂x)``, ``Δψ = −ω`` on a doubly periodic square.
The state is ``ω̂`` (``rfft2`` layout); viscosity and drag form the diagonal implicit part.
"""

from __future__ import annotations

import torch

from ..checks import batch_size_of, per_sample, require
from ..errors import ParameterError
from ..grid import PeriodicGrid
from ..spectral import irfft2, rfft2
from .base import Equation


class NavierStokesSpectral(Equation):
    """Galerkin-truncated (2/3 rule) vorticity equation.

    The advection term uses Basdevant's form for 2-D incompressible flow,
    ``u·∇ω = (∂xx − ∂yy)(uv) + ∂x∂y(v² − u²)``, which needs two products instead of the three
    fields of the conservative form: 2 inverse + 2 forward transforms per evaluation. With the
    symmetric mask applied to both factors and to the product, the truncated system conserves
    energy and enstrophy exactly when ``ν = μ = F = 0``.

    Args:
        grid: the periodic grid (its dtype and device are the simulation's).
        viscosity: ν, scalar or ``(batch,)``; ``0`` only with ``drag > 0`` or ``allow_inviscid``.
        drag: linear drag μ ≥ 0, scalar or ``(batch,)``.
        forcing: vorticity forcing ``(n, n)`` or ``(batch, n, n)`` of unit amplitude, or ``None``.
        forcing_amplitude: multiplies ``forcing``, scalar or ``(batch,)``.
        allow_inviscid: accept ``ν = μ = 0`` (conservation studies), otherwise refused.
    """

    schemes = ("cn_rk4", "cn_rk2", "euler_cn", "etdrk4")
    variables = ("vorticity",)

    def __init__(
        self,
        grid: PeriodicGrid,
        viscosity,
        drag=0.0,
        forcing: torch.Tensor | None = None,
        forcing_amplitude=1.0,
        *,
        allow_inviscid: bool = False,
    ):
        self.grid = grid
        kw = dict(dtype=grid.dtype, device=grid.device)
        self.viscosity = per_sample(viscosity, "viscosity", minimum=0.0, **kw)
        self.drag = per_sample(drag, "drag", minimum=0.0, **kw)
        self.forcing_amplitude = per_sample(forcing_amplitude, "forcing_amplitude", **kw)
        self.batch_size = batch_size_of(self.viscosity, self.drag, self.forcing_amplitude)
        if not allow_inviscid:
            dissipative = (self.viscosity.detach() > 0) | (self.drag.detach() > 0)
            if not bool(dissipative.all()):
                raise ParameterError(
                    f"viscosity must be > 0 when drag is 0 (got viscosity {self.viscosity.tolist()}, "
                    f"drag {self.drag.tolist()}); pass allow_inviscid=True for an inviscid run"
                )

        kx, ky = grid.wavenumbers()
        mask = grid.dealias_mask()
        k2 = -grid.laplacian_symbol()
        k2_safe = torch.where(k2 > 0, k2, torch.ones_like(k2))
        # ω̂ → (û, v̂), dealiased; the mean flow is zero.
        self._velocity_symbols = torch.stack((1j * ky * mask / k2_safe, -1j * kx * mask / k2_safe)).to(
            grid.complex_dtype
        )
        self._velocity_symbols[:, 0, 0] = 0
        # (uv, u² − v²) → −u·∇ω, dealiased; complex so products need no dtype conversion.
        self._minus_advection_symbols = (-torch.stack(((ky**2 - kx**2) * mask, kx * ky * mask))).to(
            grid.complex_dtype
        )
        self._linear = -self.viscosity.reshape(-1, 1, 1) * k2 - self.drag.reshape(-1, 1, 1)

        self._forcing_hat = None
        if forcing is not None:
            forcing = forcing.to(**kw)
            require(forcing.shape[-2:] == (grid.n, grid.n) and forcing.ndim in (2, 3), "forcing",
                    f"an ({grid.n}, {grid.n}) or (batch, {grid.n}, {grid.n}) field", tuple(forcing.shape))
            if forcing.ndim == 3:
                self.batch_size = batch_size_of(self.viscosity, torch.empty(forcing.shape[0]))
            # Transformed once here, not at every stage.
            amplitude = self.forcing_amplitude.reshape(-1, 1, 1)
            self._forcing_hat = amplitude * rfft2(forcing) * mask

    # --- representation -------------------------------------------------------------------
    def encode(self, vorticity: torch.Tensor) -> torch.Tensor:
        require(vorticity.shape[-2:] == (self.grid.n, self.grid.n), "vorticity",
                f"shaped (batch, {self.grid.n}, {self.grid.n})", tuple(vorticity.shape))
        return rfft2(vorticity.to(self.grid.dtype))

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        return irfft2(state, s=(self.grid.n, self.grid.n))

    # --- the right-hand side ---------------------------------------------------------------
    def velocity(self, state: torch.Tensor) -> torch.Tensor:
        """Physical dealiased velocity ``(batch, 2, n, n)`` holding ``(u, v)``."""
        return torch.fft.irfft2(state.unsqueeze(1) * self._velocity_symbols, s=(self.grid.n, self.grid.n))

    def _tendency_and_speed(self, state: torch.Tensor, with_speed: bool):
        """``F̂ − (u·∇ω)^`` and, if asked, the per-sample maximum speed (same transforms)."""
        velocity = self.velocity(state)
        u, v = velocity[:, 0], velocity[:, 1]
        uu = u * u
        difference = torch.addcmul(uu, v, v, value=-1)  # u² − v²
        products = torch.stack((u * v, difference), dim=1)
        speed = None
        if with_speed:
            # |u|² = 2u² − (u² − v²)
            speed = torch.sqrt(torch.sub(2 * uu, difference).detach().amax(dim=(-2, -1)))
        products_hat = torch.fft.rfft2(products)
        symbols = self._minus_advection_symbols
        tendency = products_hat[:, 0] * symbols[0] if self._forcing_hat is None else torch.addcmul(
            self._forcing_hat, products_hat[:, 0], symbols[0]
        )
        return torch.addcmul(tendency, products_hat[:, 1], symbols[1]), speed

    def explicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return self._tendency_and_speed(state, with_speed=False)[0]

    def explicit_terms_and_max_speed(self, state):
        return self._tendency_and_speed(state, with_speed=True)

    def implicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return self._linear * state

    def implicit_solve(self, state: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        return state / (1 - step.reshape(-1, 1, 1) * self._linear)

    def linear_diagonal(self) -> torch.Tensor:
        return self._linear

    def max_speed(self, state: torch.Tensor) -> torch.Tensor:
        velocity = self.velocity(state).detach()
        return torch.sqrt((velocity**2).sum(dim=1).amax(dim=(-2, -1)))
