"""Rotating shallow water on a doubly periodic f-plane: second-order finite differences on a C-grid.

Vector-invariant form with per-sample ``(batch,)`` parameters::

    ∂u/∂t − q V = −∂x(g h + K) + ν Δu − ν₄ Δ²u − μ u        q = (f + ζ)/h,  ζ = ∂x v − ∂y u
    ∂v/∂t + q U = −∂y(g h + K) + ν Δv − ν₄ Δ²v − μ v        (U, V) = h (u, v),  K = ½|u|²
    ∂h/∂t + ∂x U + ∂y V = 0

Where each quantity lives (grid spacing Δ = L/n, ``x_i = i·Δ``; arrays are ``[..., j, i]``)::

    h[j, i]  depth         at cell centres  (x_i,      y_j)        ← the output points
    u[j, i]  x-velocity    on x-faces       (x_i + Δ/2, y_j)
    v[j, i]  y-velocity    on y-faces       (x_i,      y_j + Δ/2)
    q, ζ     vorticity     at corners       (x_i + Δ/2, y_j + Δ/2)

The depth sits on the points ``x_i = i·L/n`` that the spectral solvers and the dataset files use,
so only u, v and the vorticity are interpolated for output (:meth:`ShallowWater.to_output`).
"""

from __future__ import annotations

import math

import torch

from ..checks import batch_size_of, per_sample, require
from ..grid import PeriodicGrid, integer_wavenumbers
from ..spectral import irfft2, rfft2
from .base import Equation, StabilityRegion

ROTATIONAL_SCHEMES = ("arakawa_lamb", "sadourny_energy")

# In the units of ShallowWater.time_step_limit the fastest linear C-grid mode has |λ|·dt = 2√2·CFL.
_FASTEST_MODE_PER_CFL = 2 * math.sqrt(2)


# --- neighbours on the periodic grid (arrays are [..., y, x]) --------------------------------
def _east(a: torch.Tensor) -> torch.Tensor:
    return torch.roll(a, -1, dims=-1)


def _west(a: torch.Tensor) -> torch.Tensor:
    return torch.roll(a, 1, dims=-1)


def _north(a: torch.Tensor) -> torch.Tensor:
    return torch.roll(a, -1, dims=-2)


def _south(a: torch.Tensor) -> torch.Tensor:
    return torch.roll(a, 1, dims=-2)


def _stencil_laplacian(a: torch.Tensor) -> torch.Tensor:
    """The 5-point Laplacian times Δ²."""
    return torch.add(_east(a) + _west(a) + _north(a) + _south(a), a, alpha=-4)


def _signal_speed(gravity: torch.Tensor, depth: torch.Tensor, uu: torch.Tensor, vv: torch.Tensor) -> torch.Tensor:
    """``√(g·max h) + √(max u² + max v²)`` per sample, NaN where the depth is not positive.

    The NaN makes the stepper stop at the substep where a sample dries out (and ask
    :meth:`ShallowWater.invalid_samples` why), not at the end of the output interval.
    """
    dry = depth.amin(dim=(-2, -1)) <= 0
    speed = torch.sqrt(gravity * depth.amax(dim=(-2, -1)).clamp(min=0)) + torch.sqrt(
        uu.amax(dim=(-2, -1)) + vv.amax(dim=(-2, -1))
    )
    return torch.where(dry, torch.full_like(speed, float("nan")), speed)


def spectral_shift(field: torch.Tensor, shift_x: float, shift_y: float) -> torch.Tensor:
    """Trigonometric interpolation of a periodic field ``(..., n, n)`` to points moved by
    ``(shift_x, shift_y)`` grid spacings.

    Exact for band-limited fields and norm-preserving (spectra, and so resolution checks, are
    unchanged), unlike 2- or 4-point averages, which damp the grid scale. The Nyquist mode of a
    half-cell shift is zeroed: ``cos(π x/Δ)`` vanishes midway between samples.
    """
    n = field.shape[-1]
    coeffs = rfft2(field)
    kx, ky = integer_wavenumbers(n, field.dtype, field.device)
    phase = 2 * math.pi / n * (shift_x * kx + shift_y * ky)
    factor = torch.polar(torch.ones_like(phase), phase)
    if shift_x % 1:
        factor[:, n // 2] = 0
    if shift_y % 1:
        factor[n // 2, :] = 0
    return irfft2(coeffs * factor, s=(n, n))


class ShallowWater(Equation):
    """Rotating shallow water on an Arakawa C-grid, energy-conserving in space.

    The rotational term ``(f + ζ) ẑ × (h u)/h`` uses either Arakawa & Lamb (1981), which conserves
    energy and potential enstrophy ``Σ ½ h q²`` of the semi-discrete system (the default: it keeps
    the enstrophy cascade of balanced turbulence honest), or Sadourny's (1975) energy-conserving
    form. Both conserve mass exactly and energy ``Σ (h K + ½ g h²)`` when ``ν = ν₄ = μ = 0``;
    both reduce to ``f v̄ˣʸ`` for constant potential vorticity, so their linear waves coincide.
    Without a stiff linear part, the state is advanced by explicit Runge–Kutta schemes.

    Fields (what :class:`~data_gen.stepper.Stepper` takes and returns) are ``(batch, 3, n, n)``
    holding ``(h, u, v)`` with ``h`` the total depth (see the module docstring for positions).
    The integrated state holds ``h − H`` instead of ``h``: in float32 the depth perturbation then
    keeps its full precision instead of sharing 24 bits with ``H``.

    Args:
        grid: the periodic grid (its dtype and device are the simulation's).
        coriolis: f (any sign), scalar or ``(batch,)``.
        gravity: g > 0.
        mean_depth: H > 0, the reference depth (mean depth of the initial conditions).
        viscosity: Laplacian viscosity ν ≥ 0 acting on u and v.
        hyperviscosity: biharmonic viscosity ν₄ ≥ 0 (the term is ``−ν₄ Δ²u``).
        drag: linear drag μ ≥ 0.
        rotational_scheme: ``"arakawa_lamb"`` or ``"sadourny_energy"``.
    """

    schemes = ("rk4", "rk3")
    variables = ("height", "u", "v")
    compiles_well = True  # stencils: dozens of elementwise passes that Inductor fuses
    output_variables = ("height", "u", "v", "vorticity")

    def __init__(
        self,
        grid: PeriodicGrid,
        coriolis,
        gravity=1.0,
        mean_depth=1.0,
        viscosity=0.0,
        hyperviscosity=0.0,
        drag=0.0,
        *,
        rotational_scheme: str = "arakawa_lamb",
    ):
        self.grid = grid
        kw = dict(dtype=grid.dtype, device=grid.device)
        self.coriolis = per_sample(coriolis, "coriolis", **kw)
        self.gravity = per_sample(gravity, "gravity", strictly_positive=True, **kw)
        self.mean_depth = per_sample(mean_depth, "mean_depth", strictly_positive=True, **kw)
        self.viscosity = per_sample(viscosity, "viscosity", minimum=0.0, **kw)
        self.hyperviscosity = per_sample(hyperviscosity, "hyperviscosity", minimum=0.0, **kw)
        self.drag = per_sample(drag, "drag", minimum=0.0, **kw)
        self.batch_size = batch_size_of(
            self.coriolis, self.gravity, self.mean_depth, self.viscosity, self.hyperviscosity, self.drag
        )
        require(rotational_scheme in ROTATIONAL_SCHEMES, "rotational_scheme",
                f"one of {', '.join(ROTATIONAL_SCHEMES)}", rotational_scheme)
        self.rotational_scheme = rotational_scheme
        # Skip the dissipation stencils when they are zero and no gradient is wanted through them.
        self._dissipative = {
            name: bool(p.requires_grad or (p.detach() != 0).any())
            for name, p in (("viscosity", self.viscosity), ("hyperviscosity", self.hyperviscosity), ("drag", self.drag))
        }

    # --- parameters as views that broadcast against (batch, n, n) ------------------------------
    @staticmethod
    def _view(p: torch.Tensor) -> torch.Tensor:
        return p.reshape(-1, 1, 1)

    @property
    def wave_speed(self) -> torch.Tensor:
        """The gravity-wave speed ``√(gH)`` per sample."""
        return torch.sqrt(self.gravity * self.mean_depth)

    @property
    def deformation_radius(self) -> torch.Tensor:
        """The Rossby radius ``√(gH)/|f|`` per sample (``inf`` where ``f = 0``)."""
        return self.wave_speed / self.coriolis.abs()

    # --- representation -------------------------------------------------------------------
    def _check_fields(self, fields: torch.Tensor, name: str) -> None:
        n = self.grid.n
        require(fields.ndim == 4 and fields.shape[1:] == (3, n, n), name,
                f"shaped (batch, 3, {n}, {n}) holding (h, u, v)", tuple(fields.shape))

    def encode(self, fields: torch.Tensor) -> torch.Tensor:
        self._check_fields(fields, "fields")
        fields = fields.to(self.grid.dtype)
        depth = fields[:, :1] - self.mean_depth.reshape(-1, 1, 1, 1)
        return torch.cat((depth, fields[:, 1:]), dim=1)

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        return torch.cat((state[:, :1] + self.mean_depth.reshape(-1, 1, 1, 1), state[:, 1:]), dim=1)

    # --- the right-hand side ---------------------------------------------------------------
    def explicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return self._tendencies(state, with_speed=False)[0]

    def explicit_terms_and_max_speed(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._tendencies(state, with_speed=True)

    def _tendencies(self, state: torch.Tensor, with_speed: bool):
        # The step is ~60 elementwise passes over the grid and costs what they cost, so constant
        # factors are folded: ``h2x = 2 h`` on x-faces, ``flux2x = 2 h u``, ``h4q = 4 h`` at
        # corners, ``bernoulli4 = 4 (K + g (h − H))``, and the potential vorticity carries the
        # rotational scheme's own weights (1/8 for Sadourny, 1/24 for Arakawa–Lamb).
        dx = self.grid.spacing
        eta, u, v = state.unbind(dim=1)
        velocity = state[:, 1:]
        h = eta + self._view(self.mean_depth)
        h2x = h + _east(h)
        h2y = h + _north(h)
        h4q = h2x + _north(h2x)
        flux2x, flux2y = h2x * u, h2y * v
        flux2x_west, flux2y_south = _west(flux2x), _south(flux2y)
        circulation = _east(v) - v - _north(u) + u  # ζ·Δ at corners
        weight = 0.5 if self.rotational_scheme == "sadourny_energy" else 1.0 / 12
        # weight · 4 (f + ζ)/(4 h): the potential vorticity with the scheme's averaging weights.
        pv = torch.add(self._view(self.coriolis) * weight, circulation, alpha=weight / dx) / h4q
        squares = velocity * velocity
        uu, vv = squares.unbind(dim=1)
        # g (h − H) rather than g h: the same gradient, without cancelling digits in float32.
        bernoulli4 = torch.addcmul(uu + _west(uu) + vv + _south(vv), eta, 4 * self._view(self.gravity))

        if self.rotational_scheme == "sadourny_energy":
            rot_u, minus_rot_v = self._sadourny_energy(pv, flux2x, flux2y)
        else:
            rot_u, minus_rot_v = self._arakawa_lamb(pv, flux2x, flux2y, flux2x_west, flux2y_south)
        du = torch.add(rot_u, bernoulli4 - _east(bernoulli4), alpha=0.25 / dx)
        dv = (bernoulli4 - _north(bernoulli4)) * (0.25 / dx) - minus_rot_v
        deta = (flux2x_west - flux2x + flux2y_south - flux2y) * (0.5 / dx)
        dissipation = self._dissipation(velocity)
        if dissipation is None:
            tendency = torch.stack((deta, du, dv), dim=1)
        else:
            tendency = torch.cat((deta.unsqueeze(1), torch.stack((du, dv), dim=1) + dissipation), dim=1)
        if not with_speed:
            return tendency, None
        with torch.no_grad():
            speed = _signal_speed(self.gravity, h, uu, vv)
        return tendency, speed

    @staticmethod
    def _sadourny_energy(pv, flux2x, flux2y):
        # q times the 2-point mean of the crossing flux at corners, then averaged onto the face
        # (pv = q/8 absorbs the two halves and the doubled flux).
        across_v = pv * (flux2y + _east(flux2y))
        across_u = pv * (flux2x + _north(flux2x))
        return across_v + _south(across_v), across_u + _west(across_u)

    @staticmethod
    def _arakawa_lamb(pv, flux2x, flux2y, flux2x_west, flux2y_south):
        # Arakawa & Lamb (1981), eqs. (3.5)–(3.6) with the coefficients (3.34), written per cell:
        # each h-cell combines the potential vorticities at its corners NE, NW, SW, SE and hands
        # its share to the four faces around it, so that the Coriolis work cancels pairwise.
        # pv = q/48 absorbs the 1/24 of the coefficients and the doubled fluxes.
        ne, nw = pv, _west(pv)
        sw, se = _south(nw), _south(pv)
        rising, falling = ne + sw, nw + se
        alpha = torch.add(falling, rising, alpha=2)  # α_{i,j} and γ_{i,j} of the paper
        beta = torch.add(rising, falling, alpha=2)  # β_{i,j} and δ_{i,j}
        rise, fall = ne - sw, nw - se
        epsilon, phi = rise + fall, fall - rise
        # u on the face between this cell (west of it) and the next one east.
        east_cell = torch.addcmul(torch.addcmul(alpha * flux2y, beta, flux2y_south), epsilon, flux2x, value=-1)
        rot_u = torch.addcmul(torch.addcmul(torch.addcmul(_east(east_cell), beta, flux2y), alpha, flux2y_south),
                              epsilon, flux2x_west)
        # v on the face between this cell (south of it) and the next one north.
        north_cell = torch.addcmul(torch.addcmul(alpha * flux2x, beta, flux2x_west), phi, flux2y)
        minus_rot_v = torch.addcmul(torch.addcmul(torch.addcmul(_north(north_cell), alpha, flux2x_west), beta, flux2x),
                                    phi, flux2y_south, value=-1)
        return rot_u, minus_rot_v

    def _dissipation(self, velocity: torch.Tensor) -> torch.Tensor | None:
        """``ν Δu − ν₄ Δ²u − μ u`` for u and v together, as ``Δ(ν u − ν₄ Δu) − μ u``."""
        viscous, hyper, drag = (self._dissipative[k] for k in ("viscosity", "hyperviscosity", "drag"))
        if not (viscous or hyper or drag):
            return None
        dx2 = self.grid.spacing**2
        per_sample = lambda p: p.reshape(-1, 1, 1, 1)  # noqa: E731
        inner = None
        if viscous:
            inner = per_sample(self.viscosity / dx2) * velocity
        if hyper:
            smoothing = per_sample(self.hyperviscosity / dx2**2) * _stencil_laplacian(velocity)
            inner = -smoothing if inner is None else inner - smoothing
        result = None if inner is None else _stencil_laplacian(inner)
        if drag:
            friction = per_sample(self.drag) * velocity
            result = -friction if result is None else result - friction
        return result

    # --- time step control -----------------------------------------------------------------
    def max_speed(self, state: torch.Tensor) -> torch.Tensor:
        """Gravity-wave plus flow speed ``√(g·max h) + √(max u² + max v²)`` per sample."""
        state = state.detach()
        squares = state[:, 1:] * state[:, 1:]
        depth = state[:, 0] + self._view(self.mean_depth.detach())
        return _signal_speed(self.gravity.detach(), depth, squares[:, 0], squares[:, 1])

    # The fastest gravity wave reaches the scheme's imaginary-axis stability limit at
    # CFL 2√2/2√2 = 1 for RK4 and √3/2√2 = 0.612 for SSP-RK3 (see ``Equation.max_cfl``).
    advective_eigenvalue_per_cfl = _FASTEST_MODE_PER_CFL

    def time_step_limit(self, max_speed: torch.Tensor, cfl: float, region: StabilityRegion) -> torch.Tensor:
        """``dt`` per sample such that the fastest linear mode sits at ``cfl`` of the stability edge.

        Waves: the fastest C-grid inertia–gravity mode has ``ω ≤ √(8c²/Δ² + f²) ≤ 2√2 (c + |f|Δ/√8)/Δ``,
        and the flow speed is added to ``c`` for advection, so ``dt = cfl·Δ/(c + |u| + |f|Δ/√8)``:
        the gravity-wave CFL number ``(√(gH) + |u|)·dt/Δ`` is at most ``cfl``. Dissipation: the
        5-point operators reach ``8ν/Δ² + 64ν₄/Δ⁴ + μ`` on the real axis; the two rates add.
        """
        dx = self.grid.spacing
        wave_rate = (max_speed + self.coriolis.detach().abs() * dx / math.sqrt(8)) / (cfl * dx)
        diffusive = 8 * self.viscosity.detach() / dx**2 + 64 * self.hyperviscosity.detach() / dx**4 + self.drag.detach()
        return 1.0 / (wave_rate + diffusive / (cfl * region.real_axis))

    def invalid_samples(self, state: torch.Tensor) -> tuple[torch.Tensor, str]:
        state = state.detach()
        batch = state.shape[0]
        nonfinite = ~torch.isfinite(state).reshape(batch, -1).all(dim=1)
        depth = state[:, 0] + self._view(self.mean_depth.detach())
        dry = (depth.reshape(batch, -1) <= 0).any(dim=1) & ~nonfinite
        reasons = [r for r, m in (("non-finite values", nonfinite), ("negative depth", dry)) if bool(m.any())]
        return nonfinite | dry, " and ".join(reasons) or "none"

    # --- diagnostics on fields (h, u, v) ----------------------------------------------------------
    def vorticity(self, fields: torch.Tensor) -> torch.Tensor:
        """Relative vorticity ``ζ = ∂x v − ∂y u`` at the corners ``(x_i + Δ/2, y_j + Δ/2)``."""
        u, v = fields[:, 1], fields[:, 2]
        return (_east(v) - v - _north(u) + u) / self.grid.spacing

    def divergence(self, fields: torch.Tensor) -> torch.Tensor:
        """``∂x u + ∂y v`` at cell centres."""
        u, v = fields[:, 1], fields[:, 2]
        return (u - _west(u) + v - _south(v)) / self.grid.spacing

    def mass(self, fields: torch.Tensor) -> torch.Tensor:
        """``∫ h dA`` per sample."""
        return fields[:, 0].sum(dim=(-2, -1)) * self.grid.spacing**2

    def energy(self, fields: torch.Tensor) -> torch.Tensor:
        """``∫ h K + ½ g (h − H)² dA`` per sample, with ``K`` the 4-point kinetic energy the scheme uses.

        Differs from ``∫ h K + ½ g h² dA`` by a multiple of the (conserved) mass, so it is the
        energy the C-grid conserves when ``ν = ν₄ = μ = 0``.
        """
        h, u, v = fields.unbind(dim=1)
        uu, vv = u * u, v * v
        kinetic = 0.25 * (uu + _west(uu) + vv + _south(vv))
        eta = h - self._view(self.mean_depth)
        density = h * kinetic + 0.5 * self._view(self.gravity) * eta**2
        return density.sum(dim=(-2, -1)) * self.grid.spacing**2

    def potential_enstrophy(self, fields: torch.Tensor) -> torch.Tensor:
        """``∫ ½ h q² dA`` with ``h`` averaged to the corners (conserved by Arakawa–Lamb)."""
        h = fields[:, 0]
        h_u = 0.5 * (h + _east(h))
        h_q = 0.5 * (h_u + _north(h_u))
        q = (self._view(self.coriolis) + self.vorticity(fields)) / h_q
        return (0.5 * h_q * q**2).sum(dim=(-2, -1)) * self.grid.spacing**2

    def to_output(self, fields: torch.Tensor) -> torch.Tensor:
        """``(batch, 4, n, n)``: ``height``, ``u``, ``v``, ``vorticity``, all at the cell centres
        ``(x_i, y_j) = (i·L/n, j·L/n)`` (``output_variables`` names them).

        ``height`` is the total depth ``h``, already there; u, v and the corner vorticity are moved
        by half a cell with :func:`spectral_shift` (trigonometric interpolation).
        """
        self._check_fields(fields, "fields")
        h, u, v = fields.unbind(dim=1)
        return torch.stack(
            (
                h,
                spectral_shift(u, -0.5, 0.0),
                spectral_shift(v, 0.0, -0.5),
                spectral_shift(self.vorticity(fields), -0.5, -0.5),
            ),
            dim=1,
        )


__all__ = ["ROTATIONAL_SCHEMES", "ShallowWater", "spectral_shift"]
