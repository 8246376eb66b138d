"""The equation-specific sections of a dataset config, checked against their builder's declaration.

Which sections an equation has (forcing, initial condition, physical parameters) and what each
kind accepts is declared with the equation's builder in :mod:`data_gen.dataset.builders`; this
module reads a config's sections against that declaration.
"""

from __future__ import annotations

from .builders import BUILDERS, EquationBuilder, Section
from .distributions import Constant
from .schema import choice, fail, mapping, sampled_law, setting_value, type_name


def parse_builder(raw: dict) -> EquationBuilder:
    """The builder named by ``equation`` and ``solver`` (the first solver of the equation by default)."""
    equations = sorted({e for e, _ in BUILDERS})
    equation = choice(raw.get("equation"), "equation", equations)
    solvers = [s for e, s in BUILDERS if e == equation]
    solver = choice(raw.get("solver", solvers[0]), "solver", solvers)
    builder = BUILDERS[(equation, solver)]
    if not builder.available():
        fail("solver", f"{solver} for {equation} needs the module {builder.equation_module}, "
                       "which this installation lacks")
    return builder


def parse_section(raw, name: str, section: Section) -> tuple[dict, dict, dict]:
    """``(settings with kind, sampled name -> (parameter, law), resolved)`` of one section."""
    if raw is None:
        if section.default_kind is None:
            fail(name, "is required")
        raw = {"kind": section.default_kind}
    kinds = section.kinds
    has_kind = "" not in kinds
    if has_kind:
        if not isinstance(raw, dict):
            fail(name, f"must be a mapping with a 'kind' (one of {', '.join(kinds)}) (got {type_name(raw)})")
        if raw.get("kind", section.default_kind) is None:
            fail(f"{name}.kind", f"is required (one of {', '.join(kinds)})")
        kind_name = choice(raw.get("kind", section.default_kind), f"{name}.kind", kinds)
    else:
        kind_name = ""
    kind = kinds[kind_name]
    accepted = (["kind"] if has_kind else []) + list(kind.settings) + list(kind.sampled)
    mapping(raw, name, accepted)
    settings = {"kind": kind_name} if has_kind else {}
    for key, setting in kind.settings.items():
        settings[key] = setting_value(raw.get(key), f"{name}.{key}", setting)
    sampled, resolved = {}, dict(settings)
    for key, parameter in kind.sampled.items():
        if key in raw:
            law = sampled_law(raw[key], f"{name}.{key}", parameter)
        elif parameter.default is None:
            fail(f"{name}.{key}", "is required")
        else:
            law = Constant(parameter.default)
        sampled[parameter.name] = (parameter, law)
        resolved[key] = law.to_config()
    return settings, sampled, resolved
