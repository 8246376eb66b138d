"""The benchmark config: which data, which models, how many seeds, what budget, what is scored.

Everything is checked here, before any simulation or training: a missing model config, a split the
dataset lacks, a horizon longer than the trajectories, a ``score_from`` below a model's history,
models whose variables differ — one line each, naming the key.

```yaml
data: configs/data/ns_ood_small.yaml   # generated into OUT/data (reused if there and verified)
# data_root: /path/to/dataset          # or an existing dataset directory instead
models: [configs/fit/ns_fno_small.yaml, configs/fit/ns_unet_small.yaml]
seeds: 3                               # training seeds 0, 1, 2 (or a list of seeds); at least 3
budget: {epochs: 10}                   # the same for every model; `minutes: M` also caps wall time
score_from: null                       # default: the largest history among the models
horizon: 8                             # scored saved frames
splits: [test_id, test_ood, test_ood_high, sweep]
val_split: val                         # checkpoints are selected on it, and only on it
fit_overrides: []                      # extra Lightning CLI arguments for every fit
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_gen.dataset import load_config
from data_gen.paths import readable_file

from ..config_checks import data_source, parse_budget, positive_int, read_config, resolve_path
from ..errors import UserError
from ..training.cli import check_config_file
from ..training.spec import ModelSpec, read_model_spec

KEYS = ("data", "data_root", "models", "seeds", "budget", "score_from", "horizon", "splits", "val_split",
        "fit_overrides", "id_split")
MINIMUM_SEEDS = 3


@dataclass(frozen=True)
class BenchmarkConfig:
    source: Path
    data_config: Path | None
    data_root: Path | None
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...]
    epochs: int
    minutes: float | None
    score_from: int
    horizon: int
    splits: tuple[str, ...]
    val_split: str
    id_split: str
    fit_overrides: tuple[str, ...]
    text: str

    @property
    def variables(self) -> tuple[str, ...]:
        return self.models[0].variables

    def runs(self) -> list[tuple[ModelSpec, int]]:
        """Every model × seed pair, in a fixed order (``--shard I/N`` takes positions ≡ I mod N)."""
        return [(model, seed) for model in self.models for seed in self.seeds]


def parse_benchmark(path: str | Path) -> BenchmarkConfig:
    """Read and check a benchmark config; every mistake is one :class:`UserError` naming its key."""
    source = Path(path)
    text, raw = read_config(source, KEYS, "configs/bench/ns_ood_small.yaml")
    data_config, data_root = data_source(raw, source)

    models = raw.get("models")
    if not isinstance(models, list) or not models:
        raise UserError("models: must be a non-empty list of model configs (configs/fit/*.yaml)")
    specs = tuple(read_model_spec(resolve_path(m, f"models[{i}]", source), f"models[{i}]") for i, m in enumerate(models))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UserError(f"models: two model configs share a file name ({', '.join(names)}); tables name models by it")
    for spec in specs[1:]:
        if spec.variables != specs[0].variables:
            raise UserError(f"models: {spec.name} predicts {list(spec.variables)} but {specs[0].name} predicts "
                            f"{list(specs[0].variables)}; a benchmark compares models of the same variables")

    seeds = raw.get("seeds", MINIMUM_SEEDS)
    seeds = tuple(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
    if (not isinstance(seeds, (list, tuple)) or len(seeds) < MINIMUM_SEEDS or len(set(seeds)) != len(seeds)
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise UserError(f"seeds: must be a count >= {MINIMUM_SEEDS} or a list of >= {MINIMUM_SEEDS} distinct "
                        f"integers >= 0: confidence intervals need several seeds (got {raw.get('seeds')!r})")

    epochs, minutes = parse_budget(raw.get("budget"), "budget")

    largest_history = max(s.history for s in specs)
    score_from = raw.get("score_from")
    score_from = largest_history if score_from is None else score_from
    if not (isinstance(score_from, int) and not isinstance(score_from, bool) and score_from >= 0):
        raise UserError(f"score_from: must be an integer frame index (got {score_from!r})")
    for spec in specs:
        if score_from < spec.history:
            raise UserError(f"score_from: {score_from} is below the history {spec.history} of {spec.name}; it needs "
                            f"that many true frames before the first scored one (use score_from >= {largest_history})")
    horizon = positive_int(raw.get("horizon"), "horizon")

    splits = raw.get("splits")
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
        raise UserError(f"splits: must be a non-empty list of split names (got {splits!r})")
    val_split = raw.get("val_split", "val")
    if val_split in splits:
        raise UserError(f"splits: {val_split!r} is the validation split, on which checkpoints are selected; "
                        "score test splits only")
    id_split = raw.get("id_split", "test_id")
    overrides = raw.get("fit_overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise UserError(f"fit_overrides: must be a list of command-line arguments (got {overrides!r})")
    config = BenchmarkConfig(source, data_config, data_root, specs, tuple(seeds), epochs, minutes, score_from,
                             horizon, tuple(splits), val_split, id_split, tuple(overrides), text)
    if data_config is not None:
        _check_against_data_config(config)
    return config


def _check_against_data_config(config: BenchmarkConfig) -> None:
    """What the dataset will hold, known from its config before it is generated."""
    data = load_config(readable_file(config.data_config, "data", "configs/data/ns_ood_small.yaml"))
    check_splits(config, {s.name for s in data.splits}, data.time.num_intervals + 1, set(data.variables),
                 str(config.data_config))


def check_splits(config: BenchmarkConfig, splits: set[str], frames: int, variables: set[str], where: str) -> None:
    """Refuse splits, frames or variables the dataset does not have."""
    for key, names in (("splits", config.splits), ("val_split", (config.val_split,))):
        missing = [s for s in names if s not in splits]
        if missing:
            raise UserError(f"{key}: {missing} not in {where} (available: {', '.join(sorted(splits))})")
    missing = [v for v in config.variables if v not in variables]
    if missing:
        raise UserError(f"models: variables {missing} are not saved in {where} (saved: {', '.join(sorted(variables))})")
    if config.score_from + config.horizon > frames:
        raise UserError(f"horizon: score_from {config.score_from} + horizon {config.horizon} needs "
                        f"{config.score_from + config.horizon} frames; {where} has {frames} per trajectory "
                        f"(largest horizon: {max(frames - config.score_from, 0)})")
