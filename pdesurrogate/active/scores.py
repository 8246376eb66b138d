"""A candidate's acquisition score and the error the ensemble actually makes on it.

Both are in the target metric: the relative L2 norm over the grid of deviations from the training
mean, per scored frame, averaged over the scored window and the variables.

- score (disagreement): the mean over members of ``‖x_m − x̄‖ / ‖x̄‖``, each member rolled out on
  its own from the candidate's true context frames: how far a member's rollout lies from the
  ensemble mean, on the scale on which the target error is measured;
- actual error: ``‖x̄ − y‖ / ‖y‖`` against the candidate's true trajectory, for the diagnostic only
  (their rank correlation says whether the uncertainty points at the errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ..evaluation import metrics
from ..evaluation.scoring import ScoringWindow, scored, surrogate_rollout


@torch.no_grad()
def pool_rollouts(modules: Sequence, fields: np.ndarray, viscosity: np.ndarray | None, window: ScoringWindow,
                  chunk: int = 64) -> torch.Tensor:
    """``(member, candidate, horizon, variable, y, x)``: every member rolled out from each candidate's
    context frames (``fields (candidate, time, variable, y, x)``), ``chunk`` candidates at a time."""
    blocks = []
    for start in range(0, len(fields), chunk):
        part = torch.from_numpy(np.ascontiguousarray(fields[start:start + chunk]))
        parameters = (None if viscosity is None
                      else torch.from_numpy(np.asarray(viscosity[start:start + chunk], np.float32))[:, None])
        blocks.append(torch.stack([surrogate_rollout(m, part, parameters, window) for m in modules]))
    return torch.cat(blocks, dim=1)


def _deviation(field: torch.Tensor, stats: Mapping[str, tuple[float, float]], variables: Sequence[str]) -> torch.Tensor:
    means = torch.tensor([stats[v][0] for v in variables], dtype=torch.float64)
    return field.double() - means[:, None, None]


def disagreement(members: torch.Tensor, stats: Mapping[str, tuple[float, float]],
                 variables: Sequence[str]) -> np.ndarray:
    """Per candidate: the members' mean relative L2 distance from the ensemble mean."""
    x = _deviation(members, stats, variables)
    centre = x.mean(dim=0)
    distance = torch.stack([metrics.relative_l2(member, centre) for member in x])  # (member, candidate, frame, var)
    return distance.mean(dim=(0, 2, 3)).numpy()


def ensemble_error(members: torch.Tensor, fields: np.ndarray, window: ScoringWindow,
                   stats: Mapping[str, tuple[float, float]], variables: Sequence[str]) -> np.ndarray:
    """Per candidate: the relative L2 error of the ensemble mean against the true scored frames."""
    truth = _deviation(scored(torch.from_numpy(np.ascontiguousarray(fields)), window), stats, variables)
    centre = _deviation(members, stats, variables).mean(dim=0)
    return metrics.relative_l2(centre, truth).mean(dim=(1, 2)).numpy()
