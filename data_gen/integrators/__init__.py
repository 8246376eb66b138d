"""Time integrators, generic over equations; pick one by name with :func:`make_integrator`."""

from __future__ import annotations

from ..checks import require
from ..equations.base import Equation
from .base import Integrator
from .etd import ETDRK4, phi_functions
from .explicit import RK4, SSPRK3
from .imex import CrankNicolsonRK2, CrankNicolsonRK4, EulerCrankNicolson

INTEGRATORS: dict[str, type[Integrator]] = {
    cls.name: cls for cls in (CrankNicolsonRK4, CrankNicolsonRK2, EulerCrankNicolson, ETDRK4, RK4, SSPRK3)
}


def make_integrator(scheme: str | None, equation: Equation) -> Integrator:
    """The integrator ``scheme`` bound to ``equation`` (``None``: the equation's default)."""
    if scheme is None:
        scheme = equation.schemes[0]
    require(scheme in equation.schemes, "scheme",
            f"one of {', '.join(equation.schemes)} for {type(equation).__name__}", scheme)
    return INTEGRATORS[scheme](equation)


__all__ = [
    "INTEGRATORS", "Integrator", "make_integrator", "phi_functions",
    "CrankNicolsonRK4", "CrankNicolsonRK2", "EulerCrankNicolson", "ETDRK4", "RK4", "SSPRK3",
]
