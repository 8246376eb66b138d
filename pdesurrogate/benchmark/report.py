"""Aggregation and report of an out-of-distribution viscosity benchmark.

Reads a benchmark output directory ``OUT`` (``results.csv`` in the long form of
:data:`~pdesurrogate.evaluation.scoring.RESULT_COLUMNS`, ``runs/<model>/seed-<seed>/predictions/<split>.nc``,
optionally ``speed.json``) and the dataset it was scored on, and writes ``OUT/summary.csv``,
``OUT/figures/*.png`` and ``OUT/report.md`` (:func:`write_report`).

How numbers are aggregated (the same words go into the report):

* Every summary row is one model, split, variable and metric; variables are never summed or averaged
  together, and neither are splits.
* Per seed: the mean over samples at each scored step, then the mean over steps (the horizon mean,
  ``step = all``); per-step rows keep the step.
* A (seed, sample) pair with any non-finite value of that variable and metric within the horizon
  has *diverged*: it is left out of every step of that seed's mean and counted in
  ``diverged_samples``. A seed whose every sample diverged has no mean and does not count in
  ``n_seeds``; when no seed is left the mean is NaN.
* Across seeds: the mean of the per-seed means and its 95 % confidence interval
  ``mean ± t_{0.975, n−1} · s / √n`` (Student t, ``s`` the sample standard deviation, ``n`` the
  seeds); with one seed (the baselines always) the interval is NaN.
* OOD/ID ratios are taken per seed (same seed on both splits) and then aggregated the same way.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
import torch
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation import metrics
from ..evaluation.scoring import BASELINES, RESULT_COLUMNS

SUMMARY_COLUMNS = ("model", "split", "variable", "metric", "step", "mean", "ci95_low", "ci95_high", "n_seeds",
                   "diverged_samples")
"""The columns of ``summary.csv``."""

HIGHER_IS_BETTER = frozenset({"correlation"})
"""Metrics whose larger values are better; every other metric is an error (smaller is better)."""

CORRELATION_THRESHOLD = 0.8
"""The correlation time is the first scored time at which the correlation falls below this."""

CONFIDENCE = 0.95

_CATEGORICAL = ("model", "seed", "split", "variable", "metric")
_NUMERIC = ("sample", "viscosity", "step", "time", "value")
_BASELINE_STYLE = {"linestyle": "--"}


# --- Student t ---------------------------------------------------------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def _regularised_beta(a: float, b: float, x: float) -> float:
    """``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, dof: float) -> float:
    """The cumulative distribution function of Student's t with ``dof`` degrees of freedom."""
    tail = 0.5 * _regularised_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of Student's t (``0 < p < 1``, ``dof > 0``), by bisection on the CDF."""
    if not (0.0 < p < 1.0 and dof > 0):
        raise ValueError(f"need 0 < p < 1 and dof > 0, got p = {p}, dof = {dof}")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, dof)
    low, high = 0.0, 1.0
    while student_t_cdf(high, dof) < p:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if student_t_cdf(middle, dof) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Interval:
    """Mean over seeds and its 95 % confidence interval (NaN with fewer than two seeds)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return self.high - self.mean

    @classmethod
    def of(cls, values: Iterable[float]) -> Interval:
        """From per-seed values; non-finite ones (seeds with no surviving sample) do not count."""
        values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if n == 1:
            return cls(mean, math.nan, math.nan, 1)
        half = student_t_quantile(0.5 + CONFIDENCE / 2, n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
        return cls(mean, mean - half, mean + half, n)


# --- results.csv --------------------------------------------------------------------------------------


def _seed_order(seed: str):
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
    notes: list[str] = field(default_factory=list)

    def get(self, model: str, split: str, variable: str, metric: str) -> Table | None:
        return self.tables.get((model, split, variable, metric))

    @property
    def trained(self) -> list[str]:
        return [m for m in self.models if m not in BASELINES]

    def seeds(self, model: str) -> list[str]:
        seeds = {s for (m, *_), t in self.tables.items() if m == model for s in t.seeds}
        return sorted(seeds, key=_seed_order)


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
        for line, row in enumerate(reader, start=2):
            if not row:
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
    sizes = [len(labels[c]) for c in ("model", "split", "variable", "metric")]
    key = np.zeros(len(code["model"]), dtype=np.int64)
    for column, size in zip(("model", "split", "variable", "metric"), sizes):
        key = key * size + code[column]
    order = np.argsort(key, kind="stable")
    boundaries = np.flatnonzero(np.diff(key[order])) + 1
    tables, conflicts = {}, 0
    for group in np.split(order, boundaries) if len(order) else []:
        first = group[0]
        name = tuple(labels[c][code[c][first]] for c in ("model", "split", "variable", "metric"))
        table, conflict = _table(group, code["seed"], labels["seed"], number)
        tables[name] = table
        conflicts += conflict
    trained = [m for m in labels["model"] if m not in BASELINES]
    baselines = [m for m in BASELINES if m in labels["model"]]
    return Results(tables, trained + baselines, labels["split"], labels["variable"], labels["metric"], conflicts)


def _table(rows: np.ndarray, seed_codes: np.ndarray, seed_labels: list[str], number: dict) -> tuple[Table, int]:
    seed_values = [seed_labels[c] for c in np.unique(seed_codes[rows])]
    seeds = sorted(seed_values, key=_seed_order)
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


# --- summary.csv --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    model: str
    split: str
    variable: str
    metric: str
    step: str
    interval: Interval
    diverged_samples: int

    def csv(self) -> list[str]:
        i = self.interval
        return [self.model, self.split, self.variable, self.metric, self.step, repr(i.mean), repr(i.low),
                repr(i.high), str(i.n), str(self.diverged_samples)]


def _ordered_splits(results: Results, meta: Mapping) -> list[str]:
    wanted = [meta.get("id_split"), *(meta.get("ood_splits") or []), meta.get("sweep_split")]
    ordered = [s for s in wanted if s and s in results.splits]
    return ordered + [s for s in results.splits if s not in ordered]


def summarise(results: Results, splits: Sequence[str]) -> list[SummaryRow]:
    """Every summary row: per model, split, variable and metric the horizon mean (``step = all``) and
    one row per step."""
    rows = []
    for model in results.models:
        for split in splits:
            for variable in results.variables:
                for metric in results.metrics:
                    table = results.get(model, split, variable, metric)
                    if table is None:
                        continue
                    diverged = int(table.diverged.sum())
                    rows.append(SummaryRow(model, split, variable, metric, "all", Interval.of(table.per_seed()),
                                           diverged))
                    per_step = table.per_seed_step()
                    for j, step in enumerate(table.steps):
                        rows.append(SummaryRow(model, split, variable, metric, str(int(step)),
                                               Interval.of(per_step[:, j]), diverged))
    return rows


def ood_ratio(results: Results, model: str, variable: str, metric: str, id_split: str, ood_split: str) -> Interval | None:
    """The OOD/ID ratio of ``metric``'s horizon mean, per seed (the same seed on both splits), then
    across seeds."""
    inside, outside = results.get(model, id_split, variable, metric), results.get(model, ood_split, variable, metric)
    if inside is None or outside is None:
        return None
    a = dict(zip(inside.seeds, inside.per_seed()))
    b = dict(zip(outside.seeds, outside.per_seed()))
    with np.errstate(divide="ignore", invalid="ignore"):
        return Interval.of([b[s] / a[s] for s in a if s in b])


# --- writing ------------------------------------------------------------------------------------------


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _write_text(path: Path, text: str) -> Path:
    temporary = _temporary(path)
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path


def write_summary(path: Path, rows: Iterable[SummaryRow]) -> Path:
    temporary = _temporary(path)
    with temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(row.csv() for row in rows)
    temporary.replace(path)
    return path


def _save(figure: Figure, path: Path) -> Path:
    temporary = _temporary(path)
    figure.savefig(temporary, format="png", dpi=110)
    temporary.replace(path)
    return path


# --- figures ------------------------------------------------------------------------------------------


def _colours(models: Sequence[str]) -> dict[str, str]:
    palette = [f"C{i}" for i in range(10)]
    trained = [m for m in models if m not in BASELINES]
    colours = {m: palette[i % len(palette)] for i, m in enumerate(trained)}
    colours.update({"persistence": "0.35", "training_mean": "0.65"})
    return colours


def _band(axis, x, interval_rows: Sequence[Interval], colour: str, label: str, baseline: bool, marker: str | None = None):
    mean = np.array([i.mean for i in interval_rows])
    low = np.array([i.low for i in interval_rows])
    high = np.array([i.high for i in interval_rows])
    style = dict(_BASELINE_STYLE) if baseline else {}
    if not np.isfinite(mean).any():
        label += " (every sample diverged: no line)"
    axis.plot(x, mean, color=colour, label=label, marker=marker, markersize=4, **style)
    if np.isfinite(low).any():
        axis.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def _metric_label(metric: str) -> str:
    labels = {"rel_l2": "relative L2 error [1]", "rmse": "RMSE [field units]", "nrmse": "NRMSE [1]",
              "vrmse": "VRMSE [1]", "max_error": "max error [field units]", "correlation": "correlation [1]"}
    return labels.get(metric, metric)


@dataclass
class DatasetInfo:
    """What the figures take from the dataset: units, and the truth frames."""

    reader: DatasetReader | None
    time_units: str = ""
    viscosity_label: str = "viscosity ν"
    space_units: str = ""
    field_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path, splits: Sequence[str]) -> tuple[DatasetInfo, str | None]:
        try:
            reader = DatasetReader(root)
        except UserError as error:
            return cls(None), str(error)
        info = cls(reader)
        for name in splits:
            if name not in reader.split_names:
                continue
            try:
                shard = reader.split(name).shards[0].path
                with netCDF4.Dataset(shard) as nc:
                    def units(variable):
                        return nc[variable].getncattr("units") if "units" in nc[variable].ncattrs() else ""
                    info.time_units = units("time")
                    info.space_units = units("x")
                    if "viscosity" in nc.variables:
                        info.viscosity_label = f"viscosity ν [{units('viscosity')}]" if units("viscosity") else "viscosity ν"
                    for v, var in nc.variables.items():
                        if var.dimensions == ("sample", "time", "y", "x"):
                            name_ = var.getncattr("long_name") if "long_name" in var.ncattrs() else v
                            info.field_labels[v] = f"{name_} [{units(v)}]" if units(v) else name_
            except (UserError, OSError):
                continue
            break
        return info, None

    def time(self, value: float) -> str:
        """A time with its units, unless it has none (``1``: nondimensional)."""
        return f"{value:.4g}" + (f" {self.time_units}" if self.time_units not in ("", "1") else "")

    def split(self, name: str):
        if self.reader is None or name not in self.reader.split_names:
            return None
        try:
            return self.reader.split(name)
        except UserError:
            return None

    def truth(self, split_name: str, samples: np.ndarray, variable: str, time: float) -> np.ndarray | None:
        """``(sample, y, x)`` true fields of ``samples`` of a split at physical ``time``."""
        split = self.split(split_name)
        if split is None:
            return None
        offsets = np.cumsum([0] + [s.samples for s in split.shards])
        out = np.full((len(samples), *split.resolution), np.nan)
        for i, shard in enumerate(split.shards):
            inside = (samples >= offsets[i]) & (samples < offsets[i + 1])
            if not inside.any():
                continue
            with netCDF4.Dataset(shard.path) as nc:
                nc.set_auto_mask(False)
                times = np.asarray(nc["time"][:], dtype=np.float64)
                j = int(np.argmin(np.abs(times - time)))
                if not np.isclose(times[j], time, rtol=1e-6, atol=1e-9):
                    return None
                frame = np.asarray(nc[variable][:, j], dtype=np.float64)
            out[inside] = frame[samples[inside] - offsets[i]]
        return out


@dataclass
class Predictions:
    """The last scored frame of one run on one split."""

    samples: np.ndarray
    time: float
    fields: dict[str, np.ndarray]  # variable -> (sample, y, x)
    x: np.ndarray
    y: np.ndarray


def read_last_frame(path: Path) -> Predictions:
    with xr.open_dataset(path) as ds:
        variables = [v for v, var in ds.data_vars.items() if var.dims == ("sample", "time", "y", "x")]
        fields = {v: np.asarray(ds[v].isel(time=-1).values, dtype=np.float64) for v in variables}
        return Predictions(np.asarray(ds["sample"].values, dtype=np.int64), float(ds["time"].values[-1]), fields,
                           np.asarray(ds["x"].values), np.asarray(ds["y"].values))


def prediction_path(out: Path, model: str, seed: str, split: str) -> Path:
    return out / "runs" / model / f"seed-{seed}" / "predictions" / f"{split}.nc"


class Figures:
    """Draws every figure into ``out/figures``; remembers what was drawn and what could not be."""

    def __init__(self, out: Path, results: Results, splits: Sequence[str], dataset: DatasetInfo, meta: Mapping):
        self.out, self.results, self.splits, self.dataset, self.meta = out, results, splits, dataset, meta
        self.directory = out / "figures"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.metric = meta.get("headline_metric", "rel_l2")
        self.colours = _colours(results.models)
        self.drawn: dict[str, str] = {}  # relative path -> caption
        self.skipped: list[str] = []
        self._last_frames: dict[tuple[str, str, str], Predictions | None] = {}

    def _write(self, figure: Figure, name: str, caption: str) -> str:
        relative = f"figures/{name}"
        _save(figure, self.out / relative)
        self.drawn[relative] = caption
        return relative

    def _train_range(self, axis) -> None:
        band = self.meta.get("train_viscosity")
        if band and len(band) == 2:
            axis.axvspan(float(band[0]), float(band[1]), color="tab:green", alpha=0.12,
                         label=f"training range ν ∈ [{float(band[0]):.3g}, {float(band[1]):.3g}]")

    def _last_frame(self, model: str, seed: str, split: str) -> Predictions | None:
        key = (model, seed, split)
        if key not in self._last_frames:
            path = prediction_path(self.out, model, seed, split)
            self._last_frames[key] = read_last_frame(path) if path.is_file() else None
        return self._last_frames[key]

    def draw_all(self) -> None:
        for split in self.splits:
            self.error_vs_step(split)
        self.error_vs_viscosity()
        for split in self.splits:
            self.spectra(split)
        self.snapshots_lowest_viscosity()
        self.correlation_time_vs_viscosity()

    # 1. error vs rollout step
    def error_vs_step(self, split: str) -> None:
        variables = [v for v in self.results.variables
                     if any(self.results.get(m, split, v, self.metric) for m in self.results.models)]
        if not variables:
            self.skipped.append(f"error_vs_step_{split}.png: no {self.metric} rows for split {split}")
            return
        figure = Figure(figsize=(max(7.0, 5.0 * len(variables)), 4.4), layout="constrained")
        axes = figure.subplots(1, len(variables), squeeze=False)[0]
        for axis, variable in zip(axes, variables):
            for model in self.results.models:
                table = self.results.get(model, split, variable, self.metric)
                if table is None:
                    continue
                per_step = table.per_seed_step()
                intervals = [Interval.of(per_step[:, j]) for j in range(len(table.steps))]
                _band(axis, table.steps, intervals, self.colours[model], model, model in BASELINES, marker="o")
            axis.set_title(f"{variable}, split {split}")
            axis.set_xlabel("rollout step (scored frame number)")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.set_ylabel(_metric_label(self.metric))
            axis.grid(alpha=0.3)
            axis.legend(fontsize="small")
        figure.suptitle(f"{self.metric} vs rollout step, split {split}\n(band: 95 % CI over seeds; baselines dashed)")
        self._write(figure, f"error_vs_step_{split}.png",
                    f"{self.metric} vs rollout step on {split}, one panel per variable")

    # 2. error vs viscosity
    def _per_viscosity(self, model: str, variable: str, metric: str, per_pair) -> dict[float, Interval]:
        """Per viscosity value across every split: per seed the mean over samples of ``per_pair(table)``
        (``(seed, sample)``), then across seeds."""
        seeds = self.results.seeds(model)
        collected: dict[float, dict[str, list[float]]] = {}
        for split in self.splits:
            table = self.results.get(model, split, variable, metric)
            if table is None:
                continue
            values = per_pair(table)
            for s, seed in enumerate(table.seeds):
                for i, nu in enumerate(table.viscosity):
                    if np.isfinite(values[s, i]) and table.valid[s, i]:
                        collected.setdefault(float(f"{nu:.10g}"), {}).setdefault(seed, []).append(values[s, i])
        return {nu: Interval.of(np.mean(by_seed[s]) for s in seeds if s in by_seed)
                for nu, by_seed in sorted(collected.items())}

    def error_vs_viscosity(self) -> None:
        variables = [v for v in self.results.variables
                     if any(self.results.get(m, s, v, self.metric) for m in self.results.models for s in self.splits)]
        if not variables:
            self.skipped.append(f"error_vs_viscosity.png: no {self.metric} rows")
            return
        figure = Figure(figsize=(max(7.0, 5.5 * len(variables)), 4.6), layout="constrained")
        axes = figure.subplots(1, len(variables), squeeze=False)[0]
        anything = False
        for axis, variable in zip(axes, variables):
            self._train_range(axis)
            for model in self.results.models:
                curve = self._per_viscosity(model, variable, self.metric, lambda t: t.per_sample())
                if not curve:
                    continue
                anything = True
                _band(axis, list(curve), list(curve.values()), self.colours[model], model, model in BASELINES, "o")
            axis.set_xscale("log")
            axis.set_title(f"{variable}: horizon-mean {self.metric} per viscosity")
            axis.set_xlabel(self.dataset.viscosity_label + " (log scale)")
            axis.set_ylabel(_metric_label(self.metric))
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="small")
        if not anything:
            self.skipped.append(f"error_vs_viscosity.png: no finite {self.metric} values")
            return
        figure.suptitle(f"{self.metric} vs viscosity over the samples of {', '.join(self.splits)}\n"
                        "(band: 95 % CI over seeds; baselines dashed)")
        self._write(figure, "error_vs_viscosity.png",
                    f"horizon-mean {self.metric} per viscosity value over every scored split, training range shaded")

    # 3. spectra
    def spectra(self, split: str) -> None:
        runs = {m: [(s, p) for s in self.results.seeds(m) if (p := self._last_frame(m, s, split)) is not None]
                for m in self.results.trained}
        runs = {m: r for m, r in runs.items() if r}
        if not runs:
            self.skipped.append(f"spectra_{split}.png: no predictions files for split {split}")
            return
        first = next(iter(runs.values()))[0][1]
        variables = list(first.fields)
        figure = Figure(figsize=(max(7.0, 5.0 * len(variables)), 4.6), layout="constrained")
        axes = figure.subplots(1, len(variables), squeeze=False)[0]
        drawn = False
        for axis, variable in zip(axes, variables):
            truth = self.dataset.truth(split, first.samples, variable, first.time)
            if truth is not None:
                k, energy = _spectrum(truth)
                axis.loglog(k[1:], energy[1:], color="black", linewidth=2, label="truth (dataset)")
                drawn = True
            for model, seeds in runs.items():
                per_seed = []
                for _, prediction in seeds:
                    if variable not in prediction.fields:
                        continue
                    fields = prediction.fields[variable]
                    finite = np.isfinite(fields).all(axis=(-2, -1))
                    if finite.any():
                        k, energy = _spectrum(fields[finite])
                        per_seed.append(energy)
                if not per_seed:
                    continue
                per_seed = np.stack(per_seed)
                intervals = [Interval.of(per_seed[:, j]) for j in range(per_seed.shape[1])]
                mean = np.array([i.mean for i in intervals])
                axis.loglog(k[1:], mean[1:], color=self.colours[model], label=f"{model} (mean of {len(per_seed)} seeds)")
                low = np.array([i.low for i in intervals])
                if np.isfinite(low).any():
                    floor = np.nanmin(mean[1:][mean[1:] > 0]) * 1e-3 if (mean[1:] > 0).any() else 1e-30
                    axis.fill_between(k[1:], np.maximum(low[1:], floor), np.array([i.high for i in intervals])[1:],
                                      color=self.colours[model], alpha=0.2, linewidth=0)
                drawn = True
            axis.set_title(f"{variable}, split {split}, t = {self.dataset.time(first.time)}")
            axis.set_xlabel("wavenumber k [cycles per domain]")
            axis.set_ylabel(f"E(k) of {variable} [field units²]")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="small")
        if not drawn:
            self.skipped.append(f"spectra_{split}.png: neither truth nor predictions could be read")
            return
        figure.suptitle(f"isotropic spectrum at the last scored frame, split {split}\n(mean over samples; "
                        "band: 95 % CI over seeds)")
        self._write(figure, f"spectra_{split}.png", f"isotropic energy spectrum at the last scored frame on {split}")

    # 4. snapshots
    def snapshots_lowest_viscosity(self) -> None:
        candidates = []  # (viscosity, split order, sample, split)
        for order, split in enumerate(self.splits):
            if not any(prediction_path(self.out, m, s, split).is_file()
                       for m in self.results.trained for s in self.results.seeds(m)):
                continue
            for (model, name, *_), table in self.results.tables.items():
                if name == split:
                    candidates += [(float(nu), order, int(sample), split)
                                   for nu, sample in zip(table.viscosity, table.samples)]
        if not candidates:
            self.skipped.append("snapshots_lowest_viscosity.png: no predictions files")
            return
        nu, _, sample, split = min(candidates)
        rows = []
        for model in self.results.trained:
            for seed in self.results.seeds(model):
                prediction = self._last_frame(model, seed, split)
                if prediction is not None and sample in prediction.samples:
                    rows.append((model, seed, prediction))
                    break
        if not rows:
            self.skipped.append(f"snapshots_lowest_viscosity.png: no predictions of sample {sample} of {split}")
            return
        variable = next(iter(rows[0][2].fields))
        time = rows[0][2].time
        truth = self.dataset.truth(split, np.array([sample]), variable, time)
        truth = truth[0] if truth is not None else None
        figure = Figure(figsize=(11.0, 3.3 * len(rows) + 0.6), layout="constrained")
        axes = figure.subplots(len(rows), 3, squeeze=False)
        x, y = rows[0][2].x, rows[0][2].y
        dx = float(x[1] - x[0]) if len(x) > 1 else 1.0
        dy = float(y[1] - y[0]) if len(y) > 1 else 1.0
        extent = (float(x[0]), float(x[-1]) + dx, float(y[0]), float(y[-1]) + dy)
        if truth is not None:
            vmax = float(np.nanmax(np.abs(truth)))
        else:
            vmax = max(float(np.nanmax(np.abs(np.nan_to_num(r[2].fields[variable], posinf=0, neginf=0)))) for r in rows)
        vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
        errors = []
        for model, seed, prediction in rows:
            field_ = prediction.fields[variable][list(prediction.samples).index(sample)]
            errors.append(field_ - truth if truth is not None else np.full_like(field_, np.nan))
        finite_errors = [np.abs(e[np.isfinite(e)]).max() for e in errors if np.isfinite(e).any()]
        emax = max(finite_errors) if finite_errors else 1.0
        label = self.dataset.field_labels.get(variable, variable)
        unit = f" [{self.dataset.space_units}]" if self.dataset.space_units else ""
        shown = {}
        for r, ((model, seed, prediction), error, row) in enumerate(zip(rows, errors, axes)):
            field_ = prediction.fields[variable][list(prediction.samples).index(sample)]
            panels = (("truth", truth, "RdBu_r", vmax), (f"{model} (seed {seed})", field_, "RdBu_r", vmax),
                      ("error = prediction − truth", error, "PuOr_r", emax))
            for c, (axis, (title, image, cmap, limit)) in enumerate(zip(row, panels)):
                if image is None:
                    axis.set_axis_off()
                    axis.set_title(f"{title}: not readable")
                    continue
                if not np.isfinite(image).all():
                    title += " (diverged)"
                shown[c == 2] = axis.imshow(image, origin="lower", extent=extent, cmap=cmap, vmin=-limit, vmax=limit)
                axis.set_title(title, fontsize="medium")
                if r == len(rows) - 1:
                    axis.set_xlabel(f"x{unit}")
                if c == 0:
                    axis.set_ylabel(f"y{unit}")
        # One colour bar for truth and predictions (a shared scale), one for the errors.
        if False in shown:
            figure.colorbar(shown[False], ax=axes[:, :2], shrink=0.8, label=label)
        if True in shown:
            figure.colorbar(shown[True], ax=axes[:, 2], shrink=0.8, label=f"error of {label}")
        figure.suptitle(f"lowest viscosity ν = {nu:.3g}: sample {sample} of {split}, {variable} at the last scored "
                        f"frame t = {self.dataset.time(time)}")
        self._write(figure, "snapshots_lowest_viscosity.png",
                    f"truth, prediction and error of sample {sample} of {split} (ν = {nu:.3g}) at t = {time:.4g}")

    # 5. correlation time
    def correlation_time_vs_viscosity(self) -> None:
        variables = [v for v in self.results.variables
                     if any(self.results.get(m, s, v, "correlation") for m in self.results.models for s in self.splits)]
        if not variables:
            self.skipped.append("correlation_time_vs_viscosity.png: no correlation rows")
            return
        ends = [t.times[-1] for (m, s, v, metric), t in self.results.tables.items() if metric == "correlation"]
        horizon_end = float(np.nanmax(ends))
        figure = Figure(figsize=(max(7.0, 5.5 * len(variables)), 4.8), layout="constrained")
        axes = figure.subplots(1, len(variables), squeeze=False)[0]
        for axis, variable in zip(axes, variables):
            self._train_range(axis)
            for model in self.results.models:
                times, censored = correlation_times(self.results, model, variable, self.splits)
                if not times:
                    continue
                viscosities = sorted(times)
                intervals = [times[nu] for nu in viscosities]
                _band(axis, viscosities, intervals, self.colours[model], model, model in BASELINES)
                closed = [nu for nu in viscosities if not censored[nu]]
                opened = [nu for nu in viscosities if censored[nu]]
                axis.plot(closed, [times[nu].mean for nu in closed], "o", color=self.colours[model])
                axis.plot(opened, [times[nu].mean for nu in opened], "o", markerfacecolor="white",
                          color=self.colours[model])
            axis.axhline(horizon_end, color="black", linestyle=":", linewidth=1,
                         label=f"end of horizon t = {horizon_end:.4g}")
            axis.plot([], [], "o", markerfacecolor="white", color="black",
                      label="open: some samples stay ≥ 0.8 over the horizon\n(counted at the horizon end: a lower bound)")
            axis.set_xscale("log")
            axis.set_title(f"{variable}: time of first correlation < {CORRELATION_THRESHOLD}")
            axis.set_xlabel(self.dataset.viscosity_label + " (log scale)")
            unit = f" [{self.dataset.time_units}]" if self.dataset.time_units else ""
            axis.set_ylabel(f"correlation time (simulation time){unit}")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="x-small")
        figure.suptitle("correlation time vs viscosity\n(mean over samples per seed; band: 95 % CI over seeds)")
        self._write(figure, "correlation_time_vs_viscosity.png",
                    f"first simulation time at which the correlation falls below {CORRELATION_THRESHOLD}, per viscosity; "
                    "open markers are lower bounds (no crossing within the horizon for some samples, counted at "
                    "the horizon end)")


def _spectrum(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shell wavenumbers and the mean over samples of the isotropic spectrum of ``(sample, y, x)``."""
    k, energy = metrics.isotropic_spectrum(torch.from_numpy(np.ascontiguousarray(fields, dtype=np.float64)))
    return k.numpy(), energy.mean(0).numpy()


def correlation_times(results: Results, model: str, variable: str, splits: Sequence[str]
                      ) -> tuple[dict[float, Interval], dict[float, bool]]:
    """Per viscosity value over every split: the correlation time (first scored time with correlation
    below :data:`CORRELATION_THRESHOLD`), per seed the mean over its surviving samples, with a sample
    that never crosses counted at the horizon's end; then across seeds. Also, per viscosity, whether
    any such censored sample went in (the value is then a lower bound)."""
    seeds = results.seeds(model)
    collected: dict[float, dict[str, list[float]]] = {}
    censored: dict[float, bool] = {}
    for split in splits:
        table = results.get(model, split, variable, "correlation")
        if table is None:
            continue
        valid = table.valid & table.present.all(-1)
        times = metrics.correlation_time(torch.from_numpy(table.values), torch.from_numpy(table.times),
                                         CORRELATION_THRESHOLD).numpy()
        for s, seed in enumerate(table.seeds):
            for i, nu in enumerate(table.viscosity):
                if not valid[s, i]:
                    continue
                key = float(f"{nu:.10g}")
                never = not np.isfinite(times[s, i])
                censored[key] = censored.get(key, False) or never
                collected.setdefault(key, {}).setdefault(seed, []).append(table.times[-1] if never else times[s, i])
    intervals = {nu: Interval.of(np.mean(by_seed[s]) for s in seeds if s in by_seed)
                 for nu, by_seed in sorted(collected.items())}
    return intervals, censored


# --- report.md ----------------------------------------------------------------------------------------


def _number(x: float) -> str:
    return "NaN" if not np.isfinite(x) else f"{x:.4g}"


def _cell(interval: Interval) -> str:
    if interval.n == 0:
        return "NaN (no surviving sample)"
    if interval.n == 1:
        return f"{_number(interval.mean)} (1 seed, no CI)"
    return f"{_number(interval.mean)} ± {interval.half_width:.2g}"


def _better(metric: str, a: float, b: float) -> bool:
    return a > b if metric in HIGHER_IS_BETTER else a < b


def _bounds(i: Interval) -> tuple[float, float]:
    """The interval, or the point itself when there is no CI (one seed: a deterministic baseline)."""
    if i.n >= 2:
        return i.low, i.high
    return i.mean, i.mean


def _separable(a: Interval, b: Interval) -> str:
    if a.n < 2 and b.n < 2:
        return "no CI on either: not assessable"
    (alow, ahigh), (blow, bhigh) = _bounds(a), _bounds(b)
    if ahigh < blow or bhigh < alow:
        return "CIs disjoint: separable"
    return "CIs overlap: not separable"


def _split_kind(split: str, meta: Mapping) -> str:
    if split == meta.get("id_split"):
        return "in distribution"
    if split in (meta.get("ood_splits") or []):
        return "out of distribution"
    if split == meta.get("sweep_split"):
        return "viscosity sweep"
    return "other split"


AGGREGATION_TEXT = """\
Every number below belongs to one model, split, variable and metric: variables are never summed or \
averaged together, and neither are splits. For each seed, the metric is averaged over the samples of \
the split at each scored step, then over the scored steps (the horizon mean; `summary.csv` also keeps \
one row per step). A sample with any non-finite value of that metric within the horizon has \
**diverged**: it is left out of its seed's mean and counted in `diverged_samples` (and below); a seed \
none of whose samples survived does not count in `n_seeds`, and a model and split whose every sample \
diverged has mean NaN. Across seeds we report the mean of the per-seed means ± the half-width of its \
95 % confidence interval, t(0.975, n−1) · s / √n with s the standard deviation over the n seeds \
(Student t); with one seed, as for the deterministic baselines `persistence` and `training_mean`, \
there is no interval. OOD/ID ratios are computed per seed (the same seed on both splits) and then \
aggregated the same way. Two models are called separable when their intervals do not overlap (for a \
baseline, when its value lies outside the model's interval).
"""


def _report(results: Results, splits: Sequence[str], meta: Mapping, speed: dict | None, figures: Figures,
            notes: Sequence[str]) -> str:
    metric = meta.get("headline_metric", "rel_l2")
    better_word = "higher" if metric in HIGHER_IS_BETTER else "lower"
    order_sign = ">" if metric in HIGHER_IS_BETTER else "<"
    lines = ["# Out-of-distribution viscosity benchmark", ""]
    lines += [f"- Command: `{meta.get('command', '?')}`", f"- Commit: `{meta.get('commit', '?')}`",
              f"- Machine: {meta.get('machine', '?')}"]
    band = meta.get("train_viscosity")
    if band:
        lines.append(f"- Training viscosity range: [{float(band[0]):.4g}, {float(band[1]):.4g}]")
    if "score_from" in meta or "horizon" in meta:
        lines.append(f"- Scoring window: frames from saved index {meta.get('score_from', '?')} over a horizon of "
                     f"{meta.get('horizon', '?')} frames")
    lines.append(f"- Headline metric: `{metric}` ({better_word} is better)")
    lines.append(f"- Models: {', '.join(results.trained) or 'none'}; baselines: "
                 f"{', '.join(m for m in results.models if m in BASELINES) or 'none'}")
    if meta.get("missing_runs"):
        lines.append(f"- Runs not finished, left out of everything below: {', '.join(map(str, meta['missing_runs']))}")
    lines.append("- Splits: " + ", ".join(f"{s} ({_split_kind(s, meta)}{_viscosity_range(results, s)})"
                                          for s in splits))
    lines += ["", "## How the numbers are aggregated", "", AGGREGATION_TEXT.strip(), ""]
    if notes:
        lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]

    # per split tables
    lines += [f"## Headline metric `{metric}` per split", "",
              f"Horizon mean ± 95 % CI half-width over seeds; **bold ★** marks the best ({better_word}) mean per "
              "variable; † marks a model with diverged samples (see below).", ""]
    for split in splits:
        lines += [f"### {split} ({_split_kind(split, meta)})", ""]
        variables = [v for v in results.variables if any(results.get(m, split, v, metric) for m in results.models)]
        if not variables:
            lines += [f"No `{metric}` rows for this split.", ""]
            continue
        lines.append("| model | " + " | ".join(variables) + " |")
        lines.append("|---" * (len(variables) + 1) + "|")
        best = {}
        for v in variables:
            candidates = [(m, _interval(results, m, split, v, metric)) for m in results.models]
            candidates = [(m, i) for m, i in candidates if i is not None and np.isfinite(i.mean)]
            if candidates:
                best[v] = min(candidates, key=lambda c: -c[1].mean if metric in HIGHER_IS_BETTER else c[1].mean)[0]
        for model in results.models:
            cells = []
            for v in variables:
                table = results.get(model, split, v, metric)
                if table is None:
                    cells.append("—")
                    continue
                interval = Interval.of(table.per_seed())
                text = _cell(interval)
                if best.get(v) == model:
                    text = f"**{text}** ★"
                if table.diverged.any():
                    text += " †"
                cells.append(text)
            name = f"{model} (baseline)" if model in BASELINES else model
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        for relative in (f"figures/error_vs_step_{split}.png", f"figures/spectra_{split}.png"):
            if relative in figures.drawn:
                lines += [f"![{figures.drawn[relative]}]({relative})", ""]

    # OOD / ID
    id_split = meta.get("id_split")
    ood_splits = [s for s in (meta.get("ood_splits") or []) if s in splits]
    lines += ["## In- vs out-of-distribution", ""]
    if id_split not in splits or not ood_splits:
        lines += [f"Not computed: the results need the in-distribution split ({id_split}) and an "
                  f"out-of-distribution split ({', '.join(meta.get('ood_splits') or []) or 'none named'}).", ""]
    else:
        lines += [f"Ratio of the horizon-mean `{metric}` on each out-of-distribution split to that on `{id_split}`, "
                  "per seed, then mean ± 95 % CI half-width over seeds (above 1: worse out of distribution"
                  f"{' for an error metric' if metric not in HIGHER_IS_BETTER else ''}).", ""]
        lines.append("| model | variable | " + " | ".join(f"{s} / {id_split}" for s in ood_splits) + " |")
        lines.append("|---" * (len(ood_splits) + 2) + "|")
        for model in results.models:
            for v in results.variables:
                ratios = [ood_ratio(results, model, v, metric, id_split, s) for s in ood_splits]
                if all(r is None for r in ratios):
                    continue
                lines.append(f"| {model} | {v} | " + " | ".join("—" if r is None else _cell(r) for r in ratios) + " |")
        lines.append("")

    # ranking
    lines += ["## Ranking per split", "",
              f"Models and baselines ordered by horizon-mean `{metric}` (best first, `{order_sign}` = {better_word}), "
              "each neighbouring pair with whether their 95 % intervals separate them.", ""]
    for split in splits:
        for v in results.variables:
            ranked = [(m, _interval(results, m, split, v, metric)) for m in results.models]
            ranked = [(m, i) for m, i in ranked if i is not None]
            if not ranked:
                continue
            finite = sorted([(m, i) for m, i in ranked if np.isfinite(i.mean)],
                            key=lambda c: -c[1].mean if metric in HIGHER_IS_BETTER else c[1].mean)
            text = ""
            for k, (m, i) in enumerate(finite):
                text += f" {order_sign} {m} ({_separable(finite[k - 1][1], i)})" if k else m
            if finite:
                text += "; values: " + ", ".join(f"{m} {_cell(i)}" for m, i in finite)
            failed = [m for m, i in ranked if not np.isfinite(i.mean)]
            if failed:
                text += f"; not ranked (every sample diverged): {', '.join(failed)}"
            lines.append(f"- **{split}**, {v}: {text}")
    lines.append("")

    # baselines
    lines += ["## Does each model beat both baselines?", "",
              f"On the horizon-mean `{metric}`: *yes* when the model's mean is {better_word} than both baselines', "
              "*yes (separable)* when its whole 95 % interval is.", ""]
    lines += ["| split | model | variable | model | persistence | training_mean | beats both |", "|---" * 7 + "|"]
    for split in splits:
        for model in results.trained:
            for v in results.variables:
                i = _interval(results, model, split, v, metric)
                if i is None:
                    continue
                baselines = [_interval(results, b, split, v, metric) for b in BASELINES]
                lines.append(f"| {split} | {model} | {v} | {_cell(i)} | "
                             + " | ".join("—" if b is None else _cell(b) for b in baselines)
                             + f" | {_beats(i, baselines, metric)} |")
    lines.append("")

    # diverged
    lines += ["## Diverged rollouts", "",
              f"(seed, sample) pairs with a non-finite `{metric}` at some scored step, out of all pairs scored; "
              "they are excluded from every mean above.", ""]
    diverged_lines = []
    for split in splits:
        for model in results.models:
            for v in results.variables:
                table = results.get(model, split, v, metric)
                if table is not None and table.diverged.any():
                    seeds = sorted({table.seeds[s] for s in np.flatnonzero(table.diverged.any(1))}, key=_seed_order)
                    diverged_lines.append(f"| {split} | {model} | {v} | {int(table.diverged.sum())} of "
                                          f"{int(table.pairs.sum())} | {', '.join(seeds)} |")
    if diverged_lines:
        lines += ["| split | model | variable | diverged pairs | seeds |", "|---" * 5 + "|"] + diverged_lines
    else:
        lines.append(f"None: every `{metric}` value is finite.")
    other = _other_non_finite(results, splits, metric)
    if other:
        lines += ["", "Other metrics with non-finite values (counted in `summary.csv`'s `diverged_samples`): "
                  + "; ".join(other) + "."]
    lines.append("")

    # speed
    lines += ["## Speed", ""]
    if speed is None:
        lines += ["No `speed.json` in the output directory: no timing.", ""]
    else:
        solver = speed.get("solver_seconds")
        timed = f" of split {speed['split']}" if speed.get("split") else ""
        lines += [f"Time to produce the scored rollouts of {speed.get('trajectories', '?')} trajectories{timed} "
                  f"({speed.get('frames', '?')} frames each) on {speed.get('device', '?')}; the solver ran at "
                  f"{speed.get('sim_resolution', '?')}² for the same trajectories. Speed-up = solver seconds / "
                  "surrogate seconds.", "",
                  "| model | surrogate [s] | solver [s] | speed-up |", "|---|---|---|---|"]
        for model, seconds in (speed.get("surrogate") or {}).items():
            try:
                up = float(solver) / float(seconds)
                up_text = f"{up:.3g}×"
            except (TypeError, ValueError, ZeroDivisionError):
                up_text = "—"
            lines.append(f"| {model} | {_seconds(seconds)} | {_seconds(solver)} | {up_text} |")
        lines.append("")

    # figures
    lines += ["## Figures", ""]
    for relative, caption in figures.drawn.items():
        lines.append(f"- [{relative}]({relative}): {caption}")
    for reason in figures.skipped:
        lines.append(f"- not drawn: {reason}")
    lines.append("")
    return "\n".join(lines)


def _seconds(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return "—"


def _viscosity_range(results: Results, split: str) -> str:
    values = np.concatenate([t.viscosity for (m, s, *_), t in results.tables.items() if s == split] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    if not len(values):
        return ""
    low, high = values.min(), values.max()
    return f", ν = {low:.3g}" if low == high else f", ν ∈ [{low:.3g}, {high:.3g}]"


def _interval(results: Results, model: str, split: str, variable: str, metric: str) -> Interval | None:
    table = results.get(model, split, variable, metric)
    return None if table is None else Interval.of(table.per_seed())


def _beats(model: Interval, baselines: Sequence[Interval | None], metric: str) -> str:
    if not np.isfinite(model.mean):
        return "no (every sample diverged)"
    present = [b for b in baselines if b is not None and np.isfinite(b.mean)]
    if len(present) < len(BASELINES):
        return "— (a baseline is missing)"
    if not all(_better(metric, model.mean, b.mean) for b in present):
        return "no"
    edge = model.low if metric in HIGHER_IS_BETTER else model.high
    if model.n >= 2 and all(_better(metric, edge, b.mean) for b in present):
        return "yes (separable)"
    return "yes (means only; the CI reaches a baseline)" if model.n >= 2 else "yes (one seed, no CI)"


def _other_non_finite(results: Results, splits: Sequence[str], headline: str) -> list[str]:
    found = []
    for (model, split, variable, metric), table in results.tables.items():
        if metric == headline or split not in splits or not table.diverged.any():
            continue
        n, total = int(table.diverged.sum()), int(table.pairs.sum())
        reason = " (a constant prediction has no correlation)" if (model == "training_mean" and metric == "correlation"
                                                                   and n == total) else ""
        found.append(f"{model} {split} {variable} `{metric}`: {n} of {total}{reason}")
    return found


# --- entry point --------------------------------------------------------------------------------------


def write_report(out: Path, dataset_root: Path, meta: dict) -> Path:
    """Aggregate ``out/results.csv`` into ``out/summary.csv``, draw ``out/figures/*.png`` and write
    ``out/report.md`` (returned). Every file is written under a temporary name and renamed."""
    out, dataset_root = Path(out), Path(dataset_root)
    results_path = out / "results.csv"
    if not results_path.is_file():
        raise UserError(f"{out} has no results.csv: run the benchmark's scoring stage first")
    results = group_results(results_path)
    splits = _ordered_splits(results, meta)
    write_summary(out / "summary.csv", summarise(results, splits))

    notes = []
    if results.conflicting_duplicates:
        notes.append(f"{results.conflicting_duplicates} repeated rows of results.csv (same model, seed, split, "
                     "sample, step, variable and metric) disagree; their values were averaged.")
    dataset, problem = DatasetInfo.open(dataset_root, splits)
    if problem:
        notes.append(f"The dataset could not be read ({problem}): figures that need the true fields are left out.")
    speed = None
    speed_path = out / "speed.json"
    if speed_path.is_file():
        try:
            speed = json.loads(speed_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            notes.append(f"speed.json is not valid JSON ({error}): no timing.")

    figures = Figures(out, results, splits, dataset, meta)
    figures.draw_all()
    return _write_text(out / "report.md", _report(results, splits, meta, speed, figures, notes))


__all__ = ["SUMMARY_COLUMNS", "Interval", "Results", "Table", "correlation_times", "ood_ratio", "group_results",
           "student_t_quantile", "summarise", "write_report"]
