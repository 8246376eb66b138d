"""Autoregressive rollouts and the training regimes built from them.

A model step maps the last ``k`` frames to the next ``m``; the window then slides by ``m``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Network = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def slide(window: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
    """The next input window: the last ``k`` frames of ``window`` followed by ``prediction``."""
    return torch.cat((window, prediction), dim=1)[:, -window.shape[1] :]


def rollout(network: Network, history: torch.Tensor, parameters: torch.Tensor | None, steps: int) -> torch.Tensor:
    """``steps`` model steps from ``history``: the predicted frames ``(batch, steps·m, …)``."""
    predictions, window = [], history
    for _ in range(steps):
        prediction = network(window, parameters)
        predictions.append(prediction)
        window = slide(window, prediction)
    return torch.cat(predictions, dim=1)


def one_step(network: Network, history, parameters, target, future: int):
    """Teacher forcing: predict the first ``m`` target frames from true history."""
    return network(history, parameters), target[:, :future]


def unrolled(network: Network, history, parameters, target, future: int):
    """Roll out over the whole target window and backpropagate through every step."""
    return rollout(network, history, parameters, target.shape[1] // future), target


def pushforward(network: Network, history, parameters, target, future: int, unrolls: int | None = None):
    """Brandstetter et al. (2022): ``u`` steps without gradient, then one step with.

    ``u`` is drawn uniformly from ``0 … s − 1`` for a window of ``s`` steps (``unrolls`` fixes it),
    so the model learns both from true inputs (``u = 0``) and from its own predictions, whose
    distribution shift the last step learns to correct without the cost and instability of
    backpropagating through the whole rollout.
    """
    steps = target.shape[1] // future
    if unrolls is None:
        unrolls = int(torch.randint(steps, ()))
    window = history
    if unrolls > 0:
        with torch.no_grad():
            window = slide(history, rollout(network, history, parameters, unrolls))
    return network(window, parameters), target[:, unrolls * future : (unrolls + 1) * future]


REGIMES = {"one_step": one_step, "unrolled": unrolled, "pushforward": pushforward}
