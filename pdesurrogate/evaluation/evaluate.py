"""Scoring one trained surrogate, or the baselines, on one split of a dataset."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.directory import DatasetReader
from .predictions import split_coordinates, write_predictions
from .scoring import (ScoringWindow, frame_metrics, persistence, result_rows, scored,
                      surrogate_rollout, training_mean, trajectories)


@dataclass
class SplitScore:
    """Result rows (:data:`~pdesurrogate.evaluation.results.RESULT_COLUMNS`) of one split, and the
    wall time the surrogate's rollouts took (device synchronised; 0 for baselines)."""

    rows: list[tuple] = field(default_factory=list)
    rollout_seconds: float = 0.0
    samples: int = 0


def synchronise(device: torch.device) -> None:
    """Wait for the device's queued work, so that wall-clock timings measure it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_split(module, reader: DatasetReader, split_name: str, window: ScoringWindow, model: str,
                   seed: int = 0, predictions: str | Path | None = None, checkpoint: str | None = None,
                   baselines: bool = True, member: int | None = None) -> SplitScore:
    """Score ``module`` on the scored frames of every sample of ``split_name`` (and the two
    baselines, ``persistence`` and ``training_mean``, when ``baselines``); write the
    predictions file to ``predictions``.

    The model and the baselines use the model's training statistics (they travel in its
    state_dict), never the test split's: the test split is only read to score.
    """
    network = module.network
    if network.uses_physics:  # a hybrid's solver: refuse a dataset of other physics by name
        network.bind_dataset(reader.dataset_config(), 1, f"data: {reader.root}")
    variables = list(network.variables)
    split = reader.split(split_name, "split")
    window.check({model: network.history}, split.frames, f"split {split_name!r}")
    stats = {v: (float(m), float(s)) for v, m, s in zip(variables, module.normaliser.mean, module.normaliser.std)}
    times, domain_length = scored_times(split, variables, window)
    lengths = box_lengths(split, variables)
    device = next(module.parameters()).device
    score, predicted, indices = SplitScore(), [], []
    for samples, fields in trajectories(split, variables):
        viscosity = split.parameters["viscosity"][samples]
        parameters = None
        if network.conditioning:
            parameters = torch.from_numpy(np.stack([split.parameters[p][samples] for p in network.conditioning],
                                                   axis=-1).astype(np.float32))
        physics = _physics(split, samples)
        truth = scored(fields, window)
        synchronise(device)
        start = time.perf_counter()
        prediction = surrogate_rollout(module, fields, parameters, window)
        synchronise(device)
        score.rollout_seconds += time.perf_counter() - start
        score.rows += result_rows(model, "model", seed, split_name, samples, viscosity, times,
                                  frame_metrics(prediction, truth, variables, stats, domain_length, physics, lengths),
                                  member)
        if baselines:
            score.rows += baseline_rows(fields, window, stats, variables, split_name, samples, viscosity, times,
                                        domain_length, physics, lengths)
        predicted.append(prediction.numpy())
        indices.append(samples)
        score.samples += len(samples)
    if predictions is not None:
        write_predictions(predictions, np.concatenate(predicted), split, np.concatenate(indices), variables, window,
                          model, checkpoint)
    return score


def baseline_rows(fields: torch.Tensor, window: ScoringWindow, stats, variables: Sequence[str], split: str,
                  samples: np.ndarray, viscosity: np.ndarray, times: np.ndarray,
                  domain_length: float | None = None, physics=None,
                  domain_lengths: tuple[float, float] | None = None) -> list[tuple]:
    """Rows of the persistence and training-mean baselines for one batch of trajectories."""
    truth, rows = scored(fields, window), []
    for name, guess in (("persistence", persistence(fields, window)),
                        ("training_mean", training_mean(fields, window, stats, variables))):
        rows += result_rows(name, "baseline", None, split, samples, viscosity, times,
                            frame_metrics(guess, truth, variables, stats, domain_length, physics, domain_lengths))
    return rows


def evaluate_baselines(reader: DatasetReader, split_name: str, window: ScoringWindow,
                       variables: Sequence[str]) -> list[tuple]:
    """The baselines alone, with the dataset's training statistics (``stats.json``)."""
    split = reader.split(split_name, "split")
    window.check({}, split.frames, f"split {split_name!r}")
    all_stats = reader.stats()
    stats = {v: all_stats[v] for v in variables}
    times, domain_length = scored_times(split, variables, window)
    lengths = box_lengths(split, variables)
    rows = []
    for samples, fields in trajectories(split, variables):
        rows += baseline_rows(fields, window, stats, variables, split_name, samples,
                              split.parameters["viscosity"][samples], times, domain_length, _physics(split, samples),
                              lengths)
    return rows


def scored_times(split, variables: Sequence[str], window: ScoringWindow) -> tuple[np.ndarray, float | None]:
    """The dataset's physical times of the scored frames, and its domain length where recorded."""
    coords, _, source = split_coordinates(split, variables)
    return coords["time"][1][window.frames], float(source["domain_length"]) if "domain_length" in source else None


def box_lengths(split, variables: Sequence[str]) -> tuple[float, float]:
    """``(L_y, L_x)`` of the periodic box, from the positions of the saved points: ``L = N·Δ``."""
    coords, _, _ = split_coordinates(split, variables)
    y, x = coords["y"][1], coords["x"][1]
    return len(y) * float(y[1] - y[0]), len(x) * float(x[1] - x[0])


def _physics(split, samples: np.ndarray) -> dict[str, torch.Tensor]:
    """The per-sample constants the shallow-water invariants need, where the dataset has them."""
    return {name: torch.from_numpy(split.parameters[name][samples]) for name in ("gravity", "mean_depth", "coriolis")
            if name in split.parameters}
