"""Training losses and error metrics on fields ``(batch, time, variable, y, x)``."""

from __future__ import annotations

import torch


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every value."""
    return (prediction - target).square().mean()


def relative_l2(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``‖u − û‖₂ / ‖u‖₂`` over the grid of each frame and variable, averaged over the rest.

    Per frame and variable rather than over the whole tensor, so that a variable or a time with a
    small norm (a decayed vorticity, a velocity beside a large depth) weighs as much as the others.
    """
    error = torch.linalg.vector_norm(prediction - target, dim=(-2, -1))
    norm = torch.linalg.vector_norm(target, dim=(-2, -1))
    return (error / (norm + eps)).mean()


LOSSES = {"mse": mse, "relative_l2": relative_l2}
