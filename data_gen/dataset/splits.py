"""The ``splits`` section of a dataset config: each split's seed, viscosities and sample count."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .distributions import Uniform
from .schema import fail, mapping, number, type_name, value_range

SPLIT_KEYS = ("viscosity", "samples_per_viscosity", "samples", "seed")
SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class SplitConfig:
    """A split: its viscosities (a list, each repeated ``samples_per_viscosity`` times, or a range)."""

    name: str
    seed: int
    viscosity: tuple[float, ...] | Uniform
    samples: int
    samples_per_viscosity: int | None = None

    def viscosity_extremes(self) -> tuple[float, ...]:
        if isinstance(self.viscosity, Uniform):
            return self.viscosity.extremes()
        return (min(self.viscosity), max(self.viscosity))

    def to_config(self) -> dict:
        if isinstance(self.viscosity, Uniform):
            return {"viscosity": self.viscosity.to_config(), "samples": self.samples, "seed": self.seed}
        return {"viscosity": list(self.viscosity), "samples_per_viscosity": self.samples_per_viscosity,
                "seed": self.seed}


def parse_splits(raw) -> tuple[SplitConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        fail("splits", f"must be a non-empty mapping of split name to split (got {type_name(raw)})")
    splits, seeds = [], {}
    for name, split in raw.items():
        path = f"splits.{name}"
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            fail(path, "a split name must be letters, digits, '_' or '-' (it names a directory)")
        split = mapping(split, path, SPLIT_KEYS, required=("viscosity", "seed"))
        seed = number(split["seed"], f"{path}.seed", integer=True, minimum=0, maximum=2**63 - 1)
        if seed in seeds:
            fail(f"{path}.seed", f"is {seed}, the same as splits.{seeds[seed]}.seed; splits need distinct "
                                 "seeds, or their samples coincide")
        seeds[seed] = name
        viscosity = split["viscosity"]
        if isinstance(viscosity, dict):
            law = value_range(viscosity, f"{path}.viscosity", 0.0, exclusive=True)
            if "samples_per_viscosity" in split:
                fail(f"{path}.samples_per_viscosity", "goes with a list of viscosities; a range takes 'samples'")
            if "samples" not in split:
                fail(f"{path}.samples", "is required with a viscosity range")
            samples = number(split["samples"], f"{path}.samples", integer=True, minimum=1)
            splits.append(SplitConfig(name, seed, law, samples))
            continue
        values = viscosity if isinstance(viscosity, list) else [viscosity]
        if not values:
            fail(f"{path}.viscosity", "must list at least one viscosity")
        values = tuple(number(v, f"{path}.viscosity" if len(values) == 1 else f"{path}.viscosity[{i}]",
                              minimum=0.0, exclusive=True) for i, v in enumerate(values))
        if len(set(values)) != len(values):
            fail(f"{path}.viscosity", f"lists a viscosity twice ({list(values)})")
        if "samples" in split:
            fail(f"{path}.samples", "goes with a viscosity range; a list takes 'samples_per_viscosity'")
        if "samples_per_viscosity" not in split:
            fail(f"{path}.samples_per_viscosity", "is required with a list of viscosities")
        per = number(split["samples_per_viscosity"], f"{path}.samples_per_viscosity", integer=True, minimum=1)
        splits.append(SplitConfig(name, seed, values, per * len(values), per))
    if "train" not in raw:
        fail("splits.train", "is required (stats.json is computed from the train split)")
    return tuple(splits)
