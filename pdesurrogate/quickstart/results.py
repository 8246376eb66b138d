"""What the quickstart reads back from the benchmark: per-model errors and the best model."""

from __future__ import annotations

import math
from pathlib import Path

from ..benchmark.intervals import Interval
from ..benchmark.results import Results, group_results
from ..errors import UserError

ID_SPLIT = "test_id"


def describe_model(name: str) -> str:
    """``ns_fno_cond_small`` -> ``conditioned FNO``: config names in words."""
    parts = name.split("_")
    architecture = {"fno": "FNO", "unet": "U-Net"}.get(parts[1] if len(parts) > 1 else "", name)
    return ("conditioned " if "cond" in parts else "") + architecture if architecture != name else name


def horizon_mean(results: Results, model: str, split: str, variable: str = "vorticity") -> Interval | None:
    """The horizon-mean relative L2 error per seed, then its mean and interval over seeds."""
    return results.interval(model, split, variable, "rel_l2")


def best_model(results_csv: Path, among: list[str] | None = None) -> str:
    """The trained model (of ``among``, if given) with the lowest in-distribution error (mean over
    seeds); a model whose mean is NaN (a seed diverged) is never chosen."""
    results = group_results(results_csv)
    means = {m: horizon_mean(results, m, ID_SPLIT) for m in results.trained if among is None or m in among}
    finite = [m for m, mean in means.items() if mean is not None and math.isfinite(mean.mean)]
    if not finite:
        raise UserError(f"{results_csv}: no model{' of ' + ', '.join(among) if among else ''} has a finite "
                        f"{ID_SPLIT} error (every one diverged or was not scored); nothing to choose from")
    return min(finite, key=lambda m: means[m].mean)


def conditioned_on_viscosity(bench) -> list[str]:
    """The benchmark's models that can be asked for a viscosity: those conditioned on it."""
    return [m.name for m in bench.config.models if "viscosity" in m.conditioning]
