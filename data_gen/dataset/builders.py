"""Equation builders: how a dataset config becomes an equation, initial states and saved fields.

The config validator and the generator talk to solvers only through this interface, so adding a
solver to the dataset pipeline is one more entry in :data:`BUILDERS`. A builder declares what its
config sections accept (forcing and initial-condition kinds with their settings, and the physical
parameters that may vary per sample); the validator checks a config against that declaration and
the generator calls :meth:`EquationBuilder.equation`, :meth:`~EquationBuilder.initial_fields` and
:meth:`~EquationBuilder.saved_fields`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

import torch

from ..equations.base import Equation
from ..forcing import DIAGONAL_MODE_DEFAULTS, DIAGONAL_MODES, FORCING_DEFAULTS, forcing_pattern
from ..grid import PeriodicGrid
from ..initial_conditions import filtered_velocity, gaussian_random_field, taylor_green
from ..stepper import Stepper


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

    def stepper(self, equation: Equation, interval: float, scheme: str, cfl: float, max_dt: float | None) -> Stepper:
        return Stepper(equation, interval, scheme, cfl, max_dt)

    def saved_fields(self, equation: Equation, fields: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
        """``(batch, len(names), n, n)`` on the simulation grid, all at the points ``x_i = i·L/n``."""
        raise NotImplementedError

    def vorticity(self, equation: Equation, fields: torch.Tensor) -> torch.Tensor:
        """``(batch, n, n)`` relative vorticity, for the resolution check."""
        raise NotImplementedError

    def highest_retained_wavenumber(self, n: int) -> int:
        """``K``: the resolution check watches the shell ``K−1 < |k| ≤ K`` of an ``n²`` simulation."""
        raise NotImplementedError


def _finite_difference_cutoff(n: int) -> int:
    # Finite differences drop no modes: everything up to the Nyquist wavenumber n/2 is kept, and
    # n/2 − 1 is the largest shell that lies whole inside the grid's square of wavenumbers.
    return n // 2 - 1


def _navier_stokes_forcing_kinds() -> dict[str, Kind]:
    def sampled(kind: str, with_amplitude: bool = True) -> dict[str, SampledParameter]:
        defaults = FORCING_DEFAULTS[kind]
        params = {"drag": SampledParameter("drag", "linear drag coefficient", defaults.drag)}
        if with_amplitude:
            params["amplitude"] = SampledParameter("forcing_amplitude", "forcing amplitude", defaults.amplitude)
        return params

    return {
        "fno": Kind(sampled=sampled("fno")),
        "kolmogorov": Kind(settings={"wavenumber": Setting(int, 4, minimum=1)}, sampled=sampled("kolmogorov")),
        # An unforced flow has no amplitude to sweep; decaying turbulence may still have drag.
        "none": Kind(sampled=sampled("none", with_amplitude=False)),
        # One coefficient per unit pattern (any sign), e.g. sin_plus: {uniform: [-0.15, 0.15]}.
        "diagonal_modes": Kind(
            settings={"wavenumber": Setting(int, 1, minimum=1)},
            sampled={**sampled("diagonal_modes", with_amplitude=False), **{
                mode: SampledParameter(f"forcing_{mode}", f"coefficient of the {mode.replace('_', ' ')} forcing "
                                       "pattern", DIAGONAL_MODE_DEFAULTS[mode], minimum=None)
                for mode in DIAGONAL_MODES}},
        ),
    }


class NavierStokesBuilder(EquationBuilder):
    """Vorticity-form Navier–Stokes (the state is the vorticity field ``(batch, n, n)``)."""

    equation_name = "navier_stokes"
    solver = "spectral"
    equation_module = "data_gen.equations.navier_stokes"
    equation_class_name = "NavierStokesSpectral"
    variables = {
        "vorticity": ("relative vorticity", "1"),
        "u": ("velocity in x", "1"),
        "v": ("velocity in y", "1"),
    }
    default_variables = ("vorticity",)
    sections = {
        "forcing": Section(_navier_stokes_forcing_kinds(), default_kind="none"),
        "initial_condition": Section(
            {
                "gaussian_random_field": Kind(
                    settings={
                        "alpha": Setting(float, 2.5, minimum=1.0, exclusive=True),
                        "tau": Setting(float, 7.0, minimum=0.0, exclusive=True),
                        "sigma": Setting(float, None, minimum=0.0, exclusive=True),
                    }
                ),
                "filtered_velocity": Kind(
                    settings={
                        "peak_wavenumber": Setting(float, 4.0, minimum=0.0, exclusive=True),
                        "max_velocity": Setting(float, 1.0, minimum=0.0, exclusive=True),
                    }
                ),
                "taylor_green": Kind(
                    settings={"wavenumber": Setting(int, 1, minimum=1), "amplitude": Setting(float, 1.0)}
                ),
            }
        ),
    }

    def equation(self, grid, sections, parameters):
        forcing = dict(sections["forcing"])
        kind = forcing.pop("kind")
        pattern = forcing_pattern(kind, grid, **forcing)
        batch = parameters["viscosity"].shape[0]
        amplitude = parameters.get("forcing_amplitude", torch.zeros(batch, dtype=grid.dtype, device=grid.device))
        if kind == "diagonal_modes":  # a per-sample pattern: the coefficients carry the amplitude
            coefficients = torch.stack([parameters[f"forcing_{mode}"] for mode in DIAGONAL_MODES], dim=-1)
            pattern = torch.einsum("bm,myx->byx", coefficients.to(pattern.dtype), pattern)
            amplitude = torch.ones(batch, dtype=grid.dtype, device=grid.device)
        return self.equation_class(grid, parameters["viscosity"], parameters["drag"], pattern, amplitude)

    def initial_fields(self, grid, sections, split_seed, indices, parameters):
        settings = dict(sections["initial_condition"])
        kind = settings.pop("kind")
        settings = {k: v for k, v in settings.items() if v is not None}
        if kind == "gaussian_random_field":
            return gaussian_random_field(grid, split_seed, indices, **settings)
        if kind == "filtered_velocity":
            return filtered_velocity(grid, split_seed, indices, **settings)
        if kind == "taylor_green":
            return taylor_green(grid, batch=len(indices), **settings)
        raise AssertionError(f"initial condition {kind!r} passed validation but has no builder")

    def saved_fields(self, equation, fields, names):
        by_name = {"vorticity": fields}
        if "u" in names or "v" in names:
            # The solver's own velocity (dealiased, or from its discrete streamfunction), not a
            # re-derivation that would disagree with what it advected.
            velocity = equation.velocity(equation.encode(fields))
            by_name["u"], by_name["v"] = velocity[:, 0], velocity[:, 1]
        return torch.stack([by_name[name] for name in names], dim=1)

    def vorticity(self, equation, fields):
        return fields

    def highest_retained_wavenumber(self, n):
        return (n - 1) // 3  # the 2/3-rule dealiasing cutoff (PeriodicGrid.dealias_mask)


class NavierStokesFiniteDifferenceBuilder(NavierStokesBuilder):
    """The finite-difference cross-check solver: same config, same fields, collocated at ``i·L/n``."""

    solver = "finite_difference"
    equation_module = "data_gen.equations.navier_stokes_fd"
    equation_class_name = "NavierStokesFD"

    def highest_retained_wavenumber(self, n):
        return _finite_difference_cutoff(n)


class ShallowWaterBuilder(EquationBuilder):
    """Rotating shallow water on a C-grid; the state is ``(batch, 3, n, n)`` holding ``(h, u, v)``.

    Config: ``physics: {coriolis, gravity, mean_depth, hyperviscosity, drag, rotational_scheme}``
    (the first five per-sample: a number or a range), ``initial_condition: {kind: balanced_random |
    geostrophic_jet, ...}``, viscosity per split as for Navier–Stokes. Saved fields are the solver's
    ``to_output``: every variable at the cell centres ``x_i = i·L/n``.
    """

    equation_name = "shallow_water"
    solver = "finite_difference"
    equation_module = "data_gen.equations.shallow_water"
    equation_class_name = "ShallowWater"
    variables = {
        "height": ("fluid depth", "1"),
        "u": ("velocity in x", "1"),
        "v": ("velocity in y", "1"),
        "vorticity": ("relative vorticity", "1"),
    }
    default_variables = ("height", "u", "v", "vorticity")
    sections = {
        "physics": Section({"": Kind(
            settings={"rotational_scheme": Setting(str, "arakawa_lamb", choices=("arakawa_lamb", "sadourny_energy"))},
            sampled={
                "coriolis": SampledParameter("coriolis", "Coriolis parameter", None, minimum=None),
                "gravity": SampledParameter("gravity", "gravitational acceleration", 1.0, exclusive=True),
                "mean_depth": SampledParameter("mean_depth", "mean fluid depth", 1.0, exclusive=True),
                "hyperviscosity": SampledParameter("hyperviscosity", "biharmonic viscosity", 0.0),
                "drag": SampledParameter("drag", "linear drag coefficient", 0.0),
            },
        )}),
        "initial_condition": Section({
            "balanced_random": Kind(settings={
                "peak_wavenumber": Setting(float, 6.0, minimum=0.0, exclusive=True),
                "amplitude": Setting(float, None, minimum=0.0, exclusive=True),
                "rossby": Setting(float, None, minimum=0.0, exclusive=True),
            }),
            "geostrophic_jet": Kind(settings={
                "jet_speed": Setting(float, 0.5),
                "jet_width": Setting(float, None, minimum=0.0, exclusive=True),
                "perturbation": Setting(float, 0.0, minimum=0.0),
                "perturbation_wavenumber": Setting(int, 4, minimum=1),
            }),
        }),
    }
    _physics = ("coriolis", "gravity", "mean_depth")

    def equation(self, grid, sections, parameters):
        names = ("coriolis", "gravity", "mean_depth", "viscosity", "hyperviscosity", "drag")
        return self.equation_class(grid, **{name: parameters[name] for name in names},
                                   rotational_scheme=sections["physics"]["rotational_scheme"])

    def initial_fields(self, grid, sections, split_seed, indices, parameters):
        from ..shallow_water_initial import balanced_random, geostrophic_jet

        settings = {k: v for k, v in sections["initial_condition"].items() if v is not None}
        kind = settings.pop("kind")
        physics = {name: parameters[name] for name in self._physics}
        if kind == "balanced_random":
            return balanced_random(grid, split_seed, indices, **physics, **settings)
        if kind == "geostrophic_jet":
            rotational_scheme = sections["physics"]["rotational_scheme"]
            return geostrophic_jet(grid, **physics, rotational_scheme=rotational_scheme, **settings)
        raise AssertionError(f"initial condition {kind!r} passed validation but has no builder")

    def saved_fields(self, equation, fields, names):
        output = equation.to_output(fields)
        order = list(equation.output_variables)
        return output[:, [order.index(name) for name in names]]

    def vorticity(self, equation, fields):
        output = equation.to_output(fields)
        return output[:, list(equation.output_variables).index("vorticity")]

    def highest_retained_wavenumber(self, n):
        return _finite_difference_cutoff(n)


BUILDERS: dict[tuple[str, str], EquationBuilder] = {
    (b.equation_name, b.solver): b
    for b in (NavierStokesBuilder(), NavierStokesFiniteDifferenceBuilder(), ShallowWaterBuilder())
}
