"""Calibration summaries of an ensemble, computed from its rows of the result table only.

Aggregation (as every table of the package): mean over samples, then over scored frames, per
variable (never summed over variables), except where a quantity is not a mean of per-frame values:

- ``spread_skill`` = sqrt((M+1)/M) · sqrt(mean spread²) / sqrt(mean rmse²) over samples and frames
  (the ratio of root-mean-square spread to root-mean-square error of the ensemble mean; a mean of
  per-frame ratios would be dominated by the frames with the smallest errors);
- ``rank_correlation``: Spearman's correlation over samples of each sample's spread and its
  ensemble-mean RMSE, both averaged over frames: whether uncertainty ranks the trajectories that
  went wrong.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from . import metrics
from .ensemble import COVERAGE_LEVELS, coverage_metric

SUMMARY_COLUMNS = ("model", "seed", "split", "variable", "samples", "rel_l2", "crps", "nll", "coverage_50",
                   "coverage_90", "spread", "rmse", "spread_skill", "rank_correlation")


def _per_sample(table: pd.DataFrame, metric: str) -> pd.Series:
    """Per sample: the metric's mean over scored frames."""
    return table[table.metric == metric].groupby("sample")["value"].mean()


def calibration(table: pd.DataFrame, members: int, by: tuple[str, ...] = ("model", "seed", "split", "variable")) -> pd.DataFrame:
    """One row per group of ``by`` with :data:`SUMMARY_COLUMNS` (``by`` may add ``viscosity``)."""
    out = []
    for key, group in table.groupby(list(by), sort=True, dropna=False):  # an ensemble's seed is empty
        entry = dict(zip(by, key))
        sample_means = {m: _per_sample(group, m) for m in ("rel_l2", "crps", "nll", "spread", "rmse",
                                                          coverage_metric(0.5), coverage_metric(0.9))}
        entry["samples"] = int(group["sample"].nunique())
        for name, metric in (("rel_l2", "rel_l2"), ("crps", "crps"), ("nll", "nll"), ("coverage_50", coverage_metric(0.5)),
                             ("coverage_90", coverage_metric(0.9))):
            entry[name] = float(sample_means[metric].mean())
        spread = group[group.metric == "spread"]["value"].to_numpy()
        error = group[group.metric == "rmse"]["value"].to_numpy()
        entry["spread"] = float(np.sqrt(np.mean(spread ** 2)))
        entry["rmse"] = float(np.sqrt(np.mean(error ** 2)))
        entry["spread_skill"] = math.sqrt((members + 1) / members) * entry["spread"] / entry["rmse"]
        s, e = sample_means["spread"], sample_means["rmse"].reindex(sample_means["spread"].index)
        entry["rank_correlation"] = (metrics.spearman_correlation(torch.tensor(s.to_numpy()), torch.tensor(e.to_numpy()))
                                     if len(s) >= 3 else float("nan"))
        out.append(entry)
    return pd.DataFrame(out, columns=list(by) + [c for c in SUMMARY_COLUMNS if c not in by])


def reliability(table: pd.DataFrame) -> pd.DataFrame:
    """Observed coverage at every nominal level of :data:`COVERAGE_LEVELS`, per model, split and variable."""
    names = {coverage_metric(level): level for level in COVERAGE_LEVELS}
    rows = table[table.metric.isin(list(names))]
    observed = rows.groupby(["model", "split", "variable", "metric"])["value"].mean().reset_index()
    observed["nominal"] = observed["metric"].map(names)
    return observed.rename(columns={"value": "observed"}).drop(columns="metric").sort_values(
        ["model", "split", "variable", "nominal"])


def spread_and_error_by_step(table: pd.DataFrame) -> pd.DataFrame:
    """Root-mean-square spread and ensemble-mean RMSE per model, split, variable and rollout step."""
    rows = table[table.metric.isin(["spread", "rmse"])]
    squared = rows.assign(value=rows["value"] ** 2)
    mean = squared.groupby(["model", "split", "variable", "step", "metric"])["value"].mean().pow(0.5)
    return mean.unstack("metric").reset_index()
