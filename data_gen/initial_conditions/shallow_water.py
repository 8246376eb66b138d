"""Initial fields ``(batch, 3, n, n)`` = ``(h, u, v)`` for :class:`~data_gen.equations.ShallowWater`.

The fields sit on the C-grid points (h at cell centres ``x_i = i·L/n``, u and v half a cell east
and north of them). Balance is imposed on the discrete operators, not the continuous ones, so a
balanced state does not shed spurious gravity waves at the grid scale. In Fourier space, with
``Δ = L/n``, ``s_x = sin(κ_x Δ/2)``, ``c_x = cos(κ_x Δ/2)`` (the same in y), the C-grid difference
across a face is ``2i s_x/Δ`` and the average onto a face is ``c_x``; the Coriolis term averages
v onto u-points (and back) with ``c_x c_y``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..checks import per_sample, require
from ..equations.shallow_water import ROTATIONAL_SCHEMES, ShallowWater
from ..errors import ParameterError
from ..grid import PeriodicGrid
from ..randomness import white_noise
from ..spectral import irfft2, rfft2


def _parameters(grid: PeriodicGrid, coriolis, gravity, mean_depth):
    kw = dict(dtype=grid.dtype, device=grid.device)
    f = per_sample(coriolis, "coriolis", **kw)
    g = per_sample(gravity, "gravity", strictly_positive=True, **kw)
    depth = per_sample(mean_depth, "mean_depth", strictly_positive=True, **kw)
    return f.reshape(-1, 1, 1), g.reshape(-1, 1, 1), depth.reshape(-1, 1, 1)


def _c_grid_symbols(grid: PeriodicGrid):
    """``(S_x, S_y, c_x c_y)``: face differences ``i·S`` and the Coriolis average, ``rfft2`` layout."""
    kx, ky = grid.wavenumbers()
    half = grid.spacing / 2
    return (2 * torch.sin(kx * half) / grid.spacing, 2 * torch.sin(ky * half) / grid.spacing,
            torch.cos(kx * half) * torch.cos(ky * half))


def _on_c_grid(grid: PeriodicGrid, h_hat, u_hat, v_hat) -> torch.Tensor:
    """Fields from Fourier coefficients referred to the cell centres, sampled at their own points."""
    kx, ky = grid.wavenumbers()
    half = grid.spacing / 2
    shift_x = torch.polar(torch.ones_like(kx), kx * half)
    shift_y = torch.polar(torch.ones_like(ky), ky * half)
    s = (grid.n, grid.n)
    return torch.stack((irfft2(h_hat, s=s), irfft2(u_hat * shift_x, s=s), irfft2(v_hat * shift_y, s=s)), dim=1)


def _rms_deviation(field: torch.Tensor) -> torch.Tensor:
    """Per-sample standard deviation ``(batch, 1, 1)``; ``torch.std`` over a batch differs in the last
    bits from the same sample alone, which would make a sample depend on its batch size."""
    deviation = field - field.mean(dim=(-2, -1), keepdim=True)
    return torch.sqrt((deviation * deviation).mean(dim=(-2, -1), keepdim=True))


def inertia_gravity_frequency(grid: PeriodicGrid, wavenumber: tuple[int, int], coriolis, gravity, mean_depth):
    """The C-grid dispersion relation ``ω² = f² c_x² c_y² + g H (S_x² + S_y²)`` (per sample)."""
    f, g, depth = (p.reshape(-1) for p in _parameters(grid, coriolis, gravity, mean_depth))
    kappa = [2 * math.pi * k / grid.length for k in wavenumber]
    sx, sy = (2 * math.sin(k * grid.spacing / 2) / grid.spacing for k in kappa)
    cc = math.cos(kappa[0] * grid.spacing / 2) * math.cos(kappa[1] * grid.spacing / 2)
    return torch.sqrt(f**2 * cc**2 + g * depth * (sx**2 + sy**2))


def gravity_wave(
    grid: PeriodicGrid,
    wavenumber: tuple[int, int] = (1, 0),
    amplitude: float = 1e-6,
    *,
    coriolis=0.0,
    gravity=1.0,
    mean_depth=1.0,
) -> torch.Tensor:
    """One eastward-propagating inertia–gravity wave: the linear C-grid eigenmode with
    ``h = H + amplitude·H·cos(κ·x)``, travelling as ``cos(κ·x − ωt)`` at the frequency of
    :func:`inertia_gravity_frequency` (the polarisation makes it a pure mode of the discrete system).
    """
    kx_int, ky_int = wavenumber
    require(all(isinstance(k, int) for k in wavenumber) and (kx_int, ky_int) != (0, 0)
            and 0 <= kx_int < grid.n // 2 and abs(ky_int) < grid.n // 2,
            "initial_condition.wavenumber", f"integers (kx, ky) ≠ (0, 0) with 0 ≤ kx < {grid.n // 2}, "
            f"|ky| < {grid.n // 2}", wavenumber)
    require(amplitude > 0, "initial_condition.amplitude", "> 0", amplitude)
    f, g, depth = _parameters(grid, coriolis, gravity, mean_depth)
    omega = inertia_gravity_frequency(grid, wavenumber, coriolis, gravity, mean_depth).reshape(-1, 1, 1)
    kappa_x, kappa_y = (2 * math.pi * k / grid.length for k in wavenumber)
    half = grid.spacing / 2
    sx, sy = (2 * math.sin(k * half) / grid.spacing for k in (kappa_x, kappa_y))
    cc = math.cos(kappa_x * half) * math.cos(kappa_y * half)
    # With η = a H e^{i(κ·x − ωt)}, the u and v equations solved for the velocity amplitudes.
    scale = g * amplitude * depth / (omega**2 - (f * cc) ** 2)
    u_amplitude = scale * (omega * sx + 1j * f * cc * sy)
    v_amplitude = scale * (omega * sy - 1j * f * cc * sx)
    x, y = grid.mesh()
    phase = kappa_x * x + kappa_y * y  # at cell centres; u and v sit half a cell east / north
    height = depth + amplitude * depth * torch.cos(phase)
    u = (u_amplitude * torch.exp(1j * (phase + kappa_x * half))).real
    v = (v_amplitude * torch.exp(1j * (phase + kappa_y * half))).real
    return torch.stack(torch.broadcast_tensors(height, u, v), dim=1)


def balanced_random(
    grid: PeriodicGrid,
    split_seed: int,
    indices: Sequence[int],
    *,
    coriolis,
    gravity=1.0,
    mean_depth=1.0,
    peak_wavenumber: float = 6.0,
    amplitude: float | None = None,
    rossby: float | None = None,
) -> torch.Tensor:
    """A random height perturbation in geostrophic balance on the C-grid.

    The perturbation ``η = h − H`` has shell spectrum ``E_η(k) ∝ (k/k₀)⁴ exp(−2(k/k₀)²)``, maximal
    at ``k₀ = peak_wavenumber`` (integer wavenumbers, modes above ``n/3`` dropped), and zero mean,
    so the mean depth is ``H``. The velocity is non-divergent and balances the pressure gradient
    through the discrete Coriolis term: ``f c_x c_y v̂ = i g S_x η̂``, ``−f c_x c_y û = i g S_y η̂``,
    so the linearised C-grid tendencies vanish. Give exactly one of

    - ``amplitude``: the rms of ``η/H`` in every sample, or
    - ``rossby``: the rms relative vorticity over ``|f|`` in every sample.

    Sample ``i`` depends only on ``(split_seed, i)`` (and on the per-sample parameters).
    """
    require((amplitude is None) != (rossby is None), "initial_condition",
            "given exactly one of amplitude and rossby", {"amplitude": amplitude, "rossby": rossby})
    require(0 < peak_wavenumber < grid.n / 3, "initial_condition.peak_wavenumber",
            f"in (0, {grid.n / 3:.4g}) (resolved by the {grid.n}² grid)", peak_wavenumber)
    if amplitude is not None:
        require(0 < amplitude < 1, "initial_condition.amplitude", "in (0, 1) (a fraction of the mean depth)", amplitude)
    else:
        require(rossby > 0, "initial_condition.rossby", "> 0", rossby)
    f, g, depth = _parameters(grid, coriolis, gravity, mean_depth)
    if not bool((f != 0).all()):
        raise ParameterError(f"coriolis must be nonzero for geostrophic balance (got {f.flatten().tolist()})")

    kx, ky = grid.integer_wavenumbers()
    k = torch.sqrt(kx**2 + ky**2)
    ratio = k / peak_wavenumber
    # A shell holds ~2πk modes, so |η̂_k| ∝ sqrt(E(k)/k).
    envelope = ratio**1.5 * torch.exp(-(ratio**2)) * (k < grid.n / 3)
    noise = white_noise(split_seed, indices, grid.n, dtype=grid.dtype, device=grid.device)[:, 0]
    h_hat = rfft2(noise) * envelope
    sx, sy, cc = _c_grid_symbols(grid)
    u_hat = -1j * g * sy * h_hat / (f * cc)
    v_hat = 1j * g * sx * h_hat / (f * cc)
    fields = _on_c_grid(grid, h_hat, u_hat, v_hat)

    if amplitude is not None:
        scale = amplitude * depth / _rms_deviation(fields[:, 0])
    else:
        # The solver's own corner vorticity, so the Rossby number is the one it will see.
        vorticity = ShallowWater(grid, coriolis=f.reshape(-1)).vorticity(fields)
        scale = rossby * f.abs() / _rms_deviation(vorticity)
    fields = fields * scale.unsqueeze(1)
    depth_field = fields[:, 0] + depth
    if not bool((depth_field > 0).all()):
        raise ParameterError(
            "initial_condition: the balanced height perturbation makes the depth negative "
            f"(min depth {float(depth_field.min()):.3g}); lower amplitude or rossby, or raise mean_depth"
        )
    return torch.cat((depth_field.unsqueeze(1), fields[:, 1:]), dim=1)


def geostrophic_jet(
    grid: PeriodicGrid,
    *,
    coriolis,
    gravity=1.0,
    mean_depth=1.0,
    jet_speed: float = 0.5,
    jet_width: float | None = None,
    rotational_scheme: str = "arakawa_lamb",
    perturbation: float = 0.0,
    perturbation_wavenumber: int = 4,
    tolerance: float = 1e-13,
) -> torch.Tensor:
    """Two opposite zonal Bickley jets ``u(y) = U [sech²((y − L/4)/w) − sech²((y − 3L/4)/w)]``
    with ``h(y)`` in exact discrete balance: a steady state of :class:`ShallowWater` with
    ``ν = ν₄ = μ = 0`` and the given ``rotational_scheme``.

    For a zonal flow only the v-equation has work to do; its balance ``(f + ζ) U/h = −∂y(g h + K)``
    (``f u = −g ∂y h`` in the continuum, where ``ζu`` and ``∂y K`` cancel) is solved to round-off
    by Newton's method on the C-grid operators themselves. Closing the periodic balance takes a
    small uniform flow ``u₀`` (zero in the continuum by the jets' antisymmetry), solved alongside.
    ``perturbation`` adds ``perturbation·(max h − min h)·cos(2π k x/L)`` at the jets, which seeds
    their barotropic instability. Default width ``w = L/20``.
    """
    require(rotational_scheme in ROTATIONAL_SCHEMES, "rotational_scheme",
            f"one of {', '.join(ROTATIONAL_SCHEMES)}", rotational_scheme)
    width = grid.length / 20 if jet_width is None else jet_width
    require(0 < width < grid.length / 4, "initial_condition.jet_width", f"in (0, {grid.length / 4:.4g})", width)
    require(perturbation >= 0, "initial_condition.perturbation", ">= 0", perturbation)
    require(isinstance(perturbation_wavenumber, int) and 0 < perturbation_wavenumber < grid.n // 3,
            "initial_condition.perturbation_wavenumber", f"an integer in [1, {grid.n // 3 - 1}]",
            perturbation_wavenumber)
    # The balance is solved, and the fields built, in float64 and only then rounded to the grid's
    # dtype: Newton cannot reach a round-off tolerance below the arithmetic's own precision, and
    # rounding a float64 balance leaves a float32 jet balanced to float32 round-off.
    target = grid
    grid = grid.to(dtype=torch.float64)
    f, g, depth = _parameters(grid, coriolis, gravity, mean_depth)
    batch = max(f.shape[0], g.shape[0], depth.shape[0])
    f, g, depth = (p.expand(batch, 1, 1).reshape(-1) for p in (f, g, depth))
    if not bool((f != 0).all()):
        raise ParameterError(f"coriolis must be nonzero for a geostrophic jet (got {f.tolist()})")

    n, L = grid.n, grid.length
    y = grid.coordinates

    def distance(centre):  # periodic distance, so the profile has no seam at y = 0
        return torch.remainder(y - centre + L / 2, L) - L / 2

    profile = jet_speed * (torch.cosh(distance(L / 4) / width) ** -2 - torch.cosh(distance(3 * L / 4) / width) ** -2)
    envelope = torch.cosh(distance(L / 4) / width) ** -2 + torch.cosh(distance(3 * L / 4) / width) ** -2

    columns = []
    for b in range(batch):
        columns.append(_balanced_depth(grid, profile, float(f[b]), float(g[b]), float(depth[b]),
                                       rotational_scheme, tolerance))
    h = torch.stack([c[0] for c in columns])  # (batch, n) in y
    u = profile + torch.stack([c[1] for c in columns]).reshape(-1, 1)
    if not bool((h > 0).all()):
        raise ParameterError(f"initial_condition.jet_speed: {jet_speed} makes the balanced depth negative; "
                             "lower it or raise mean_depth")
    fields = torch.zeros(batch, 3, n, n, dtype=grid.dtype, device=grid.device)
    fields[:, 0] = h[:, :, None]
    fields[:, 1] = u[:, :, None]
    if perturbation > 0:
        x = grid.coordinates
        swing = (h.amax(dim=1) - h.amin(dim=1)).reshape(-1, 1, 1)
        bump = torch.cos(2 * math.pi * perturbation_wavenumber * x / L)[None, :] * envelope[:, None]
        fields[:, 0] += perturbation * swing * bump
    return fields.to(target.dtype)


def _balanced_depth(grid, profile, f, g, depth, rotational_scheme, tolerance):
    """Newton's method for ``(h(y), u₀)``: zero v-tendency at every y-face and mean depth ``H``."""
    n = grid.n
    equation = ShallowWater(grid, coriolis=f, gravity=g, mean_depth=depth, rotational_scheme=rotational_scheme)

    def residual(unknowns):
        # The flow is independent of x, and the stencils only roll the arrays, so one column
        # (state shaped (1, 3, n, 1)) carries the whole balance at O(n) cost.
        h, u0 = unknowns[:n], unknowns[n]
        state = torch.stack((h - depth, profile + u0, torch.zeros_like(h)))[None, :, :, None]
        dv = equation.explicit_terms(state)[0, 2, :, 0]
        return torch.cat((dv, (h.mean() - depth).reshape(1) * g))

    # Start from the continuum balance f u = −g ∂y h, integrated across the faces.
    face_mean = 0.5 * (profile + torch.roll(profile, -1))
    h = torch.cumsum(-f / g * face_mean * grid.spacing, dim=0)
    unknowns = torch.cat((torch.roll(h, 1) - h.mean() + depth, profile.new_zeros(1)))
    scale = abs(f) * float(profile.abs().max()) + 1e-300
    for _ in range(30):
        r = residual(unknowns)
        if float(r.abs().max()) <= tolerance * scale:
            break
        jacobian = torch.autograd.functional.jacobian(residual, unknowns)
        unknowns = unknowns - torch.linalg.solve(jacobian, r)
    else:
        raise ParameterError("initial_condition: no discretely balanced jet found (Newton did not converge); "
                             "lower jet_speed")
    return unknowns[:n].detach(), unknowns[n].detach()


__all__ = ["balanced_random", "geostrophic_jet", "gravity_wave", "inertia_gravity_frequency"]
