"""The earlier acquisition rule, kept for ablation (``acquisition.rule: greedy_diverse``); the
current rules are in :mod:`pdesurrogate.active.selection`.

``uncertain_and_diverse`` picks greedily by disagreement per unit of cost,
multiplied by a repulsion from the candidates already in the batch (local penalisation):

    value_i = (d_i / c_i) · Π_{j in batch} (1 − exp(−(x_i − x_j)² / (2 ℓ²))),   x = log10 ν

so the batch does not pile onto the single most uncertain viscosity: ℓ (``diversity``, in decades)
sets how far apart its members must be before they stop discounting each other.
"""

from __future__ import annotations

import numpy as np


def uncertain_and_diverse(disagreement: np.ndarray, cost: np.ndarray, viscosity: np.ndarray, budget: float,
                          length: float) -> list[int]:
    """Indices of the candidates chosen, in the order they were picked."""
    disagreement, cost = np.asarray(disagreement, np.float64), np.asarray(cost, np.float64)
    x = np.log10(np.asarray(viscosity, np.float64))
    value = np.where(np.isfinite(disagreement), disagreement, np.nanmax(disagreement[np.isfinite(disagreement)],
                                                                          initial=1.0)) / cost
    chosen, remaining = [], float(budget)
    while True:
        affordable = [i for i in range(len(x)) if i not in chosen and cost[i] <= remaining + 1e-12]
        if not affordable:
            return chosen
        repulsion = np.ones(len(x))
        for j in chosen:
            repulsion *= 1 - np.exp(-((x - x[j]) ** 2) / (2 * length ** 2))
        best = max(affordable, key=lambda i: value[i] * repulsion[i])
        chosen.append(best)
        remaining -= cost[best]

