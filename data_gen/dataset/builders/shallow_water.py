"""The schema of a shallow-water dataset config and how it becomes an equation, balanced initial
fields and saved fields."""

from __future__ import annotations

from .declarations import EquationBuilder, Kind, SampledParameter, Section, Setting, finite_difference_cutoff


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
        from ...initial_conditions.shallow_water import balanced_random, geostrophic_jet

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
        return finite_difference_cutoff(n)
