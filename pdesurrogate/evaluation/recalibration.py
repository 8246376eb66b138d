"""Post-hoc calibration of an ensemble's predictive spread, fitted on a calibration split (the
validation split: never one that is scored) and applied to any other.

Ensembles are arrays ``(member, sample, frame, variable, y, x)``, truths ``(sample, frame, variable,
y, x)``; both as deviations from the training mean or not (nothing here depends on the shift).
Both calibrations are fitted per variable and rollout step, since the spread's error grows with
lead time at its own rate:

- **variance scale**: members ``x̄ + s (x_m − x̄)`` with ``s = rms(x̄ − y) / (√((M+1)/M) · rms spread)``
  over the calibration samples and grid, so the calibrated spread–skill ratio is 1 there. Every
  ensemble score (CRPS, Student-t interval coverage, NLL) is then computed from the scaled members.
- **split conformal**: the score ``r = |y − x̄| / σ`` (σ the members' standard deviation) per grid
  point; the interval ``x̄ ± q_α σ`` with ``q_α`` the ⌈(N+1)α⌉-th smallest of the N calibration
  scores. If a test point's score is exchangeable with the calibration ones, its coverage is at
  least α (and below α + 1/(N+1)). Points are pooled over the grid: for a statistically
  homogeneous field on a periodic domain each grid point is one more draw, but points of one
  trajectory are correlated, so the coverage's sampling error is that of a few trajectories, not of
  N points. Optionally per log-ν bin (equal-count bins of the calibration samples' viscosities; a
  test sample uses the bin its ν falls in, the end bins beyond them).

Out of distribution (another viscosity range than the calibration split's) the scores are not
exchangeable with the calibration ones: no guarantee holds there, and coverage is only measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import metrics
from .ensemble import read_member_predictions
from .scoring import ScoringWindow, scored, trajectories

SPREAD_FLOOR = 1e-12  # a spread-free point (every member equal) would give an infinite score


def _check(members: np.ndarray, truth: np.ndarray) -> None:
    if members.ndim != 6 or members.shape[1:] != truth.shape or members.shape[0] < 2:
        raise ValueError(f"members must be (member ≥ 2, sample, frame, variable, y, x) and truth its trailing "
                         f"shape; got {members.shape} and {truth.shape}")


def variance_scale(members: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(frame, variable)`` factors that make the spread–skill ratio 1 on these samples."""
    _check(members, truth)
    m = members.shape[0]
    mean = members.mean(axis=0)
    error = np.sqrt(np.mean((mean - truth) ** 2, axis=(0, 3, 4)))
    spread = np.sqrt(np.mean(members.var(axis=0, ddof=1), axis=(0, 3, 4)))
    return error / (math.sqrt((m + 1) / m) * np.maximum(spread, SPREAD_FLOOR))


def scale_members(members: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Members moved away from (or towards) their mean by ``scale (frame, variable)``."""
    mean = members.mean(axis=0, keepdims=True)
    return mean + scale[None, None, :, :, None, None] * (members - mean)


def conformal_scores(members: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``|y − x̄| / σ`` per point, ``(sample, frame, variable, y, x)``."""
    _check(members, truth)
    return np.abs(truth - members.mean(axis=0)) / np.maximum(members.std(axis=0, ddof=1), SPREAD_FLOOR)


def conformal_rank_quantile(scores: np.ndarray, level: float) -> float:
    """The ⌈(N+1)·level⌉-th smallest of N scores (inf when that exceeds N)."""
    ordered = np.sort(np.asarray(scores).ravel())
    rank = math.ceil((len(ordered) + 1) * level)
    return float(ordered[rank - 1]) if rank <= len(ordered) else float("inf")


@dataclass(frozen=True)
class Conformal:
    levels: tuple[float, ...]
    edges: np.ndarray  # (bins - 1,) inner edges in log10 ν; empty for one bin
    quantiles: np.ndarray  # (bin, frame, variable, level)
    calibration_samples: int

    def bins_of(self, viscosity: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, np.log10(np.asarray(viscosity, np.float64)))

    def coverage(self, members: np.ndarray, truth: np.ndarray, viscosity: np.ndarray) -> np.ndarray:
        """``(sample, frame, variable, level)``: the fraction of each frame's grid points inside."""
        scores = conformal_scores(members, truth)
        q = self.quantiles[self.bins_of(viscosity)]  # (sample, frame, variable, level)
        return (scores[..., None] <= q[:, :, :, None, None, :]).mean(axis=(3, 4))


def fit_conformal(members: np.ndarray, truth: np.ndarray, viscosity: np.ndarray | None, levels: Sequence[float],
                  bins: int = 1) -> Conformal:
    """Conformal quantiles per log-ν bin, rollout step and variable at each level."""
    scores = conformal_scores(members, truth)
    samples = scores.shape[0]
    if bins < 1 or bins > samples:
        raise ValueError(f"bins must lie in [1, {samples}] (one calibration sample at least per bin), got {bins}")
    if bins > 1 and viscosity is None:
        raise ValueError("binning by viscosity needs the calibration samples' viscosities")
    edges = (np.quantile(np.log10(np.asarray(viscosity, np.float64)), np.linspace(0, 1, bins + 1)[1:-1])
             if bins > 1 else np.zeros(0))
    where = np.searchsorted(edges, np.log10(viscosity)) if bins > 1 else np.zeros(samples, int)
    _, frames, variables = scores.shape[:3]
    quantiles = np.empty((bins, frames, variables, len(levels)))
    for b in range(bins):
        chosen = scores[where == b]
        for t in range(frames):
            for v in range(variables):
                quantiles[b, t, v] = [conformal_rank_quantile(chosen[:, t, v], level) for level in levels]
    return Conformal(tuple(levels), edges, quantiles, samples)


def ensemble_scores(members: np.ndarray, truth: np.ndarray, levels: Sequence[float]) -> dict[str, np.ndarray]:
    """``(sample, frame, variable)`` arrays: CRPS, squared spread and squared error of the mean (for an
    RMS spread–skill ratio) and Student-t interval coverage at each level, from the members."""
    x, y = torch.from_numpy(np.ascontiguousarray(members)), torch.from_numpy(np.ascontiguousarray(truth))
    out = {"crps": metrics.crps_ensemble(x, y).numpy(),
           "spread_squared": metrics.ensemble_spread(x).square().numpy(),
           "error_squared": metrics.rmse(x.mean(dim=0), y).square().numpy()}
    for level in levels:
        out[f"coverage_{round(100 * level):02d}"] = metrics.interval_coverage(x, y, level).numpy()
    return out


METHODS = ("raw", "variance_scale", "conformal")


def _aggregate(scores: dict[str, np.ndarray], m: int) -> dict[str, float]:
    """Means over samples, frames and the grid; the spread–skill ratio as a ratio of RMS values."""
    out = {name: float(values.mean()) for name, values in scores.items() if name.startswith(("coverage_", "crps"))}
    out["spread_skill"] = math.sqrt((m + 1) / m) * math.sqrt(scores["spread_squared"].mean() / scores["error_squared"].mean())
    return out


def recalibration_rows(calibration: tuple[np.ndarray, np.ndarray, np.ndarray],
                       scored: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], variables: Sequence[str],
                       levels: Sequence[float], bins: int = 1) -> list[dict]:
    """Before and after calibration on ``calibration = (members, truth, viscosity)``: one row per
    scored split, variable, method (raw, variance_scale, conformal) and metric, ``value`` the mean
    over samples, frames and grid (coverage, CRPS) or the RMS ratio (spread_skill). Conformal
    intervals have no CRPS or spread: only their coverage is reported."""
    members, truth, viscosity = calibration
    scale = variance_scale(members, truth)
    conformal = fit_conformal(members, truth, viscosity, levels, bins)
    rows = []
    for split, (x, y, nu) in scored.items():
        m = x.shape[0]
        for v, name in enumerate(variables):
            part = (slice(None), slice(None), slice(None), slice(v, v + 1))
            raw = _aggregate(ensemble_scores(x[part], y[part[1:]], levels), m)
            scaled = _aggregate(ensemble_scores(scale_members(x, scale)[part], y[part[1:]], levels), m)
            covered = conformal.coverage(x, y, nu)[:, :, v]  # (sample, frame, level)
            within = {f"coverage_{round(100 * level):02d}": float(covered[..., i].mean()) for i, level in enumerate(levels)}
            for method, values in (("raw", raw), ("variance_scale", scaled), ("conformal", within)):
                rows += [{"split": split, "variable": name, "method": method, "metric": metric, "value": value}
                         for metric, value in values.items()]
    return rows


def ensemble_arrays(prediction_paths: Sequence, reader, split: str, window: ScoringWindow, variables: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(members, truth, viscosity)`` of one split as deviations from the training mean, float64:
    the members from their predictions files, the truth from the dataset, in the files' sample order."""
    samples, members = read_member_predictions(prediction_paths, variables, window)
    info = reader.split(split, "split")
    position = {int(s): i for i, s in enumerate(samples)}
    truth = [None] * len(samples)
    for indices, fields in trajectories(info, variables):
        frames = scored(fields, window).numpy().astype(np.float64)
        for k, i in enumerate(indices):
            if int(i) in position:
                truth[position[int(i)]] = frames[k]
    stats = reader.stats()
    means = np.array([stats[v][0] for v in variables])[None, None, :, None, None]
    return (members.astype(np.float64) - means, np.stack(truth) - means,
            np.asarray(info.parameters["viscosity"], np.float64)[samples])
