"""The active-learning config (``configs/active/*.yaml``), checked whole before any simulation.

```yaml
data: configs/data/ns_ood_small.yaml    # physics, resolution, time; its train split's law draws the
                                        # initial set, and it holds the validation and target splits
model: configs/fit/ns_fno_cond_small.yaml
ensemble: 3             # members per ensemble (training seeds), >= 2
seeds: 5                # paired repetitions of every strategy (they share initial set, pool and member seeds)
initial: 8              # trajectories in the initial training set
rounds: 4               # acquisition rounds after the initial training
budget_per_round: 4     # simulation cost of round 1, in trajectories of the pool's median cost
schedule: constant      # or doubling: round r spends budget_per_round · 2^(r−1)
candidates:
  viscosity: {log_uniform: [5.0e-5, 2.0e-3]}   # each candidate: a (ν, initial condition) pair drawn
  pool: 400                                     # from this law; pool >= the total budget
cost: measured          # or {power_law: b} (cost ∝ ν^b) or {per_candidate: [c_0, …]}: fixed, so reruns agree
acquisition:            # the active strategy
  rule: power           # power (p ∝ weight^β), top_k, or greedy_diverse (disagreement per cost, repulsion)
  beta: 1.0
  target_aware: true    # weight by the target split's viscosity density (smoothed by `bandwidth` decades)
  bandwidth: 0.1
  per_unit_cost: false  # divide the score by the candidate's cost
  diversity: 0.1        # greedy_diverse only: repulsion length in decades of ν
ablations:              # further strategies: each changes some keys of `acquisition`
  top_k: {rule: top_k}
baselines: [random_pool, random_target]   # uniform over the pool; drawn from the target split's ν law
target: test_ood        # the split whose error active learning should bring down
val_split: val          # checkpoints are selected on it, and only on it
calibration_splits: [test_id, test_ood]   # scored by every round's ensemble (calibration in and out)
calibration: {split: val, viscosity_bins: 1}   # post-hoc calibration is fitted on this split
training: {epochs: 20}                   # per member and round, afresh every round; max_minutes: a safety cap
score_from: null        # default: the model's history
horizon: 8
fit_overrides: []
```
"""

from __future__ import annotations

import math
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

KEYS = ("data", "model", "ensemble", "seeds", "initial", "rounds", "budget_per_round", "schedule", "candidates",
        "cost", "acquisition", "ablations", "baselines", "target", "val_split", "calibration_splits", "calibration",
        "training", "score_from", "horizon", "fit_overrides")
CANDIDATE_KEYS = ("viscosity", "pool")
ACQUISITION_KEYS = ("rule", "beta", "target_aware", "bandwidth", "per_unit_cost", "diversity")
RULES = ("power", "top_k", "greedy_diverse")
BASELINES = ("random_pool", "random_target")
POOL_MEMORY_LIMIT = 4 * 2 ** 30  # bytes of pool trajectories held in memory while scoring


@dataclass(frozen=True)
class Acquisition:
    """How a strategy turns scores into a batch (see :mod:`pdesurrogate.active.selection`)."""

    rule: str = "power"
    beta: float = 1.0
    target_aware: bool = True
    bandwidth: float = 0.1
    per_unit_cost: bool = False
    diversity: float = 0.1

    def describe(self) -> str:
        rule = {"power": f"power sampling β = {self.beta:g}", "top_k": "top-k",
                "greedy_diverse": f"greedy with repulsion ℓ = {self.diversity:g} decades"}[self.rule]
        parts = [rule, f"target-aware (bandwidth {self.bandwidth:g} decades)" if self.target_aware else "untargeted"]
        if self.per_unit_cost or self.rule == "greedy_diverse":
            parts.append("per unit cost")
        return ", ".join(parts)


@dataclass(frozen=True)
class CostModel:
    """``measured`` (timed once per run), or fixed: ``power_law`` exponent, or ``per_candidate`` costs."""

    kind: str
    exponent: float | None = None
    per_candidate: tuple[float, ...] | None = None


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
    schedule: str
    candidate_range: tuple[float, float]
    pool: int
    cost: CostModel
    strategies: dict  # name -> Acquisition for the active strategy and its ablations, None for a baseline
    target: str
    val_split: str
    calibration_splits: tuple[str, ...]
    calibration_split: str
    viscosity_bins: int
    target_range: tuple[float, float] | None  # the target split's viscosity range (None: a list of values)
    epochs: int
    minutes: float | None
    score_from: int
    horizon: int
    fit_overrides: tuple[str, ...]
    saved_variables: tuple[str, ...]  # the data config's variables, in the order simulations save them

    def round_budget(self, round_: int) -> float:
        """The simulation cost round ``round_`` (1, 2, …) may spend."""
        return self.budget_per_round * (2 ** (round_ - 1) if self.schedule == "doubling" else 1)

    @property
    def total_budget(self) -> float:
        return sum(self.round_budget(r) for r in range(1, self.rounds + 1))

    @property
    def scored_splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.target, *self.calibration_splits)))

    @property
    def predicted_splits(self) -> tuple[str, ...]:
        """The scored splits and the calibration split (whose predictions calibration is fitted on)."""
        return tuple(dict.fromkeys((*self.scored_splits, self.calibration_split)))

    def pool_data(self, seed: int) -> str:
        """The YAML of the candidate pool: ``pool`` (ν, initial condition) pairs, ν drawn from the
        candidate law, one trajectory per shard (a round's dataset links the shards it chose)."""
        raw = dict(self.data_raw)
        raw["splits"] = {"train": {"viscosity": {"log_uniform": list(self.candidate_range)}, "samples": self.pool,
                                   "seed": int(seed)}}
        raw["samples_per_shard"] = 1
        return (f"# Written by `pdesurrogate active` from {self.source}: the candidate pool, {self.pool} (ν, initial "
                "condition) pairs; a candidate's trajectory counts as simulated only once chosen.\n"
                + yaml.safe_dump(raw, sort_keys=False))

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
    schedule = raw.get("schedule", "constant")
    if schedule not in ("constant", "doubling"):
        raise UserError(f"schedule: must be constant or doubling (got {schedule!r})")

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
    if not (isinstance(pool, int) and not isinstance(pool, bool) and pool >= 2):
        raise UserError(f"candidates.pool: must be an integer >= 2 (got {pool!r})")
    total = budget * (2 ** rounds - 1 if schedule == "doubling" else rounds)
    if pool < total:
        raise UserError(f"candidates.pool: {pool} candidates are fewer than the total budget of {total:g} "
                        f"trajectories ({rounds} rounds, {schedule} schedule): a loop would run out of candidates; "
                        f"use pool >= {math.ceil(total)} (10x or more lets the acquisition choose)")
    largest = budget * (2 ** (rounds - 1) if schedule == "doubling" else 1)
    if largest > pool / 10:
        raise UserError(f"candidates.pool: a batch of {largest:g} trajectories is larger than 10 % of the pool "
                        f"({pool}); batches that large leave the acquisition little to choose from: use pool >= "
                        f"{math.ceil(10 * largest)} or a smaller budget_per_round")
    frames = dataset.time.num_intervals + 1
    pool_bytes = pool * frames * len(dataset.variables) * dataset.saved_resolution ** 2 * 4
    if pool_bytes > POOL_MEMORY_LIMIT:
        raise UserError(f"candidates.pool: {pool} candidates of {frames} frames at {dataset.saved_resolution}² hold "
                        f"{pool_bytes / 2 ** 30:.3g} GiB, more than the {POOL_MEMORY_LIMIT / 2 ** 30:.0f} GiB the pool "
                        "may take in memory while it is scored; use a smaller pool")
    cost = _cost_model(raw.get("cost", "measured"), pool)

    strategies = _strategies(raw.get("acquisition", {}), raw.get("ablations", {}), raw.get("baselines", list(BASELINES)))

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
    law = splits[raw["target"]].viscosity
    target_range = (float(law.low), float(law.high)) if hasattr(law, "low") else None
    if "random_target" in strategies or any(a is not None and a.target_aware for a in strategies.values()):
        if target_range is None:
            raise UserError(f"target: split {raw['target']!r} must draw viscosity from a range for target-aware "
                            f"acquisition and the random_target baseline (got {law!r})")
    recalibration = raw.get("calibration", {})
    if not isinstance(recalibration, dict):
        raise UserError(f"calibration: must be a mapping of split, viscosity_bins (got {recalibration!r})")
    refuse_unknown_keys(recalibration, ("split", "viscosity_bins"), "calibration.")
    calibration_split = recalibration.get("split", val_split)
    if calibration_split not in splits:
        raise UserError(f"calibration.split: split {calibration_split!r} is not in {data_config} "
                        f"(available: {', '.join(splits)})")
    if calibration_split in (raw["target"], *calibration, "train"):
        raise UserError(f"calibration.split: {calibration_split!r} is also a test split (target or "
                        f"calibration_splits) or the train split; calibrate on a split that is never scored, such as "
                        f"{val_split!r}")
    bins = positive_int(recalibration.get("viscosity_bins", 1), "calibration.viscosity_bins")
    if bins > splits[calibration_split].samples:
        raise UserError(f"calibration.viscosity_bins: {bins} bins for {splits[calibration_split].samples} samples of "
                        f"{calibration_split!r}; each bin needs one sample at least")

    epochs, minutes = parse_budget(raw.get("training", {"epochs": 20}), "training")
    score_from = raw.get("score_from")
    score_from = model.history if score_from is None else score_from
    if not (isinstance(score_from, int) and not isinstance(score_from, bool) and score_from >= model.history):
        raise UserError(f"score_from: must be an integer frame index >= the model's history {model.history} "
                        f"(got {score_from!r})")
    horizon = positive_int(raw["horizon"], "horizon")
    if score_from + horizon > frames:
        raise UserError(f"horizon: score_from {score_from} + horizon {horizon} needs {score_from + horizon} frames; "
                        f"{data_config} saves {frames} (largest horizon: {frames - score_from})")
    overrides = raw.get("fit_overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise UserError(f"fit_overrides: must be a list of command-line arguments (got {overrides!r})")

    config = ActiveConfig(source, text, data_config, data_raw, model, ensemble, tuple(seeds), initial, rounds, budget,
                          schedule, (low, high), pool, cost, strategies, raw["target"], val_split, calibration,
                          calibration_split, bins, target_range, epochs, minutes, score_from, horizon, tuple(overrides),
                          tuple(dataset.variables))
    _dry_run(config)
    return config


def _cost_model(value, pool: int) -> CostModel:
    accepted = "measured, {power_law: exponent} or {per_candidate: [one cost per candidate]}"
    if value == "measured":
        return CostModel("measured")
    if not (isinstance(value, dict) and len(value) == 1 and set(value) <= {"power_law", "per_candidate"}):
        raise UserError(f"cost: must be {accepted} (got {value!r})")
    if "power_law" in value:
        return CostModel("power_law", exponent=_number(value["power_law"], "cost.power_law", -10.0))
    costs = value["per_candidate"]
    if not isinstance(costs, list):
        raise UserError(f"cost.per_candidate: must be a list of {pool} costs, one per candidate (got {costs!r})")
    if len(costs) != pool:
        gap = (f"candidates {len(costs)}-{pool - 1} have no cost" if len(costs) < pool
               else f"the last {len(costs) - pool} name no candidate")
        raise UserError(f"cost.per_candidate: lists {len(costs)} costs for candidates.pool = {pool} candidates ({gap}); "
                        "give exactly one cost per candidate, in the pool's sample order")
    return CostModel("per_candidate", per_candidate=tuple(_number(c, f"cost.per_candidate[{i}]", 0.0, inclusive=False)
                                                          for i, c in enumerate(costs)))


def _acquisition(raw, key: str, base: Acquisition) -> Acquisition:
    if not isinstance(raw, dict):
        raise UserError(f"{key}: must be a mapping of {', '.join(ACQUISITION_KEYS)} (got {raw!r})")
    refuse_unknown_keys(raw, ACQUISITION_KEYS, f"{key}.")
    values = dict(base.__dict__)
    if "rule" in raw:
        if raw["rule"] not in RULES:
            raise UserError(f"{key}.rule: must be one of {', '.join(RULES)} (got {raw['rule']!r})")
        values["rule"] = raw["rule"]
    if "beta" in raw:
        beta = raw["beta"]
        if not (isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta) and beta >= 0):
            raise UserError(f"{key}.beta: must be a number >= 0 (got {beta!r}); probability ∝ score^β with β < 0 "
                            "would prefer the candidates the ensemble is surest about")
        values["beta"] = float(beta)
    for flag in ("target_aware", "per_unit_cost"):
        if flag in raw:
            if not isinstance(raw[flag], bool):
                raise UserError(f"{key}.{flag}: must be true or false (got {raw[flag]!r})")
            values[flag] = raw[flag]
    for name in ("bandwidth", "diversity"):
        if name in raw:
            values[name] = _number(raw[name], f"{key}.{name}", 0.0, inclusive=name == "bandwidth")
    return Acquisition(**values)


def _strategies(acquisition, ablations, baselines) -> dict:
    active = _acquisition(acquisition, "acquisition", Acquisition())
    strategies = {"active": active}
    if not isinstance(ablations, dict):
        raise UserError(f"ablations: must be a mapping of name -> acquisition changes (got {ablations!r})")
    for name, changes in ablations.items():
        if not (isinstance(name, str) and name.replace("_", "").isalnum()) or name in ("active", "initial", *BASELINES):
            raise UserError(f"ablations: {name!r} must be a name of letters, digits and _, other than active, initial "
                            f"and the baselines")
        strategies[name] = _acquisition(changes, f"ablations.{name}", active)
    if not isinstance(baselines, list) or any(b not in BASELINES for b in baselines) or len(set(baselines)) != len(baselines):
        raise UserError(f"baselines: must be a list drawn from {', '.join(BASELINES)} (got {baselines!r})")
    strategies.update({b: None for b in baselines})
    return strategies


def _dry_run(config: ActiveConfig) -> None:
    """The solver's own checks at the candidate extremes and the per-round and base configs, before
    anything is simulated (a viscosity the equation refuses fails here, naming the key)."""
    try:
        parse_config(config.base_data(), "the initial dataset")
        parse_config(config.round_data(list(config.candidate_range), 1, "dry run"), "candidates")
        parse_config(config.pool_data(1), "candidates")
    except ParameterError as error:
        message = str(error)
        if message.startswith("splits.train"):
            message = "candidates.viscosity: " + message.partition(": ")[2]
        raise UserError(message) from None
