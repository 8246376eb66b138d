"""Smooth fields shared by the solver tests."""

import math

import torch

from data_gen import PeriodicGrid, Stepper


def smooth_vorticity(grid: PeriodicGrid) -> torch.Tensor:
    """A few low modes: smooth, non-trivial advection, no special symmetry. Shape ``(1, n, n)``."""
    x, y = grid.mesh()
    L = grid.length
    w = (
        torch.sin(2 * math.pi * x / L) * torch.cos(4 * math.pi * y / L)
        + 0.5 * torch.cos(2 * math.pi * (x + 2 * y) / L)
        + 0.3 * torch.sin(6 * math.pi * x / L)
    )
    return w[None]


def observed_orders(errors) -> list[float]:
    """``log2`` of successive error ratios: the observed order when the step or spacing halves."""
    return [math.log2(coarse / fine) for coarse, fine in zip(errors, errors[1:])]


def self_convergence_orders(equation, scheme: str, w0: torch.Tensor, steps=(0.02, 0.01, 0.005, 0.0025)):
    """Observed temporal orders from solutions at halving fixed steps (no reference needed)."""
    solutions = [Stepper(equation, 0.5, scheme=scheme, cfl=1.0, max_dt=dt)(w0) for dt in steps]
    return observed_orders([(a - b).abs().max().item() for a, b in zip(solutions, solutions[1:])])
