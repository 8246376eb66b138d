"""A deep ensemble's rollouts and their probabilistic scores, as rows of the result table.

An ensemble is M trained members (different seeds); each is rolled out on its own, feeding on its
own predictions, from the same true context frames. Its predictive distribution at every grid
point, scored frame and variable is that of the M members: mean, spread and the scores of
:mod:`pdesurrogate.evaluation.metrics` (CRPS, Gaussian NLL, interval coverage, spread–skill).
As everywhere in evaluation, fields are scored as deviations from the training-split mean (the
probabilistic scores do not change under that shift; the relative L2 of the ensemble mean does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import netCDF4
import numpy as np
import torch

from ..data.directory import DatasetReader
from ..errors import UserError
from . import metrics
from .scoring import ScoringWindow, result_rows, scored, trajectories
from .evaluate import scored_times

COVERAGE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Nominal levels of the central intervals whose coverage is recorded (the reliability diagram)."""



def coverage_metric(level: float) -> str:
    return f"coverage_{round(100 * level):02d}"


def ensemble_frame_metrics(members: torch.Tensor, truth: torch.Tensor, variables: Sequence[str],
                           stats: Mapping[str, tuple[float, float]]) -> dict[tuple[str, str], torch.Tensor]:
    """``(variable, metric) -> (sample, frame)`` for members ``(member, sample, frame, variable, y, x)``
    and truth ``(sample, frame, variable, y, x)``: ``rel_l2`` and ``rmse`` of the ensemble mean,
    ``spread``, ``crps``, ``nll``, ``spread_skill`` and ``coverage_XX`` at :data:`COVERAGE_LEVELS`."""
    if members.shape[0] < 2:
        raise UserError(f"ensemble: needs at least 2 members to have a spread (got {members.shape[0]})")
    results = {}
    for c, name in enumerate(variables):
        mean = stats[name][0]
        x, y = members[:, :, :, c].double() - mean, truth[:, :, c].double() - mean
        centre = x.mean(dim=0)
        results[name, "rel_l2"] = metrics.relative_l2(centre, y)
        results[name, "rmse"] = metrics.rmse(centre, y)
        results[name, "spread"] = metrics.ensemble_spread(x)
        results[name, "spread_skill"] = metrics.spread_skill_ratio(x, y)
        results[name, "crps"] = metrics.crps_ensemble(x, y)
        results[name, "nll"] = metrics.gaussian_nll(x, y)
        for level in COVERAGE_LEVELS:
            results[name, coverage_metric(level)] = metrics.interval_coverage(x, y, level)
    return results


def read_member_predictions(paths: Sequence[Path], variables: Sequence[str],
                            window: ScoringWindow) -> tuple[np.ndarray, np.ndarray]:
    """``(sample indices, members (member, sample, frame, variable, y, x))`` from each member's
    predictions file of one split; the files must cover the same samples and scoring window."""
    samples, stacked = None, []
    for path in paths:
        with netCDF4.Dataset(path) as nc:
            nc.set_auto_mask(False)
            if (int(nc.getncattr("score_from")), int(nc.getncattr("horizon"))) != (window.score_from, window.horizon):
                raise UserError(f"ensemble: {path} was scored from frame {nc.getncattr('score_from')} over "
                                f"{nc.getncattr('horizon')} frames, not {window.score_from} over {window.horizon}")
            these = np.asarray(nc["sample"][:])
            if samples is not None and not np.array_equal(samples, these):
                raise UserError(f"ensemble: {path} holds other samples than {paths[0]}")
            samples = these
            stacked.append(np.stack([np.asarray(nc[v][:], np.float32) for v in variables], axis=2))
    return samples, np.stack(stacked)


def ensemble_rows(prediction_paths: Sequence[Path], reader: DatasetReader, split_name: str, window: ScoringWindow,
                  variables: Sequence[str], model: str, seed: int | None = None) -> list[tuple]:
    """Result rows (role ``ensemble``; ``seed`` the repetition they belong to, None for an ensemble
    of all of a benchmark's seeds) of the ensemble whose members' predictions of ``split_name`` are
    the given files."""
    if len(prediction_paths) < 2:
        raise UserError(f"ensemble: {model} has {len(prediction_paths)} member(s); an ensemble needs at least 2")
    samples, members = read_member_predictions(prediction_paths, variables, window)
    split = reader.split(split_name, "split")
    stats = reader.stats()
    times, _ = scored_times(split, variables, window)
    position = {int(s): i for i, s in enumerate(samples)}
    rows = []
    for indices, fields in trajectories(split, variables):
        keep = [position[int(i)] for i in indices if int(i) in position]
        if not keep:
            continue
        truth = scored(fields, window)[[k for k, i in enumerate(indices) if int(i) in position]]
        values = ensemble_frame_metrics(torch.from_numpy(members[:, keep]), truth, variables, stats)
        chosen = samples[keep]
        rows += result_rows(model, "ensemble", seed, split_name, chosen, split.parameters["viscosity"][chosen], times, values)
    return rows
