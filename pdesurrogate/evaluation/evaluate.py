"""Scoring one trained surrogate, and the baselines beside it, on one split of a dataset."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..data.directory import DatasetReader
from .predictions import split_coordinates, write_predictions
from .scoring import (RESULT_COLUMNS, ScoringWindow, frame_metrics, persistence, result_rows, scored,
                      surrogate_rollout, training_mean, trajectories)


def evaluate_split(module, reader: DatasetReader, split_name: str, window: ScoringWindow, model: str,
                   seed: int | str = 0, predictions: str | Path | None = None, checkpoint: str | None = None,
                   baselines: bool = True) -> list[tuple]:
    """Result rows (:data:`~pdesurrogate.evaluation.scoring.RESULT_COLUMNS`) of ``module`` on the
    scored frames of every sample of ``split_name``, and of the two baselines (``persistence``,
    ``training_mean``, seed ``-``) when ``baselines``; writes the predictions file to ``predictions``.

    The baselines use the model's training statistics (they travel in its state_dict), never the
    test split's: the test split is only read to score.
    """
    network = module.network
    variables = list(network.variables)
    split = reader.split(split_name, "split")
    window.check({model: network.history}, split.frames, f"split {split_name!r}")
    stats = {v: (float(m), float(s)) for v, m, s in zip(variables, module.normaliser.mean, module.normaliser.std)}
    times = None
    rows, predicted, indices = [], [], []
    for samples, fields in trajectories(split, variables):
        if times is None:
            times = split_coordinates(split, variables)[0]["time"][1][window.score_from: window.score_from + window.horizon]
        viscosity = split.parameters["viscosity"][samples]
        parameters = None
        if network.conditioning:
            parameters = torch.from_numpy(np.stack([split.parameters[p][samples] for p in network.conditioning],
                                                   axis=-1).astype(np.float32))
        truth = scored(fields, window)
        prediction = surrogate_rollout(module, fields, parameters, window)
        rows += result_rows(model, seed, split_name, samples, viscosity, times,
                            frame_metrics(prediction, truth, variables, stats))
        if baselines:
            for name, guess in (("persistence", persistence(fields, window)),
                                ("training_mean", training_mean(fields, window, stats, variables))):
                rows += result_rows(name, "-", split_name, samples, viscosity, times,
                                    frame_metrics(guess, truth, variables, stats))
        predicted.append(prediction.numpy())
        indices.append(samples)
    if predictions is not None:
        write_predictions(predictions, np.concatenate(predicted), split, np.concatenate(indices), variables, window,
                          model, checkpoint)
    return rows


def write_results(path: str | Path, rows: Iterable[tuple]) -> Path:
    """``results.csv`` in long form, written to a temporary name and renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        writer.writerows(rows)
    temporary.replace(path)
    return path
