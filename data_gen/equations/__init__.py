"""Equations: each supplies explicit terms, an implicit linear part and its solve."""

from .base import Equation
from .navier_stokes import NavierStokesSpectral

__all__ = ["Equation", "NavierStokesSpectral"]
