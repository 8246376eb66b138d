"""The numbers of an out-of-distribution viscosity benchmark, aggregated over seeds from grouped
``results.csv`` (:mod:`.results`): ``summary.csv``, OOD/ID ratios and per-viscosity curves (horizon
means, correlation times).

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

import math

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..evaluation import metrics
from ..run_directory import write_atomically
from .intervals import Interval
from .results import Results, Table

SUMMARY_COLUMNS = ("model", "split", "variable", "metric", "step", "mean", "ci95_low", "ci95_high", "n_seeds",
                   "diverged_samples")
"""The columns of ``summary.csv``."""

CORRELATION_THRESHOLD = 0.8
"""The correlation time is the first scored time at which the correlation falls below this."""


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
                    for step, interval in zip(table.steps, Interval.columns(table.per_seed_step())):
                        rows.append(SummaryRow(model, split, variable, metric, str(int(step)), interval, diverged))
    return rows


def write_summary(path: Path, rows: Iterable[SummaryRow]) -> Path:
    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(SUMMARY_COLUMNS)
            writer.writerows(row.csv() for row in rows)

    return write_atomically(path, write)


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


# --- per viscosity ------------------------------------------------------------------------------------


VISCOSITY_BINS_PER_DECADE = 8
"""Samples are grouped by viscosity into log-spaced bins a factor 10^(1/8) ≈ 1.33 wide: the
log-uniform splits draw a different ν for every sample, which would otherwise give one noisy point
per sample; the sweep's values, a factor √2 apart, keep a bin each."""


def viscosity_bin(nu: float) -> float:
    """The geometric centre of ``nu``'s bin (see :data:`VISCOSITY_BINS_PER_DECADE`)."""
    return float(f"{10 ** (round(math.log10(nu) * VISCOSITY_BINS_PER_DECADE) / VISCOSITY_BINS_PER_DECADE):.6g}")


def _by_viscosity(results: Results, model: str, variable: str, metric: str, splits: Sequence[str],
                  pairs: Callable[[Table], tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> tuple[dict[float, Interval], dict[float, bool]]:
    """Per viscosity bin over every split, per seed the mean over samples, then across seeds.
    ``pairs(table)`` gives three ``(seed, sample)`` arrays: each pair's value, whether it counts, and
    whether it is flagged; also returned, per viscosity, whether any flagged pair went in."""
    seeds = results.seeds(model)
    collected: dict[float, dict[str, list[float]]] = {}
    flagged: dict[float, bool] = {}
    for split in splits:
        table = results.get(model, split, variable, metric)
        if table is None:
            continue
        values, counts, flags = pairs(table)
        for s, seed in enumerate(table.seeds):
            for i, nu in enumerate(table.viscosity):
                if not counts[s, i]:
                    continue
                key = viscosity_bin(nu)
                flagged[key] = flagged.get(key, False) or bool(flags[s, i])
                collected.setdefault(key, {}).setdefault(seed, []).append(values[s, i])
    intervals = {nu: Interval.of(np.mean(by_seed[s]) for s in seeds if s in by_seed)
                 for nu, by_seed in sorted(collected.items())}
    return intervals, flagged


def horizon_means(results: Results, model: str, variable: str, metric: str, splits: Sequence[str]
                  ) -> dict[float, Interval]:
    """Per viscosity value over every split: the horizon mean of ``metric``, per seed the mean over its
    surviving samples, then across seeds."""
    def pairs(table: Table):
        values = table.per_sample()
        return values, np.isfinite(values) & table.valid, np.zeros_like(table.valid)

    return _by_viscosity(results, model, variable, metric, splits, pairs)[0]


def correlation_times(results: Results, model: str, variable: str, splits: Sequence[str]
                      ) -> tuple[dict[float, Interval], dict[float, bool]]:
    """Per viscosity value over every split: the correlation time (first scored time with correlation
    below :data:`CORRELATION_THRESHOLD`), per seed the mean over its surviving samples, with a sample
    that never crosses counted at the horizon's end; then across seeds. Also, per viscosity, whether
    any such censored sample went in (the value is then a lower bound)."""
    def pairs(table: Table):
        times = metrics.correlation_time(torch.from_numpy(table.values), torch.from_numpy(table.times),
                                         CORRELATION_THRESHOLD).numpy()
        never = ~np.isfinite(times)
        return np.where(never, table.times[-1], times), table.valid & table.present.all(-1), never

    return _by_viscosity(results, model, variable, "correlation", splits, pairs)
