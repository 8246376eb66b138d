"""Equation builders: how a dataset config becomes an equation, initial states and saved fields.

One module per equation holds its config schema (sections, kinds, settings, per-sample
parameters) and its build methods; :mod:`.declarations` holds what they declare with.
"""

from __future__ import annotations

from .declarations import VISCOSITY, EquationBuilder, Kind, SampledParameter, Section, Setting
from .navier_stokes import NavierStokesBuilder, NavierStokesFiniteDifferenceBuilder
from .shallow_water import ShallowWaterBuilder

BUILDERS: dict[tuple[str, str], EquationBuilder] = {
    (b.equation_name, b.solver): b
    for b in (NavierStokesBuilder(), NavierStokesFiniteDifferenceBuilder(), ShallowWaterBuilder())
}

__all__ = [
    "BUILDERS", "VISCOSITY", "EquationBuilder", "Kind", "NavierStokesBuilder", "NavierStokesFiniteDifferenceBuilder",
    "SampledParameter", "Section", "Setting", "ShallowWaterBuilder",
]
