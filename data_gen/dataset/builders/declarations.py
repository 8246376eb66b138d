"""What a builder declares: its config sections, their kinds and settings, and the build methods.

The config validator and the generator talk to solvers only through :class:`EquationBuilder`, so
adding a solver to the dataset pipeline is one more builder in :data:`~data_gen.dataset.builders.BUILDERS`.
The validator checks a config against the declaration; the generator calls
:meth:`EquationBuilder.equation`, :meth:`~EquationBuilder.initial_fields` and
:meth:`~EquationBuilder.saved_fields`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

import torch

from ...equations.base import Equation
from ...grid import PeriodicGrid
from ...stepper import Stepper


@dataclass(frozen=True)
class Setting:
    """A value fixed for the whole dataset (a forcing wavenumber, a spectral slope, a scheme name)."""

    type: type  # int, float or str
    default: float | int | str | None  # None: optional, the solver's own default applies
    minimum: float | None = None
    exclusive: bool = False  # the minimum itself is refused
    choices: tuple[str, ...] = ()  # for str settings


@dataclass(frozen=True)
class SampledParameter:
    """A physical parameter that may differ between samples; saved as a ``(sample,)`` variable.

    In a config it is a number or a range ``{uniform: [low, high]}`` / ``{log_uniform: [low, high]}``.
    """

    name: str  # netCDF variable name and keyword of the equation's constructor
    long_name: str
    default: float | None  # None: the config must give it
    minimum: float | None = 0.0  # None: any sign
    exclusive: bool = False
    units: str = "1"


@dataclass(frozen=True)
class Kind:
    """One choice of a config section (``forcing: {kind: kolmogorov, ...}``) and what it accepts."""

    settings: dict[str, Setting] = field(default_factory=dict)
    sampled: dict[str, SampledParameter] = field(default_factory=dict)  # config key -> parameter


@dataclass(frozen=True)
class Section:
    """A config section. ``kinds`` keyed by ``kind``; a section without kinds has the single key ``""``."""

    kinds: dict[str, Kind]
    default_kind: str | None = None  # None: the section (and its kind) must be given


VISCOSITY = SampledParameter("viscosity", "kinematic viscosity", default=float("nan"), exclusive=True)


class EquationBuilder:
    """Base class; subclasses fill in the declarations and the three build methods."""

    equation_name: str = ""
    solver: str = ""
    # Where the equation class lives, imported on first use so that a builder can be declared
    # before (or without) its solver module.
    equation_module: str = ""
    equation_class_name: str = ""
    # saved variable -> (long_name, units)
    variables: dict[str, tuple[str, str]] = {}
    default_variables: tuple[str, ...] = ()
    sections: dict[str, Section] = {}
    # Units of lengths and times (CF: "1" for a nondimensional model).
    length_units: str = "1"
    time_units: str = "1"

    # --- declarations ---------------------------------------------------------------------
    def available(self) -> bool:
        return importlib.util.find_spec(self.equation_module) is not None

    @property
    def equation_class(self) -> type[Equation]:
        return getattr(importlib.import_module(self.equation_module), self.equation_class_name)

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(self.equation_class.schemes)

    # --- building -------------------------------------------------------------------------
    def equation(self, grid: PeriodicGrid, sections: dict[str, dict], parameters: dict[str, torch.Tensor]) -> Equation:
        raise NotImplementedError

    def initial_fields(self, grid: PeriodicGrid, sections: dict[str, dict], split_seed: int, indices: list[int],
                       parameters: dict[str, torch.Tensor]) -> torch.Tensor:
        """The physical fields the stepper takes, for samples ``indices`` of the split seeded ``split_seed``
        (``parameters``: their per-sample values, for initial states balanced by the physics)."""
        raise NotImplementedError

    def stepper(self, equation: Equation, interval: float, scheme: str, cfl: float, max_dt: float | None,
                compile: bool = False) -> Stepper:
        return Stepper(equation, interval, scheme, cfl, max_dt, compile=compile)

    def saved_fields(self, equation: Equation, fields: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
        """``(batch, len(names), n, n)`` on the simulation grid, all at the points ``x_i = i·L/n``."""
        raise NotImplementedError

    def vorticity(self, equation: Equation, fields: torch.Tensor) -> torch.Tensor:
        """``(batch, n, n)`` relative vorticity, for the resolution check."""
        raise NotImplementedError

    def highest_retained_wavenumber(self, n: int) -> int:
        """``K``: the resolution check watches the shell ``K−1 < |k| ≤ K`` of an ``n²`` simulation."""
        raise NotImplementedError


def finite_difference_cutoff(n: int) -> int:
    # Finite differences drop no modes: everything up to the Nyquist wavenumber n/2 is kept, and
    # n/2 − 1 is the largest shell that lies whole inside the grid's square of wavenumbers.
    return n // 2 - 1
