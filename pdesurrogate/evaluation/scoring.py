"""The scoring window, the rollouts it scores, the two baselines, and the long-form result rows.

The rule every comparison follows: a window fixes ``score_from`` (a saved-frame index) and a
``horizon``. Every model receives the true frames before ``score_from`` (its own last ``history`` of
them) and is scored on frames ``score_from … score_from + horizon − 1``, whatever its history, so
models with different histories are scored on the same frames and no context frame is ever scored.

Shallow-water ``height`` is the total depth: its relative L2 error against the total would be about
ten times smaller than the velocities' for the same skill. Every metric is therefore computed on
deviations from the variable's training-split mean (for ``height``, the mean depth); RMSE, VRMSE,
maximum error, correlation and the band errors do not change under that shift, relative L2 does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import netCDF4
import numpy as np
import torch

from ..data.directory import SplitInfo
from ..errors import UserError
from . import metrics

"""The columns of ``results.csv``: one row per model, seed, split, sample, scored frame, variable and metric."""

BASELINES = ("persistence", "training_mean")


@dataclass(frozen=True)
class ScoringWindow:
    """Frames ``score_from … score_from + horizon − 1`` are scored; earlier ones are context."""

    score_from: int
    horizon: int

    @property
    def frames(self) -> slice:
        """The scored frames, as an index into the time axis."""
        return slice(self.score_from, self.score_from + self.horizon)

    def check(self, histories: Mapping[str, int], frames: int, where: str = "the dataset") -> None:
        """Refuse a window that a model (``name -> history``) or the trajectories cannot fill."""
        if not (isinstance(self.horizon, int) and self.horizon >= 1):
            raise UserError(f"horizon must be an integer >= 1 (got {self.horizon!r})")
        for name, history in histories.items():
            if self.score_from < history:
                raise UserError(f"score_from = {self.score_from} is below the history {history} of {name}: it needs "
                                f"{history} true frames before the first scored one (use score_from >= {history})")
        if self.score_from + self.horizon > frames:
            raise UserError(f"horizon: score_from {self.score_from} + horizon {self.horizon} needs "
                            f"{self.score_from + self.horizon} frames; {where} has {frames} "
                            f"(largest horizon: {frames - self.score_from})")


def trajectories(split: SplitInfo, variables: Sequence[str], batch: int = 16) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
    """``(sample indices, fields (batch, time, variable, y, x))`` of a split, float32, physical units,
    a few samples at a time so that memory stays bounded whatever the split's size."""
    offset = 0
    for shard in split.shards:
        with netCDF4.Dataset(shard.path) as nc:
            nc.set_auto_mask(False)
            for start in range(0, shard.samples, batch):
                stop = min(start + batch, shard.samples)
                fields = np.stack([nc.variables[v][start:stop] for v in variables], axis=2)
                yield np.arange(offset + start, offset + stop), torch.from_numpy(np.asarray(fields, np.float32))
        offset += shard.samples


def context(fields: torch.Tensor, history: int, window: ScoringWindow) -> torch.Tensor:
    """A model's input: its last ``history`` true frames before ``score_from``."""
    return fields[:, window.score_from - history: window.score_from]


def scored(fields: torch.Tensor, window: ScoringWindow) -> torch.Tensor:
    """The true frames that are scored."""
    return fields[:, window.frames]


@torch.no_grad()
def surrogate_rollout(module, fields: torch.Tensor, parameters: torch.Tensor | None, window: ScoringWindow) -> torch.Tensor:
    """The model's prediction of the scored frames, in physical units ``(batch, horizon, variable, y, x)``.

    The model normalises with its own training statistics (they travel in its state_dict), so the
    test split is fed in physical units and the prediction comes back in them.
    """
    device = next(module.parameters()).device
    history = context(fields, module.network.history, window).to(device)
    parameters = parameters.to(device) if parameters is not None else None
    steps = math.ceil(window.horizon / module.network.future)
    return module.rollout_physical(history, parameters, steps)[:, : window.horizon].cpu()


def persistence(fields: torch.Tensor, window: ScoringWindow) -> torch.Tensor:
    """The last context frame, repeated over the horizon: the baseline a dynamical model must beat."""
    last = fields[:, window.score_from - 1: window.score_from]
    return last.expand(-1, window.horizon, *last.shape[2:])


def training_mean(fields: torch.Tensor, window: ScoringWindow, stats: Mapping[str, tuple[float, float]],
                  variables: Sequence[str]) -> torch.Tensor:
    """Each variable's training-split mean everywhere: the baseline of knowing only the climatology."""
    means = torch.tensor([stats[v][0] for v in variables], dtype=fields.dtype)
    shape = (fields.shape[0], window.horizon, len(variables), *fields.shape[-2:])
    return means[None, None, :, None, None].expand(shape)


def frame_metrics(prediction: torch.Tensor, truth: torch.Tensor, variables: Sequence[str],
                  stats: Mapping[str, tuple[float, float]], domain_length: float | None = None,
                  physics: Mapping[str, torch.Tensor] | None = None,
                  domain_lengths: tuple[float, float] | None = None) -> dict[tuple[str, str], torch.Tensor]:
    """``(variable, metric) -> (sample, frame)`` for fields ``(sample, frame, variable, y, x)``.

    Metrics (see :mod:`pdesurrogate.evaluation.metrics` for the formulas): ``rel_l2``, ``rmse``,
    ``nrmse`` (RMSE over the training standard deviation), ``vrmse``, ``max_error``, ``correlation``,
    ``band_<low|mid|high>`` (RMSE over the whole 2-D spectrum) and ``spectrum_<low|mid|high>`` (log
    ratio of predicted to true isotropic energy per band); for ``vorticity`` also
    ``enstrophy_drift`` and, given the ``domain_length``, ``energy_drift`` (relative, signed). For
    shallow water (``height``, ``u``, ``v`` predicted, per-sample ``gravity`` and ``mean_depth`` in
    ``physics``) the joint invariants go under the variable ``flow``: ``energy_drift`` of the
    energy above the state of rest (total energy minus ½gH², which would swamp any drift) and,
    with ``vorticity`` and ``coriolis``, ``potential_enstrophy_drift``. A non-finite prediction
    gives non-finite values: a diverged rollout is reported, never dropped. The spectral bands are
    radial bands of the physical wavenumber on the ``domain_lengths = (L_y, L_x)`` box (default:
    ``domain_length`` along both axes, else equal grid spacing), as fractions of ``k_N``.
    """
    if domain_lengths is None and domain_length is not None:
        domain_lengths = (domain_length, domain_length)
    results = {}
    for c, name in enumerate(variables):
        mean, std = stats[name]
        p, t = prediction[:, :, c].double() - mean, truth[:, :, c].double() - mean
        for metric, function in metrics.FRAME_METRICS.items():
            results[name, metric] = function(p, t)
        results[name, "nrmse"] = metrics.nrmse(p, t, std)
        for band, error in metrics.spectral_band_errors(p, t, domain_lengths=domain_lengths).items():
            results[name, f"band_{band}"] = error
        for band, ratio in metrics.spectrum_log_ratio(p, t, domain_lengths=domain_lengths).items():
            results[name, f"spectrum_{band}"] = ratio
        if name == "vorticity":  # invariants of the physical field, not of its deviation
            raw_p, raw_t = prediction[:, :, c], truth[:, :, c]
            results[name, "enstrophy_drift"] = metrics.relative_drift(metrics.enstrophy(raw_p),
                                                                      metrics.enstrophy(raw_t))
            if domain_length is not None:
                results[name, "energy_drift"] = metrics.relative_drift(
                    metrics.navier_stokes_energy(raw_p, domain_length), metrics.navier_stokes_energy(raw_t, domain_length))
    results.update(_shallow_water_drifts(prediction, truth, variables, physics or {}))
    return results


def _shallow_water_drifts(prediction: torch.Tensor, truth: torch.Tensor, variables: Sequence[str],
                          physics: Mapping[str, torch.Tensor]) -> dict[tuple[str, str], torch.Tensor]:
    if not ({"height", "u", "v"} <= set(variables) and {"gravity", "mean_depth"} <= set(physics)):
        return {}
    index = {name: c for c, name in enumerate(variables)}
    per_sample = {k: torch.as_tensor(v, dtype=torch.float64)[:, None, None, None] for k, v in physics.items()}
    g, depth = per_sample["gravity"], per_sample["mean_depth"]

    def above_rest(fields: torch.Tensor) -> torch.Tensor:
        energy = metrics.shallow_water_energy(fields[:, :, index["height"]], fields[:, :, index["u"]],
                                              fields[:, :, index["v"]], g)
        return energy - (0.5 * g * depth.square())[:, :, 0, 0]

    drifts = {("flow", "energy_drift"): metrics.relative_drift(above_rest(prediction), above_rest(truth))}
    if "vorticity" in index and "coriolis" in per_sample:
        def enstrophy(fields: torch.Tensor) -> torch.Tensor:
            return metrics.potential_enstrophy(fields[:, :, index["height"]], fields[:, :, index["vorticity"]],
                                               per_sample["coriolis"])

        drifts["flow", "potential_enstrophy_drift"] = metrics.relative_drift(enstrophy(prediction), enstrophy(truth))
    return drifts


def result_rows(model: str, role: str, seed: int | None, split: str, samples: np.ndarray, viscosity: np.ndarray,
                times: np.ndarray, values: Mapping[tuple[str, str], torch.Tensor],
                member: int | None = None) -> Iterator[tuple]:
    """Long-form rows (:data:`~pdesurrogate.evaluation.results.RESULT_COLUMNS`) of a ``role``
    (model, baseline or ensemble); ``seed`` None where the rows stand for no single seed, ``member``
    the ensemble member a model's rows belong to;
    ``step`` counts scored frames from 1."""
    for (variable, metric), table in values.items():
        table = table.numpy()
        for i, sample in enumerate(samples):
            for step, time in enumerate(times):
                yield (model, role, seed, member, split, int(sample), float(viscosity[i]), step + 1, float(time), variable, metric,
                       float(table[i, step]))
