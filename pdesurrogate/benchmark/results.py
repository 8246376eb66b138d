"""``results.csv`` read and grouped: one :class:`Table` ``values[seed, sample, step]`` per model, split,
variable and metric, with which (seed, sample) pairs diverged and the per-seed means that leave them out.

A (seed, sample) pair with any non-finite value of that variable and metric within the horizon has
*diverged*: it is left out of every step of that seed's mean. A seed whose every sample diverged has
no mean (NaN).
"""

from __future__ import annotations

import csv
import warnings
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..evaluation.scoring import BASELINES, RESULT_COLUMNS
from .intervals import Interval, non_negative

_CATEGORICAL = ("model", "seed", "split", "variable", "metric")
_NUMERIC = ("sample", "viscosity", "step", "time", "value")
_KEY = ("model", "split", "variable", "metric")
ENSEMBLE_SUFFIX = "/ensemble"
"""Rows of a model ``<name>/ensemble`` are an ensemble of its seeds: summarised by
:mod:`pdesurrogate.benchmark.ensembles`, left out of the per-seed tables here."""


def seed_order(seed: str):
    """Sort key of seed labels: numbers in numeric order, then any other label (the baselines' ``-``)."""
    try:
        return (0, int(seed), seed)
    except ValueError:
        return (1, 0, seed)


@dataclass
class Table:
    """The rows of one model, split, variable and metric as ``values[seed, sample, step]``."""

    seeds: list[str]
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

    def get(self, model: str, split: str, variable: str, metric: str) -> Table | None:
        return self.tables.get((model, split, variable, metric))

    def interval(self, model: str, split: str, variable: str, metric: str) -> Interval | None:
        """The horizon mean of ``metric`` per seed, then its mean and 95 % interval over seeds."""
        table = self.get(model, split, variable, metric)
        return None if table is None else Interval.of(table.per_seed(), non_negative(metric))

    @property
    def trained(self) -> list[str]:
        return [m for m in self.models if m not in BASELINES]

    def variables_with(self, metric: str, splits: Sequence[str]) -> list[str]:
        """The variables for which some model has ``metric`` rows on one of ``splits``."""
        return [v for v in self.variables
                if any(self.get(m, s, v, metric) is not None for m in self.models for s in splits)]

    def seeds(self, model: str) -> list[str]:
        seeds = {s for (m, *_), t in self.tables.items() if m == model for s in t.seeds}
        return sorted(seeds, key=seed_order)


def group_results(path: str | Path) -> Results:
    """Read and group ``results.csv``. Rows repeated under the same key (the baselines, scored again
    beside every run) are averaged; repeats that disagree are counted in ``conflicting_duplicates``."""
    path = Path(path)
    names: dict[str, dict[str, int]] = {c: {} for c in _CATEGORICAL}
    codes = {c: array("q") for c in _CATEGORICAL}
    numbers = {c: array("d") for c in _NUMERIC}
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != RESULT_COLUMNS:
            raise UserError(f"{path}: the header must be {','.join(RESULT_COLUMNS)} (got {','.join(header or [])})")
        positions = [RESULT_COLUMNS.index(c) for c in _CATEGORICAL]
        numeric_positions = [RESULT_COLUMNS.index(c) for c in _NUMERIC]
        model_position = RESULT_COLUMNS.index("model")
        for line, row in enumerate(reader, start=2):
            if not row or (len(row) == len(RESULT_COLUMNS) and row[model_position].endswith(ENSEMBLE_SUFFIX)):
                continue
            if len(row) != len(RESULT_COLUMNS):
                raise UserError(f"{path}, line {line}: {len(row)} fields, expected {len(RESULT_COLUMNS)}")
            for column, position in zip(_CATEGORICAL, positions):
                table = names[column]
                code = table.get(row[position])
                if code is None:
                    code = table[row[position]] = len(table)
                codes[column].append(code)
            try:
                for column, position in zip(_NUMERIC, numeric_positions):
                    numbers[column].append(float(row[position]))
            except ValueError as error:
                raise UserError(f"{path}, line {line}: {error}") from None
    labels = {c: list(names[c]) for c in _CATEGORICAL}
    code = {c: np.frombuffer(codes[c], dtype=np.int64) if len(codes[c]) else np.zeros(0, np.int64)
            for c in _CATEGORICAL}
    number = {c: np.frombuffer(numbers[c], dtype=np.float64) if len(numbers[c]) else np.zeros(0)
              for c in _NUMERIC}
    # One integer per row for its (model, split, variable, metric): a stable sort on it groups the rows.
    key = np.zeros(len(code["model"]), dtype=np.int64)
    for column in _KEY:
        key = key * len(labels[column]) + code[column]
    order = np.argsort(key, kind="stable")
    boundaries = np.flatnonzero(np.diff(key[order])) + 1
    tables, conflicts = {}, 0
    for group in np.split(order, boundaries) if len(order) else []:
        first = group[0]
        name = tuple(labels[c][code[c][first]] for c in _KEY)
        table, conflict = _table(group, code["seed"], labels["seed"], number)
        tables[name] = table
        conflicts += conflict
    trained = [m for m in labels["model"] if m not in BASELINES]
    baselines = [m for m in BASELINES if m in labels["model"]]
    return Results(tables, trained + baselines, labels["split"], labels["variable"], labels["metric"], conflicts)


def _table(rows: np.ndarray, seed_codes: np.ndarray, seed_labels: list[str], number: dict) -> tuple[Table, int]:
    seed_values = [seed_labels[c] for c in np.unique(seed_codes[rows])]
    seeds = sorted(seed_values, key=seed_order)
    seed_index = {seed_labels.index(s): i for i, s in enumerate(seeds)}
    seed_of = np.array([seed_index[c] for c in seed_codes[rows]], dtype=np.int64)
    samples, sample_of = np.unique(number["sample"][rows].astype(np.int64), return_inverse=True)
    steps, step_of = np.unique(number["step"][rows].astype(np.int64), return_inverse=True)
    flat = (seed_of * len(samples) + sample_of) * len(steps) + step_of
    shape = (len(seeds), len(samples), len(steps))
    values = number["value"][rows]
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
    viscosity[sample_of] = number["viscosity"][rows]
    times = np.full(len(steps), np.nan)
    times[step_of] = number["time"][rows]
    return Table(seeds, samples, viscosity, steps, times, mean.reshape(shape), (counts > 0).reshape(shape)), conflicts
