"""What the quickstart reads back from the benchmark: per-model errors and the best model."""

from __future__ import annotations

from pathlib import Path

from ..benchmark.intervals import Interval
from ..benchmark.results import Results, group_results

ID_SPLIT = "test_id"


def describe_model(name: str) -> str:
    """``ns_fno_cond_small`` -> ``conditioned FNO``: config names in words."""
    parts = name.split("_")
    architecture = {"fno": "FNO", "unet": "U-Net"}.get(parts[1] if len(parts) > 1 else "", name)
    return ("conditioned " if "cond" in parts else "") + architecture if architecture != name else name


def horizon_mean(results: Results, model: str, split: str, variable: str = "vorticity") -> Interval | None:
    """The horizon-mean relative L2 error per seed, then its mean and interval over seeds."""
    table = results.get(model, split, variable, "rel_l2")
    return None if table is None else Interval.of(list(table.per_seed()))


def best_model(results_csv: Path) -> str:
    """The trained model with the lowest in-distribution error (mean over seeds)."""
    results = group_results(results_csv)
    means = {m: horizon_mean(results, m, ID_SPLIT) for m in results.trained}
    return min((m for m in means if means[m] is not None), key=lambda m: means[m].mean)
