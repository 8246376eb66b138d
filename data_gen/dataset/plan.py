"""The samples of a dataset, their physical parameters, and how they are cut into shards.

Sample ``i`` of a split depends only on ``(split seed, i)``: its initial noise (see
:mod:`data_gen.randomness`) and every per-sample parameter, drawn here from a stream of its own.
So a shard's content is fixed by the config alone, whichever process or batch computes it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..randomness import sample_seed
from .config import DatasetConfig
from .distributions import Constant, Uniform
from .splits import SplitConfig


@dataclass(frozen=True)
class Shard:
    split: str
    index: int  # within its split
    order: int  # position among all shards of the dataset; `--shard I/N` takes order ≡ I (mod N)
    start: int  # first sample index (within the split)
    stop: int

    @property
    def name(self) -> str:
        """The shard's path relative to the dataset root."""
        return f"{self.split}/shard-{self.index:05d}.nc"

    @property
    def sample_indices(self) -> range:
        return range(self.start, self.stop)

    @property
    def num_samples(self) -> int:
        return self.stop - self.start


def dataset_shards(config: DatasetConfig) -> list[Shard]:
    shards = []
    for split in config.splits:
        for index, start in enumerate(range(0, split.samples, config.samples_per_shard)):
            stop = min(start + config.samples_per_shard, split.samples)
            shards.append(Shard(split.name, index, len(shards), start, stop))
    return shards


def _parameter_rng(split_seed: int, index: int, parameter: str) -> np.random.Generator:
    # crc32, not hash(): Python salts str hashes per process.
    return np.random.default_rng([int(split_seed), int(index), zlib.crc32(parameter.encode())])


def _draw(law: Constant | Uniform, split_seed: int, indices, parameter: str) -> np.ndarray:
    if isinstance(law, Constant):
        return np.full(len(indices), law.value, dtype=np.float64)
    return np.array([law.draw(_parameter_rng(split_seed, i, parameter)) for i in indices], dtype=np.float64)


def sample_viscosities(split: SplitConfig, indices) -> np.ndarray:
    """Listed viscosities come in blocks (all samples of the first, then the next), so a batch
    usually shares one viscosity and its adaptive steps stay in step."""
    if isinstance(split.viscosity, Uniform):
        return _draw(split.viscosity, split.seed, indices, "viscosity")
    return np.array([split.viscosity[i // split.samples_per_viscosity] for i in indices], dtype=np.float64)


def sample_parameters(config: DatasetConfig, split: SplitConfig, indices) -> dict[str, np.ndarray]:
    """Every per-sample physical parameter (``viscosity`` first) for samples ``indices`` of ``split``."""
    parameters = {"viscosity": sample_viscosities(split, indices)}
    for name, (_, law) in config.sampled.items():
        parameters[name] = _draw(law, split.seed, indices, name)
    return parameters


def sample_seeds(split: SplitConfig, indices) -> np.ndarray:
    """The 63-bit seed of each sample's noise stream: what makes samples of different splits distinct."""
    return np.array([sample_seed(split.seed, i) for i in indices], dtype=np.int64)
