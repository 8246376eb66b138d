"""Vorticity forcings ``F(x, y)`` of unit amplitude; the amplitude is a per-sample parameter.

``diagonal_modes`` is a family rather than one pattern: four unit patterns, each with its own
per-sample coefficient (the builder sums them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import require
from .grid import PeriodicGrid


@dataclass(frozen=True)
class ForcingDefaults:
    amplitude: float
    drag: float


# Defaults from the literature setups each forcing reproduces.
FORCING_DEFAULTS = {
    "fno": ForcingDefaults(amplitude=0.1, drag=0.0),  # Li et al. (2021), L = 1
    "kolmogorov": ForcingDefaults(amplitude=1.0, drag=0.1),  # Kochkov et al. (2021), L = 2π
    "none": ForcingDefaults(amplitude=0.0, drag=0.0),
    # Each pattern has its own coefficient (the amplitude is 1); the defaults give the FNO forcing.
    "diagonal_modes": ForcingDefaults(amplitude=1.0, drag=0.0),
}

# The unit patterns of ``diagonal_modes``, in order: sin and cos along the wave vectors (k, k)
# ("plus") and (k, −k) ("minus").
DIAGONAL_MODES = ("sin_plus", "cos_plus", "sin_minus", "cos_minus")
DIAGONAL_MODE_DEFAULTS = {"sin_plus": 0.1, "cos_plus": 0.1, "sin_minus": 0.0, "cos_minus": 0.0}


def fno_forcing(grid: PeriodicGrid) -> torch.Tensor:
    """``sin(2π(x+y)/L) + cos(2π(x+y)/L)``: the forcing of the original FNO Navier–Stokes data."""
    x, y = grid.mesh()
    phase = 2 * math.pi * (x + y) / grid.length
    return torch.sin(phase) + torch.cos(phase)


def kolmogorov_forcing(grid: PeriodicGrid, wavenumber: int = 4) -> torch.Tensor:
    """Curl of the velocity forcing ``(sin(k y·2π/L), 0)``: ``-k(2π/L) cos(k y·2π/L)``."""
    require(isinstance(wavenumber, int) and 1 <= wavenumber < grid.n // 3, "forcing.wavenumber",
            f"an integer in [1, {grid.n // 3 - 1}] (resolved by the {grid.n}² grid)", wavenumber)
    _, y = grid.mesh()
    kappa = 2 * math.pi * wavenumber / grid.length
    return -kappa * torch.cos(kappa * y)


def diagonal_modes(grid: PeriodicGrid, wavenumber: int = 1) -> torch.Tensor:
    """``(4, n, n)``: ``sin, cos`` of ``κ(x+y)`` and of ``κ(x−y)``, ``κ = 2πk/L`` (see :data:`DIAGONAL_MODES`).

    A forcing ``Σ c_m · pattern_m`` with per-sample coefficients spans a low-wavenumber family that
    contains the FNO forcing (``c = (a, a, 0, 0)``, ``k = 1``), so a surrogate conditioned on the four
    coefficients can be asked to design the forcing pattern itself.
    """
    require(isinstance(wavenumber, int) and 1 <= wavenumber < grid.n // 3, "forcing.wavenumber",
            f"an integer in [1, {grid.n // 3 - 1}] (resolved by the {grid.n}² grid)", wavenumber)
    x, y = grid.mesh()
    kappa = 2 * math.pi * wavenumber / grid.length
    plus, minus = kappa * (x + y), kappa * (x - y)
    return torch.stack((torch.sin(plus), torch.cos(plus), torch.sin(minus), torch.cos(minus)))


def forcing_pattern(kind: str, grid: PeriodicGrid, **params) -> torch.Tensor | None:
    """The unit-amplitude vorticity forcing of a named kind (``None`` for ``none``)."""
    if kind == "fno":
        require(not params, "forcing", "without extra parameters for kind 'fno'", params)
        return fno_forcing(grid)
    if kind == "kolmogorov":
        unknown = set(params) - {"wavenumber"}
        require(not unknown, "forcing", "given only 'wavenumber' for kind 'kolmogorov'", sorted(unknown))
        return kolmogorov_forcing(grid, **params)
    if kind == "diagonal_modes":
        unknown = set(params) - {"wavenumber"}
        require(not unknown, "forcing", "given only 'wavenumber' for kind 'diagonal_modes'", sorted(unknown))
        return diagonal_modes(grid, **params)
    if kind == "none":
        return None
    require(False, "forcing.kind", f"one of {sorted(FORCING_DEFAULTS)}", kind)
