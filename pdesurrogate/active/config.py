"""The active-learning config (``configs/active/*.yaml``), checked whole before any simulation.

```yaml
data: configs/data/ns_ood_small.yaml    # physics, resolution, time; its train split's law draws the
                                        # initial set, and it holds the validation and target splits
model: configs/fit/ns_fno_cond_small.yaml
ensemble: 3             # members per ensemble (training seeds), >= 2
seeds: 3                # repetitions of the active and the random loop (they share the seeds)
initial: 8              # trajectories in the initial training set
rounds: 3               # acquisition rounds after the initial training
budget_per_round: 4     # simulation cost per round, in trajectories of the pool's median cost
candidates:
  viscosity: {log_uniform: [3.0e-5, 1.0e-3]}   # the pool: `pool` viscosities log-spaced over it
  pool: 16
  probes: 1             # initial conditions per candidate on which the ensemble's disagreement is measured
diversity: 0.1          # length scale of the batch's repulsion, in decades of ν
target: test_ood        # the split whose error active learning should bring down
val_split: val          # checkpoints are selected on it, and only on it
calibration_splits: [test_id, test_ood]   # scored by every round's ensemble (calibration in and out)
training: {epochs: 20, minutes: 0.5}      # per member and round; training starts afresh every round
score_from: null        # default: the model's history
horizon: 8
fit_overrides: []
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from data_gen.dataset import load_config, parse_config
from data_gen.errors import ParameterError
from data_gen.paths import load_yaml, readable_file

from ..config_checks import number, parse_budget, positive_int, read_config, refuse_unknown_keys, resolve_path
from ..errors import UserError
from ..training.spec import ModelSpec, read_model_spec

KEYS = ("data", "model", "ensemble", "seeds", "initial", "rounds", "budget_per_round", "candidates", "diversity",
        "target", "val_split", "calibration_splits", "training", "score_from", "horizon", "fit_overrides")
CANDIDATE_KEYS = ("viscosity", "pool", "probes")
MAX_POOL = 100_000


@dataclass(frozen=True)
class ActiveConfig:
    source: Path
    text: str
    data_config: Path
    data_raw: dict  # the data config as parsed YAML: per-round configs are built from it
    model: ModelSpec
    ensemble: int
    seeds: tuple[int, ...]
    initial: int
    rounds: int
    budget_per_round: float
    candidate_range: tuple[float, float]
    pool: int
    probes: int
    diversity: float
    target: str
    val_split: str
    calibration_splits: tuple[str, ...]
    epochs: int
    minutes: float | None
    score_from: int
    horizon: int
    fit_overrides: tuple[str, ...]
    saved_variables: tuple[str, ...]  # the data config's variables, in the order simulations save them

    @property
    def candidates(self) -> np.ndarray:
        """The pool: ``pool`` viscosities log-spaced over the candidate range, smallest first."""
        return np.geomspace(*self.candidate_range, self.pool)

    @property
    def scored_splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.target, *self.calibration_splits)))

    def base_data(self) -> str:
        """The YAML of the dataset every loop starts from: the data config with its train split cut to
        ``initial`` trajectories, and only the validation and scored splits beside it."""
        raw = dict(self.data_raw)
        splits = raw["splits"]
        keep = ("train", self.val_split, *self.scored_splits)
        raw["splits"] = {name: dict(splits[name]) for name in dict.fromkeys(keep)}
        raw["splits"]["train"]["samples"] = self.initial
        header = (f"# Written by `pdesurrogate active` from {self.data_config}: the initial training set "
                  f"({self.initial} trajectories) and the validation and scored splits.\n")
        return header + yaml.safe_dump(raw, sort_keys=False)

    def round_data(self, viscosities, seed: int, note: str, per_viscosity: int = 1) -> str:
        """The YAML of one round's simulations: a train split of the chosen viscosities, ``per_viscosity``
        trajectories each, initial conditions drawn from ``seed``; everything else as the data config."""
        raw = dict(self.data_raw)
        raw["splits"] = {"train": {"viscosity": [float(v) for v in viscosities],
                                   "samples_per_viscosity": per_viscosity, "seed": int(seed)}}
        raw["samples_per_shard"] = max(1, len(viscosities) * per_viscosity)
        return f"# {note}\n" + yaml.safe_dump(raw, sort_keys=False)


def _number(value, key: str, minimum: float, inclusive: bool = True) -> float:
    return number(value, key, minimum=minimum, exclusive=not inclusive)


def _split_names(value, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise UserError(f"{key}: must be a list of split names (got {value!r})")
    return tuple(value)


def parse_active(path: str | Path) -> ActiveConfig:
    """Read and check an active-learning config; every mistake is one :class:`UserError` naming its key."""
    source = Path(path)
    text, raw = read_config(source, KEYS, "configs/active/ns_ood_small.yaml")
    for key in ("data", "model", "target", "candidates", "horizon"):
        if raw.get(key) is None:
            raise UserError(f"{key}: is required")

    data_config = readable_file(resolve_path(raw["data"], "data", source), "data", "configs/data/ns_ood_small.yaml")
    try:
        dataset = load_config(data_config)
    except ParameterError as error:
        raise UserError(f"data: {data_config}: {error}") from None
    data_raw = load_yaml(dataset.text)
    model = read_model_spec(resolve_path(raw["model"], "model", source), "model")
    missing = [v for v in model.variables if v not in dataset.variables]
    if missing:
        raise UserError(f"model: variables {missing} are not saved by {data_config} (saved: {', '.join(dataset.variables)})")

    ensemble = raw.get("ensemble", 3)
    if not (isinstance(ensemble, int) and not isinstance(ensemble, bool) and ensemble >= 2):
        raise UserError(f"ensemble: must be an integer >= 2 (got {ensemble!r}): one member has no spread, so "
                        "neither uncertainty nor disagreement")
    seeds = raw.get("seeds", 3)
    seeds = tuple(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1 else seeds
    if (not isinstance(seeds, (list, tuple)) or not seeds or len(set(seeds)) != len(seeds)
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise UserError(f"seeds: must be a count >= 1 or a list of distinct integers >= 0 (got {raw.get('seeds')!r}); "
                        "use 3 or more for a band over seeds")
    initial = positive_int(raw.get("initial", 8), "initial")
    rounds = positive_int(raw.get("rounds", 3), "rounds")
    budget = raw.get("budget_per_round")
    if budget is None:
        raise UserError("budget_per_round: is required (simulation cost per round, in trajectories of the pool's "
                        "median cost)")
    budget = _number(budget, "budget_per_round", 0.0, inclusive=False)
    if budget < 1:
        raise UserError(f"budget_per_round: {budget:g} is smaller than one batch: a round must afford at least one "
                        "trajectory of the pool's median cost (use budget_per_round >= 1)")

    candidates = raw["candidates"]
    if not isinstance(candidates, dict):
        raise UserError(f"candidates: must be a mapping of {', '.join(CANDIDATE_KEYS)} (got {candidates!r})")
    refuse_unknown_keys(candidates, CANDIDATE_KEYS, "candidates.")
    law = candidates.get("viscosity")
    if not (isinstance(law, dict) and set(law) == {"log_uniform"} and isinstance(law["log_uniform"], list)
            and len(law["log_uniform"]) == 2):
        raise UserError(f"candidates.viscosity: must be {{log_uniform: [low, high]}} (got {law!r})")
    low = _number(law["log_uniform"][0], "candidates.viscosity.log_uniform[0]", 0.0, inclusive=False)
    high = _number(law["log_uniform"][1], "candidates.viscosity.log_uniform[1]", 0.0, inclusive=False)
    if not low < high:
        raise UserError(f"candidates.viscosity.log_uniform: needs low < high (got [{low:g}, {high:g}])")
    pool = candidates.get("pool", 16)
    if not (isinstance(pool, int) and not isinstance(pool, bool) and 2 <= pool <= MAX_POOL):
        # Bounded like generate bounds a dataset: every candidate is probed by the solver.
        raise UserError(f"candidates.pool: must be an integer in [2, {MAX_POOL}] (got {pool!r})")
    if pool <= budget:
        raise UserError(f"candidates.pool: {pool} candidates cannot be spread over a round of budget_per_round "
                        f"{budget:g} trajectories (a round picks each candidate at most once): use pool > {budget:g}")
    probes = positive_int(candidates.get("probes", 1), "candidates.probes")
    diversity = _number(raw.get("diversity", 0.1), "diversity", 0.0, inclusive=False)

    splits = {s.name: s for s in dataset.splits}
    val_split = raw.get("val_split", "val")
    calibration = _split_names(raw.get("calibration_splits", []), "calibration_splits")
    for key, names in (("target", (raw["target"],)), ("val_split", (val_split,)), ("calibration_splits", calibration)):
        absent = [n for n in names if n not in splits]
        if absent:
            raise UserError(f"{key}: split {absent[0]!r} is not in {data_config} (available: {', '.join(splits)})")
    if val_split == raw["target"] or val_split in calibration or raw["target"] == "train" or "train" in calibration:
        raise UserError(f"target: score a test split, neither the train split nor {val_split!r}, on which checkpoints "
                        "are selected")
    if isinstance(splits["train"].viscosity, (tuple, list)):  # a list of viscosities, not a range
        raise UserError(f"data: the train split of {data_config} must draw viscosity from a range (the initial "
                        "set is drawn from it)")

    epochs, minutes = parse_budget(raw.get("training", {"epochs": 20}), "training")
    score_from = raw.get("score_from")
    score_from = model.history if score_from is None else score_from
    if not (isinstance(score_from, int) and not isinstance(score_from, bool) and score_from >= model.history):
        raise UserError(f"score_from: must be an integer frame index >= the model's history {model.history} "
                        f"(got {score_from!r})")
    horizon = positive_int(raw["horizon"], "horizon")
    frames = dataset.time.num_intervals + 1
    if score_from + horizon > frames:
        raise UserError(f"horizon: score_from {score_from} + horizon {horizon} needs {score_from + horizon} frames; "
                        f"{data_config} saves {frames} (largest horizon: {frames - score_from})")
    overrides = raw.get("fit_overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise UserError(f"fit_overrides: must be a list of command-line arguments (got {overrides!r})")

    config = ActiveConfig(source, text, data_config, data_raw, model, ensemble, tuple(seeds), initial, rounds, budget,
                          (low, high), pool, probes, diversity, raw["target"], val_split, calibration, epochs, minutes,
                          score_from, horizon, tuple(overrides), tuple(dataset.variables))
    _dry_run(config)
    return config


def _dry_run(config: ActiveConfig) -> None:
    """The solver's own checks at the candidate extremes and the per-round and base configs, before
    anything is simulated (a viscosity the equation refuses fails here, naming the key)."""
    try:
        parse_config(config.base_data(), "the initial dataset")
        parse_config(config.round_data(config.candidates[[0, -1]], 1, "dry run"), "candidates")
    except ParameterError as error:
        message = str(error)
        if message.startswith("splits.train"):
            message = "candidates.viscosity: " + message.partition(": ")[2]
        raise UserError(message) from None
