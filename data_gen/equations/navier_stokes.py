"""2-D incompressible Navier–Stokes in vorticity form, pseudo-spectral on ``rfft2``.

``∂ω/∂t + u·∇ω = ν Δω + F − μ ω``, ``u = (∂ψ/∂y, −∂ψ/∂x)``, ``Δψ = −ω`` on a doubly periodic square.
The state is ``ω̂`` on the modes the 2/3 rule keeps, stored compactly (:mod:`data_gen.dealiased`);
viscosity and drag form the diagonal implicit part.
"""

from __future__ import annotations

import math

import torch

from ..dealiased import DealiasedSpectrum
from ..grid import PeriodicGrid
from ..spectral import irfft2, rfft2, velocity_symbols
from .vorticity import VorticityEquation


class NavierStokesSpectral(VorticityEquation):
    """Galerkin-truncated (2/3 rule) vorticity equation.

    The advection term uses Basdevant's form for 2-D incompressible flow,
    ``u·∇ω = (∂xx − ∂yy)(uv) + ∂x∂y(v² − u²)``, which needs two products instead of the three
    fields of the conservative form: 2 inverse + 2 forward transforms per evaluation. With the
    symmetric mask applied to both factors and to the product, the truncated system conserves
    energy and enstrophy exactly when ``ν = μ = F = 0``.

    Arguments: see :class:`~data_gen.equations.vorticity.VorticityEquation`.
    """

    schemes = ("cn_rk4", "cn_rk2", "euler_cn", "etdrk4")

    def __init__(self, grid: PeriodicGrid, viscosity, drag=0.0, forcing=None, forcing_amplitude=1.0, *,
                 allow_inviscid: bool = False):
        super().__init__(grid, viscosity, drag, forcing, forcing_amplitude, allow_inviscid=allow_inviscid)
        self.modes = DealiasedSpectrum(grid.n)
        kx, ky = grid.wavenumbers()
        compact = self.modes.compact
        # ω̂ → (û, v̂) on the kept modes.
        self._velocity_symbols = compact(velocity_symbols(grid))
        # (u² − v², uv) → −u·∇ω; complex so products need no dtype conversion.
        self._minus_advection_symbols = compact((-torch.stack((kx * ky, ky**2 - kx**2))).to(grid.complex_dtype))
        self._k2 = compact(-grid.laplacian_symbol())
        self._cache: dict[str, torch.Tensor] = {}

    def _cached(self, name: str, make) -> torch.Tensor:
        """``make()`` once, unless it carries an autograd graph.

        A cached graph would be freed by the first backward pass, so inverse design that
        reuses one equation for several optimisation steps recomputes what depends on
        parameters that require a gradient (two elementwise ops; one FFT for a forcing field).
        """
        if name in self._cache:
            return self._cache[name]
        value = make()
        if not value.requires_grad:
            self._cache[name] = value
        return value

    @property
    def _linear(self) -> torch.Tensor:
        return self._cached(
            "linear", lambda: -self.viscosity.reshape(-1, 1, 1) * self._k2 - self.drag.reshape(-1, 1, 1)
        )

    @property
    def _forcing_hat(self) -> torch.Tensor | None:
        if self.forcing is None:
            return None
        # Transformed once, not at every stage (unless the forcing itself is being optimised).
        unit = self._cached("unit_forcing", lambda: self.modes.compact(rfft2(self.forcing)))
        return self._cached("forcing", lambda: self.forcing_amplitude.reshape(-1, 1, 1) * unit)

    # --- representation -------------------------------------------------------------------
    def encode(self, vorticity: torch.Tensor) -> torch.Tensor:
        """``ω̂`` on the dealiased modes only, compact (:class:`~data_gen.dealiased.DealiasedSpectrum`).

        Modes beyond the 2/3 cutoff would never be advected, only decay, and would make the
        saved vorticity disagree with the (dealiased) velocity derived from it.
        """
        return self.modes.compact(rfft2(super().encode(vorticity)))

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        return irfft2(self.spectrum(state), s=(self.grid.n, self.grid.n))

    def spectrum(self, state: torch.Tensor) -> torch.Tensor:
        """The state in ``rfft2`` layout ``(batch, n, n//2+1)``, zeros beyond the cutoff."""
        return self.modes.expand(state)

    # --- the right-hand side ---------------------------------------------------------------
    def velocity(self, state: torch.Tensor) -> torch.Tensor:
        """Physical dealiased velocity ``(batch, 2, n, n)`` holding ``(u, v)``."""
        return self.modes.to_physical(state.unsqueeze(1), self._velocity_symbols)

    def _tendency_and_speed(self, state: torch.Tensor, with_speed: bool):
        """``F̂ − (u·∇ω)^`` and, if asked, the per-sample maximum speed (same transforms)."""
        velocity = self.velocity(state)
        u, v = velocity[:, 0], velocity[:, 1]
        # (u², uv) in one pass (u times both components), then u² − v² in place: (u² − v², uv).
        products = velocity * velocity[:, :1]
        squares = products[:, 0]
        speed = None
        if with_speed:
            speed = torch.sqrt(torch.addcmul(squares.detach(), v.detach(), v.detach()).amax(dim=(-2, -1)))
        if torch.is_grad_enabled() and products.requires_grad:
            products = torch.stack((torch.addcmul(squares, v, v, value=-1), products[:, 1]), dim=1)
        else:
            squares.addcmul_(v, v, value=-1)
        spectra = self.modes.from_physical(products)
        symbols = self._minus_advection_symbols
        forcing = self._forcing_hat
        if forcing is None:
            tendency = spectra[:, 0] * symbols[0]
        else:
            tendency = torch.addcmul(forcing, spectra[:, 0], symbols[0])
        return tendency.addcmul_(spectra[:, 1], symbols[1]), speed

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

    # --- time step control -----------------------------------------------------------------
    @property
    def advective_eigenvalue_per_cfl(self) -> float:
        """``|λ| dt ≤ |u|_max |k|_max dt`` with ``|k|_max = √2 K 2π/L`` (the corner of the 2/3-rule
        square, ``K < n/3``) and ``dt = cfl·Δ/|u|_max``: ``√2·2πK/n ≈ 2.96`` per unit CFL.

        The truncated advection ``P(u·∇ω)`` is skew-adjoint, so its eigenvalues are imaginary and
        bounded by the operator norm ``|u|_max |k|_max``.
        """
        cutoff = (self.grid.n - 1) // 3
        return 2**0.5 * 2 * math.pi * cutoff / self.grid.n

    def stability_modes(self, max_speed):
        """Modes along the fastest direction: ``λ_E = i|u|_max k``, ``λ_L = −(νk² + μ)`` for
        ``k`` from the lowest wavenumber to ``|k|_max``."""
        cutoff = (self.grid.n - 1) // 3
        k = torch.linspace(1.0, 2**0.5 * cutoff, 64, dtype=max_speed.dtype, device=max_speed.device)
        k = k * (2 * math.pi / self.grid.length)
        explicit = 1j * (max_speed.reshape(-1, 1) * k)
        viscosity = self.viscosity.detach().to(max_speed.dtype).reshape(-1, 1)
        implicit = -(viscosity * k**2 + self.drag.detach().to(max_speed.dtype).reshape(-1, 1))
        return explicit, implicit

    def max_speed(self, state: torch.Tensor) -> torch.Tensor:
        velocity = self.velocity(state.detach())
        return torch.sqrt((velocity**2).sum(dim=1).amax(dim=(-2, -1)))
