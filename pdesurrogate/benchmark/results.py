"""``results.csv`` read and grouped: one :class:`Table` ``values[seed, sample, step]`` per model, split,
variable and metric, with which (seed, sample) pairs diverged and the per-seed means that leave them out.

A (seed, sample) pair with any non-finite value of that variable and metric within the horizon has
*diverged*: it is left out of every step of that seed's mean. A seed whose every sample diverged has
no mean (NaN).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation.results import read_results
from ..evaluation.scoring import BASELINES
from .intervals import Interval

_KEY = ("model", "split", "variable", "metric")
ENSEMBLE_SUFFIX = "/ensemble"
"""The name of the ensemble of a model's seeds: ``<name>/ensemble`` (role ``ensemble``)."""


def seed_order(seed: int | None):
    """Sort key of seeds: integers in order, then None (the baselines, which have no seed)."""
    return (1, 0) if seed is None else (0, seed)


@dataclass
class Table:
    """The rows of one model, split, variable and metric as ``values[seed, sample, step]``."""

    seeds: list[int | None]  # None: the rows of a baseline, which has no seed
    samples: np.ndarray  # (sample,) indices in the dataset split
    viscosity: np.ndarray  # (sample,)
    steps: np.ndarray  # (step,) 1 … H
    times: np.ndarray  # (step,) physical time of each scored frame
    values: np.ndarray  # (seed, sample, step); NaN where a row is absent
    present: np.ndarray  # (seed, sample, step) bool: a row exists

    @property
    def pairs(self) -> np.ndarray:
        """``(seed, sample)``: the pair has rows."""
        return self.present.any(-1)

    @property
    def diverged(self) -> np.ndarray:
        """``(seed, sample)``: the pair has a non-finite value at some step."""
        return (self.present & ~np.isfinite(self.values)).any(-1)

    @property
    def valid(self) -> np.ndarray:
        return self.pairs & ~self.diverged

    def masked(self) -> np.ndarray:
        """``values`` with every step of a diverged pair (and absent rows) set to NaN."""
        return np.where(self.valid[..., None] & self.present, self.values, np.nan)

    def per_seed_step(self) -> np.ndarray:
        """``(seed, step)``: mean over the surviving samples."""
        return _nanmean(self.masked(), axis=1)

    def per_seed(self) -> np.ndarray:
        """``(seed,)``: the horizon mean (over samples, then over steps)."""
        return _nanmean(self.per_seed_step(), axis=1)

    def per_sample(self) -> np.ndarray:
        """``(seed, sample)``: the horizon mean of each surviving sample, NaN for the others."""
        return _nanmean(self.masked(), axis=2)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are NaN, on purpose
        return np.nanmean(values, axis=axis)


@dataclass
class Results:
    """``results.csv`` grouped by ``(model, split, variable, metric)``."""

    tables: dict[tuple[str, str, str, str], Table]
    models: list[str]  # trained models in order of appearance, then the baselines
    splits: list[str]
    variables: list[str]
    metrics: list[str]
    conflicting_duplicates: int = 0
    baselines: list[str] = field(default_factory=lambda: [m for m in BASELINES])

    def get(self, model: str, split: str, variable: str, metric: str) -> Table | None:
        return self.tables.get((model, split, variable, metric))

    def interval(self, model: str, split: str, variable: str, metric: str) -> Interval | None:
        """The horizon mean of ``metric`` per seed, then its mean and 95 % interval over seeds."""
        table = self.get(model, split, variable, metric)
        return None if table is None else Interval.of(table.per_seed())

    @property
    def trained(self) -> list[str]:
        return [m for m in self.models if m not in self.baselines]

    def variables_with(self, metric: str, splits: Sequence[str]) -> list[str]:
        """The variables for which some model has ``metric`` rows on one of ``splits``."""
        return [v for v in self.variables
                if any(self.get(m, s, v, metric) is not None for m in self.models for s in splits)]

    def seeds(self, model: str) -> list[int | None]:
        seeds = {s for (m, *_), t in self.tables.items() if m == model for s in t.seeds}
        return sorted(seeds, key=seed_order)


def group_results(path: str | Path) -> Results:
    """Read (:func:`~pdesurrogate.evaluation.results.read_results`) and group ``results.csv``. Rows
    repeated under the same key (the baselines, scored again beside every run) are averaged; repeats
    that disagree are counted in ``conflicting_duplicates``. Ensemble rows are left to
    :mod:`pdesurrogate.benchmark.ensembles`."""
    frame = read_results(path)
    frame = frame[frame.role != "ensemble"]
    tables, conflicts = {}, 0
    for key, group in frame.groupby(list(_KEY), sort=False):
        tables[key], conflict = _table(group)
        conflicts += conflict
    order = list(dict.fromkeys(frame.model))
    baseline_names = set(frame.model[frame.role == "baseline"])
    trained = [m for m in order if m not in baseline_names]
    baselines = [m for m in BASELINES if m in baseline_names] + sorted(baseline_names - set(BASELINES))
    return Results(tables, trained + baselines, list(dict.fromkeys(frame.split)), list(dict.fromkeys(frame.variable)),
                   list(dict.fromkeys(frame.metric)), conflicts, baselines)


def _table(rows: pd.DataFrame) -> tuple[Table, int]:
    seed_column = rows["seed"]
    seeds = sorted({int(s) for s in seed_column.dropna()}) + ([None] if seed_column.isna().any() else [])
    seed_of = np.array([len(seeds) - 1 if pd.isna(s) else seeds.index(int(s)) for s in seed_column], dtype=np.int64) \
        if len(seeds) > 1 or seeds == [None] else np.zeros(len(rows), dtype=np.int64)
    samples, sample_of = np.unique(rows["sample"].to_numpy(), return_inverse=True)
    steps, step_of = np.unique(rows["step"].to_numpy(), return_inverse=True)
    flat = (seed_of * len(samples) + sample_of) * len(steps) + step_of
    shape = (len(seeds), len(samples), len(steps))
    values = rows["value"].to_numpy()
    sums = np.zeros(int(np.prod(shape)))
    counts = np.zeros(int(np.prod(shape)), dtype=np.int64)
    np.add.at(sums, flat, values)
    np.add.at(counts, flat, 1)
    conflicts = 0
    if counts.max(initial=0) > 1:
        ordered = np.argsort(flat, kind="stable")
        same_key = flat[ordered][1:] == flat[ordered][:-1]
        a, b = values[ordered][1:], values[ordered][:-1]
        agree = (a == b) | (np.isnan(a) & np.isnan(b))
        conflicts = int((same_key & ~agree).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    viscosity = np.full(len(samples), np.nan)
    viscosity[sample_of] = rows["viscosity"].to_numpy()
    times = np.full(len(steps), np.nan)
    times[step_of] = rows["time"].to_numpy()
    return Table(seeds, samples, viscosity, steps, times, mean.reshape(shape), (counts > 0).reshape(shape)), conflicts
