"""The schema of a Navier–Stokes dataset config (spectral and finite-difference solvers) and how it
becomes an equation, initial vorticity and saved fields."""

from __future__ import annotations

import torch

from ...forcing import DIAGONAL_MODE_DEFAULTS, DIAGONAL_MODES, FORCING_DEFAULTS, forcing_pattern
from ...initial_conditions.vorticity import filtered_velocity, gaussian_random_field, taylor_green
from .declarations import EquationBuilder, Kind, SampledParameter, Section, Setting, finite_difference_cutoff


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
        return finite_difference_cutoff(n)
