"""``torch.compile`` of an equation's explicit evaluation, with an eager fallback.

A finite-difference evaluation is dozens of elementwise passes and shifted copies over the grid
(the shallow-water tendencies about 60), each a separate loop in eager mode and a separate kernel
launch on a GPU. Inductor fuses them into a few loops. Spectral evaluations gain little (Inductor
generates no complex arithmetic, and the transforms dominate), so an equation opts in with
``compiles_well``. Compilation takes tens of seconds per shape, so it pays only for long runs: the
benchmark ``benchmarks/solver_throughput.py --compile`` reports the compile time and after how
many steps it is repaid.

The compiled functions are used only without autograd (dataset generation); a gradient through
the solver takes the eager path, whose graph the tests check. If compilation fails (no C++
compiler, an unsupported device), one warning is given and the eager functions are used.
"""

from __future__ import annotations

import warnings

import torch

from .equations.base import Equation


class CompiledEvaluation:
    """``equation`` with ``explicit_terms`` and ``explicit_terms_and_max_speed`` compiled.

    Every other attribute is the equation's own, so integrators use it as the equation itself.
    """

    def __init__(self, equation: Equation):
        self._equation = equation
        self._compiled = {
            name: torch.compile(getattr(equation, name), dynamic=False)
            for name in ("explicit_terms", "explicit_terms_and_max_speed")
        }
        self._failed = False

    def __getattr__(self, name):
        return getattr(self._equation, name)

    def _call(self, name: str, state: torch.Tensor):
        if self._failed or torch.is_grad_enabled():
            return getattr(self._equation, name)(state)
        try:
            return self._compiled[name](state)
        except Exception as error:  # noqa: BLE001 -- any compiler failure means: run eagerly
            self._failed = True
            warnings.warn(f"torch.compile of {type(self._equation).__name__}.{name} failed "
                          f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                          "running eagerly", RuntimeWarning, stacklevel=3)
            return getattr(self._equation, name)(state)

    def explicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return self._call("explicit_terms", state)

    def explicit_terms_and_max_speed(self, state: torch.Tensor):
        return self._call("explicit_terms_and_max_speed", state)
