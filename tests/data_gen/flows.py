"""Smooth fields shared by the solver tests."""

import math

import torch

from data_gen import PeriodicGrid


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
