"""Inverse problems and inverse design through a surrogate, every answer checked by the solver.

A task (:mod:`.tasks`) is a design variable (:mod:`.variables`), the frames it implies and a loss.
Routes (:mod:`.optimise`: Adam, L-BFGS, the cross-entropy method) minimise it through the surrogate
or the differentiable solver (:mod:`.forward`), optionally refining a surrogate answer with the
solver; :mod:`.runner` re-simulates each final design and writes ``design.json`` and figures.
"""

from .config import DesignConfig, Route, parse_design
from .runner import DesignRun, run_route

__all__ = ["DesignConfig", "DesignRun", "Route", "parse_design", "run_route"]
