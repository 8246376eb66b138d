"""The symmetry group each dataset declares, computed from its config (equation, forcing, domain).

A lattice map ``g(x) = R x + a`` is a symmetry of the 2-D vorticity equation
``∂ω/∂t + u·∇ω = ν Δω − μ ω + F`` exactly when it maps the forcing to itself with the
pseudo-scalar sign rule, ``det(R) · F(g⁻¹ x) = F(x)``: advection, diffusion and drag commute with
every isometry once ω takes its sign (and u its rotation). Viscosity and drag do not enter, so the
group is the same on both sides of a viscosity shift. The rotating shallow-water equations on the
f-plane have no forcing but the Coriolis term ``f ẑ × u``, which a reflection reverses: with
``f ≠ 0`` only the rotations (``det R = +1``) remain.

The group of a forcing is found on the saved grid itself, by testing every ``(R, a)`` against the
sampled pattern (which determines a band-limited forcing): for each ``R`` the squared distance
``‖g·F − F‖²`` for all shifts ``a`` at once is a circular cross-correlation, one FFT. The same
search on a grid 24× finer finds the point-group elements whose shift the saved grid cannot
realise; such a grid is refused, because silently losing them would change the group.
What this gives for the shipped forcings (checked against the solver in the tests):

* ``fno`` (``sin 2π(x+y) + cos 2π(x+y)``, L = 1): ``I, −I, S, −S`` with ``a₁ + a₂ ≡ 0, ¼, ½, ¾``
  (×L); the saved grid needs ``n ≡ 0 mod 4``;
* ``kolmogorov`` (``cos(2πk y/L)``): every shift in x, y-shifts by L/k; ``−I`` with them; the axis
  reflections only with a y-shift of L/(2k) more (shift-reflect); ``n ≡ 0 mod 2k``;
* ``none``: every shift and all 8 maps; shallow water (f-plane): every shift and the 4 rotations;
* ``diagonal_modes``: per sample, whatever its coefficients leave invariant
  (:func:`sample_symmetry`); the dataset declares what every coefficient vector leaves invariant
  (the common stabiliser of the four unit patterns).
"""

from __future__ import annotations

import math

import torch

from ..forcing import DIAGONAL_MODES, forcing_pattern
from ..grid import PeriodicGrid
from .group import SymmetryGroup
from .lattice import POINT_GROUP, LatticeMap, SymmetryError

REFINEMENT = 24  # the finer grid on which missing point-group elements are looked for
ROTATIONS = ("identity", "rotate_90", "rotate_180", "rotate_270")
TOLERANCE = 1e-9  # relative squared distance: round-off is ~1e-30, the nearest non-member ~1e-3


def invariant_shifts(pattern: torch.Tensor, point: str) -> torch.Tensor:
    """``(y, x)`` boolean: which shifts ``a`` make ``(R, a)`` leave the pseudo-scalar ``pattern`` invariant."""
    n = pattern.shape[-1]
    f = pattern.to(torch.float64)
    moved = LatticeMap(point, (0, 0), n).apply(f[None], ["forcing"])[0]  # det(R)·f(R⁻¹x)
    # roll(moved, a) = g·f for g = (R, a): ‖g·f − f‖² from Σ_x f(x)·moved(x − a), for every a at once.
    correlation = torch.fft.ifft2(torch.fft.fft2(f) * torch.fft.fft2(moved).conj()).real
    norm2 = float((f * f).sum())
    return (2 * norm2 - 2 * correlation) <= TOLERANCE * max(norm2, 1e-300)


def stabiliser(pattern: torch.Tensor | None, n: int, points=tuple(POINT_GROUP)) -> SymmetryGroup:
    """Every lattice map with ``R`` in ``points`` that leaves the pseudo-scalar ``pattern (n, n)``
    invariant (``None``: no forcing, every shift)."""
    if pattern is None:
        every = frozenset((x, y) for x in range(n) for y in range(n))
        return SymmetryGroup(n, every, {p: (0, 0) for p in points})
    found: dict[str, list[tuple[int, int]]] = {}
    for point in points:
        ys, xs = torch.nonzero(invariant_shifts(pattern, point), as_tuple=True)
        if len(xs):
            found[point] = [(int(x), int(y)) for x, y in zip(xs, ys)]
    translations = frozenset(found["identity"])
    return SymmetryGroup(n, translations, {p: min(shifts) for p, shifts in found.items()})


def unit_patterns(forcing: dict, n: int, length: float = 1.0) -> list[torch.Tensor | None]:
    """The unit vorticity forcing patterns of a config's ``forcing`` section on an ``n`` grid
    (four for ``diagonal_modes``; ``[None]`` for no forcing)."""
    forcing = dict(forcing)
    kind = forcing.pop("kind")
    grid = PeriodicGrid(n, length, torch.float64)
    pattern = forcing_pattern(kind, grid, **forcing)
    if kind == "diagonal_modes":
        return list(pattern)
    return [pattern]


def _unit_patterns(config, n: int) -> list[torch.Tensor | None]:
    return unit_patterns(config.sections["forcing"], n, config.domain_length)


def _points(config) -> tuple[str, ...]:
    if config.equation == "shallow_water":
        coriolis = config.sampled["coriolis"][1]
        if getattr(coriolis, "value", None) == 0.0:
            return tuple(POINT_GROUP)
        return ROTATIONS  # f ẑ × u: a reflection reverses the sense of rotation
    return tuple(POINT_GROUP)


def _points_on(forcing: dict, points, n: int) -> dict[str, tuple[int, int]]:
    """The point-group elements that occur with some shift on an ``n`` grid, each with one shift."""
    patterns = [p for p in unit_patterns(forcing, n) if p is not None]
    if not patterns:
        return {p: (0, 0) for p in points}
    found = {}
    for point in points:
        common = None
        for pattern in patterns:
            ok = invariant_shifts(pattern, point)
            common = ok if common is None else common & ok
        ys, xs = torch.nonzero(common, as_tuple=True)
        if len(xs):
            found[point] = (int(xs[0]), int(ys[0]))
    return found


def forcing_group(forcing: dict, n: int, points=tuple(POINT_GROUP)) -> SymmetryGroup:
    """The lattice maps of an ``n`` grid, with ``R`` among ``points``, that leave the vorticity
    forcing of a config's ``forcing`` section invariant (all four patterns for ``diagonal_modes``);
    refused in one line when the grid cannot realise a shift one of them needs."""
    key = (repr(sorted(forcing.items())), n, tuple(points))
    if key not in _GROUPS:
        groups = [stabiliser(p, n, points) for p in unit_patterns(forcing, n)]
        group = groups[0]
        for other in groups[1:]:
            group = group.intersection(other)
        fine = _points_on(forcing, points, n * REFINEMENT)
        lost = [p for p in fine if p not in group.cosets]
        if lost:
            ax, ay = fine[lost[0]]
            m = n * REFINEMENT
            needs = math.lcm(m // math.gcd(ax, m) if ax else 1, m // math.gcd(ay, m) if ay else 1)
            raise SymmetryError(f"saved_resolution {n}: the forcing's symmetry {lost[0]} needs a shift of "
                                f"({ax}, {ay})·L/{m}, which the {n}-point grid cannot realise; use a grid "
                                f"that is a multiple of {needs}")
        _GROUPS[key] = group
    return _GROUPS[key]


_GROUPS: dict[tuple, SymmetryGroup] = {}  # the search on the fine grid takes ~1 s


def declared_symmetry(config, n: int | None = None) -> SymmetryGroup:
    """The group of lattice maps of the saved grid (``n``: another grid) under which the
    dataset's equations and forcing are invariant; refused when ``n`` cannot realise a needed shift."""
    n = n or config.saved_resolution
    if config.equation != "navier_stokes":
        return stabiliser(None, n, _points(config))
    return forcing_group(config.sections["forcing"], n, _points(config))


def sample_symmetry(config, parameters: dict[str, float], n: int | None = None) -> SymmetryGroup:
    """The group of one sample: for ``diagonal_modes`` what its coefficients leave invariant
    (``parameters`` holds ``forcing_sin_plus`` …); otherwise the dataset's declared group."""
    n = n or config.saved_resolution
    if config.equation != "navier_stokes" or config.sections["forcing"]["kind"] != "diagonal_modes":
        return declared_symmetry(config, n)
    patterns = _unit_patterns(config, n)
    pattern = sum(float(parameters[f"forcing_{mode}"]) * p for mode, p in zip(DIAGONAL_MODES, patterns))
    return stabiliser(pattern if float(pattern.abs().max()) > 0 else None, n, _points(config))


def symmetry_record(config) -> dict:
    """What ``manifest.json`` records under ``symmetry``: the group, or why the grid has none declared."""
    try:
        group = declared_symmetry(config)
    except SymmetryError as error:
        return {"unavailable": str(error)}
    record = {"acts_on": "the saved grid, x_i = i·L/n; shifts in cells",
              "rule": "scalar s(g⁻¹x); pseudo-scalar (vorticity) det(R)·ω(g⁻¹x); velocity R·u(g⁻¹x)",
              **group.to_record()}
    if config.equation == "navier_stokes" and config.sections["forcing"]["kind"] == "diagonal_modes":
        record["per_sample"] = "each sample's forcing may be invariant under more (data_gen.symmetry.sample_symmetry)"
    return record


def manifest_config(manifest: dict):
    """The generation config a manifest stores (``None`` for an imported dataset)."""
    from ..dataset.config import parse_settings

    text = manifest.get("config")
    return parse_settings(text, source="manifest.json config") if isinstance(text, str) else None


def manifest_symmetry(manifest: dict) -> SymmetryGroup:
    """The declared group of a dataset from its manifest; a manifest written before groups were
    recorded gets it computed from its stored config."""
    record = manifest.get("symmetry")
    if record is None:
        config = manifest_config(manifest)
        if config is None:
            raise SymmetryError("manifest.json: records neither a symmetry group nor a generation config (an "
                                "imported dataset), so no group is declared")
        return declared_symmetry(config)
    if "unavailable" in record:
        raise SymmetryError(f"manifest.json symmetry: {record['unavailable']}")
    return SymmetryGroup.from_record(record, "manifest.json symmetry")
