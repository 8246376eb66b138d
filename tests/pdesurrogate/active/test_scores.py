"""The acquisition score and the actual error, on fields whose values are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdesurrogate.active.scores import disagreement, ensemble_error
from pdesurrogate.evaluation.scoring import ScoringWindow

STATS = {"vorticity": (0.5, 1.0)}


def test_disagreement_is_the_members_relative_distance_from_their_mean():
    rng = np.random.default_rng(0)
    centre = torch.from_numpy(rng.normal(size=(3, 4, 1, 8, 8)))  # (candidate, frame, variable, y, x)
    offset = torch.from_numpy(rng.normal(size=(3, 4, 1, 8, 8)))
    mean = STATS["vorticity"][0]
    # Two members at centre ± offset (as deviations from the training mean, which the score removes).
    members = torch.stack([centre + offset, centre - offset]) + mean
    expected = (offset.flatten(-2).norm(dim=-1) / centre.flatten(-2).norm(dim=-1)).mean(dim=(1, 2)).numpy()
    assert disagreement(members, STATS, ["vorticity"]) == pytest.approx(expected, rel=1e-10)
    # Identical members do not disagree, however wrong they are.
    assert disagreement(torch.stack([centre, centre]) + mean, STATS, ["vorticity"]) == pytest.approx(0.0, abs=1e-15)


def test_ensemble_error_is_the_relative_l2_of_the_mean_over_the_scored_window():
    window = ScoringWindow(2, 3)
    truth = np.zeros((2, 6, 1, 4, 4))
    truth[:, :, 0] = 0.5 + np.arange(1, 7)[None, :, None, None]  # deviation k at frame k - 1
    members = torch.from_numpy(np.stack([truth[:, 2:5] * 1.2, truth[:, 2:5] * 1.2]))
    # Deviation d·1.2 + 0.5·0.2 against d: relative error (0.2 d + 0.1)/d per frame, d = 3, 4, 5.
    expected = np.mean([(0.2 * d + 0.1) / d for d in (3, 4, 5)])
    assert ensemble_error(members, truth, window, STATS, ["vorticity"]) == pytest.approx([expected, expected], rel=1e-10)
