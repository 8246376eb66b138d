"""What a shard holds besides its samples: coordinates, variable metadata and CF global attributes."""

from __future__ import annotations

import numpy as np

from .config import DatasetConfig
from .splits import SplitConfig
from .provenance import package_version
from .plan import Shard
from .writer import ShardLayout


def _describe(section: dict) -> str:
    def value(v):
        if isinstance(v, dict):
            (law, (low, high)), = v.items()
            return f"{law}[{low:g}, {high:g}]"
        return f"{v:g}" if isinstance(v, float) else str(v)

    kind = section.get("kind", "")
    settings = ", ".join(f"{k}={value(v)}" for k, v in section.items() if k != "kind" and v is not None)
    return f"{kind} ({settings})" if kind and settings else kind or settings


def shard_layout(config: DatasetConfig, split: SplitConfig, shard: Shard, history: str = "") -> ShardLayout:
    """Coordinates, variables and attributes of a shard; ``history`` is its CF history line."""
    builder = config.builder
    # Every builder saves its fields at the points x_i = i·L/n (the dataset format), so x[0] = 0.
    saved_spacing = config.domain_length / config.saved_resolution
    coordinates = np.arange(config.saved_resolution, dtype=np.float64) * saved_spacing
    resolved = config.resolved
    attributes = {
        "Conventions": "CF-1.10",
        "title": config.title,
        "equation": config.equation,
        "solver": config.solver,
        "scheme": config.scheme,
        "domain_length": config.domain_length,
        "sim_resolution": config.sim_resolution,
        "saved_resolution": config.saved_resolution,
        "forcing": _describe(resolved.get("forcing", {"kind": "none"})),
        "initial_condition": _describe(resolved.get("initial_condition", {})),
        "split": split.name,
        "source": f"pdesurrogate {package_version()}",
        "history": f"{history}; saved fields are spectral truncations of the simulated ones".lstrip("; "),
        "simulation_dtype": resolved["dtype"],
        "spinup": config.time.spinup,
        "cfl": config.time.cfl,
        "split_seed": split.seed,
        "shard_index": shard.index,
        "config_fingerprint": config.fingerprint,
    }
    # Sections beyond forcing and initial condition (shallow water's physics) get an attribute too.
    for section in builder.sections:
        if section not in attributes:
            attributes[section] = _describe(resolved[section])
    parameters = {"viscosity": ("kinematic viscosity", "1")}
    parameters.update({name: (p.long_name, p.units) for name, (p, _) in config.sampled.items()})
    return ShardLayout(
        coordinates=coordinates,
        times=config.time.times,
        variables={name: builder.variables[name] for name in config.variables},
        parameters=parameters,
        length_units=builder.length_units,
        time_units=builder.time_units,
        attributes=attributes,
    )
