"""Equations: each supplies explicit terms, an implicit linear part and its solve."""

from .base import Equation
from .navier_stokes import NavierStokesSpectral
from .navier_stokes_fd import NavierStokesFD
from .shallow_water import ShallowWater

__all__ = ["Equation", "NavierStokesSpectral", "NavierStokesFD", "ShallowWater"]
