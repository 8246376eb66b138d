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

    By default ``u = s − 1`` for a window of ``s`` steps: the model learns to correct the
    distribution shift of its own ``s − 1``-step predictions without the cost and instability of
    backpropagating through the whole rollout. ``unrolls`` sets ``u`` (see :func:`pushforward_random`).
    """
    steps = target.shape[1] // future
    if unrolls is None:
        unrolls = steps - 1
    window = history
    if unrolls > 0:
        with torch.no_grad():
            window = slide(history, rollout(network, history, parameters, unrolls))
    return network(window, parameters), target[:, unrolls * future : (unrolls + 1) * future]


def pushforward_random(network: Network, history, parameters, target, future: int):
    """:func:`pushforward` with ``u`` drawn uniformly from ``0 … s − 1`` at every batch.

    With a fixed ``u = s − 1`` the model never trains on true inputs, yet every rollout starts
    from them; the draw covers each drift level a rollout meets (0 to ``s − 1`` steps of its own
    predictions) and costs ``(s − 1) / 2`` gradient-free steps on average instead of ``s − 1``.
    Brandstetter et al.'s own training code draws the number of unrolled steps the same way.
    """
    steps = target.shape[1] // future
    return pushforward(network, history, parameters, target, future, unrolls=int(torch.randint(steps, ())))


REGIMES = {"one_step": one_step, "unrolled": unrolled, "pushforward": pushforward}
