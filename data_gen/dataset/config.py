"""The dataset config (``configs/data/*.yaml``): parsed and validated completely before any simulation.

Every mistake fails with one :class:`ConfigError` line that starts with the key path
(``splits.test_ood.viscosity: must be > 0 (got -0.0001)``); an unknown key names the nearest valid
one. The parts live by idea: the key-path checks in :mod:`.schema`, per-sample laws in
:mod:`.distributions`, the ``time`` and ``splits`` sections in :mod:`.timing` and :mod:`.splits`,
the equation-specific sections (declared with each equation's builder in :mod:`.builders`) in
:mod:`.sections`, the hash of what the data depends on in :mod:`.fingerprint`, and the solver
dry run that runs last in :mod:`.dry_run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from ..grid import PeriodicGrid
from ..paths import load_yaml, readable_file
from .builders import BUILDERS, EquationBuilder, SampledParameter
from .distributions import Constant, Uniform
from .dry_run import check_buildable
from .fingerprint import canonical_json, data_settings, fingerprint
from .schema import ConfigError, choice, fail, mapping, number, resolution, type_name
from .sections import parse_builder, parse_section
from .splits import SplitConfig, parse_splits
from .timing import TimeConfig, parse_time

COMMON_KEYS = (
    "equation", "solver", "scheme", "domain_length", "sim_resolution", "saved_resolution", "dtype",
    "time", "variables", "batch_size", "samples_per_shard", "splits", "title",
)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class DatasetConfig:
    text: str  # the YAML as written, stored verbatim in manifest.json
    resolved: dict  # every setting with defaults filled in: what the data depends on
    builder: EquationBuilder
    scheme: str
    domain_length: float
    sim_resolution: int
    saved_resolution: int
    dtype: torch.dtype
    time: TimeConfig
    sections: dict[str, dict]  # section -> {"kind": ..., settings...} for the builder
    sampled: dict[str, tuple[SampledParameter, Constant | Uniform]]  # name -> parameter, law
    variables: tuple[str, ...]
    batch_size: int
    samples_per_shard: int
    splits: tuple[SplitConfig, ...]
    title: str

    @property
    def equation(self) -> str:
        return self.builder.equation_name

    @property
    def solver(self) -> str:
        return self.builder.solver

    @property
    def fingerprint(self) -> str:
        """sha256 of everything the saved data depends on (not of comments or batch size)."""
        return fingerprint(self.resolved)

    def grid(self, device: torch.device | str = "cpu") -> PeriodicGrid:
        return PeriodicGrid(self.sim_resolution, self.domain_length, self.dtype, device)

    def split(self, name: str) -> SplitConfig:
        return next(s for s in self.splits if s.name == name)


def parse_config(text: str, source: str = "config") -> DatasetConfig:
    """Validate the YAML ``text`` completely, the solver dry run included (what ``generate`` needs
    before it starts); raises :class:`ConfigError` naming the first bad key."""
    config = parse_settings(text, source)
    check_buildable(config)
    return config


def parse_settings(text: str, source: str = "config") -> DatasetConfig:
    """The settings of the YAML ``text``, every key checked, without the solver dry run and this
    machine's memory check: for reading the config of a dataset that exists (its manifest)."""
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a YAML mapping of settings (got {type_name(raw)})")
    all_sections = sorted({s for b in BUILDERS.values() for s in b.sections})
    mapping(raw, "", list(COMMON_KEYS) + all_sections, required=("equation", "sim_resolution", "time", "splits"))
    builder = parse_builder(raw)
    for key in raw:
        if key in all_sections and key not in builder.sections:
            fail(key, f"is not used by equation {builder.equation_name}")

    scheme = choice(raw.get("scheme", builder.schemes[0]), "scheme", builder.schemes)
    domain_length = number(raw.get("domain_length", 1.0), "domain_length", minimum=0.0, exclusive=True)
    sim_resolution = resolution(raw["sim_resolution"], "sim_resolution")
    saved_resolution = resolution(raw.get("saved_resolution", sim_resolution), "saved_resolution")
    if saved_resolution > sim_resolution:
        fail("saved_resolution", f"must be <= sim_resolution = {sim_resolution} (saved fields are a spectral "
                                 f"truncation of the simulated ones) (got {saved_resolution})")
    dtype_name = choice(raw.get("dtype", "float64"), "dtype", DTYPES)
    time = parse_time(raw["time"])

    sections, sampled, resolved_sections = {}, {}, {}
    for name, section in builder.sections.items():
        sections[name], section_sampled, resolved_sections[name] = parse_section(raw.get(name), name, section)
        sampled.update(section_sampled)

    variables = raw.get("variables", list(builder.default_variables))
    if not isinstance(variables, list) or not variables:
        fail("variables", f"must be a non-empty list drawn from {', '.join(builder.variables)} (got {variables!r})")
    for i, name in enumerate(variables):
        choice(name, f"variables[{i}]", builder.variables)
    if len(set(variables)) != len(variables):
        fail("variables", f"lists a variable twice ({variables})")
    batch_size = number(raw.get("batch_size", 16), "batch_size", integer=True, minimum=1)
    samples_per_shard = number(raw.get("samples_per_shard", 64), "samples_per_shard", integer=True, minimum=1)
    splits = parse_splits(raw["splits"])
    title = raw.get("title", f"{builder.equation_name.replace('_', '-')} dataset ({builder.solver} solver)")
    if not isinstance(title, str):
        fail("title", f"must be a string (got {type_name(title)})")

    resolved = {
        "equation": builder.equation_name, "solver": builder.solver, "scheme": scheme,
        "domain_length": domain_length, "sim_resolution": sim_resolution, "saved_resolution": saved_resolution,
        "dtype": dtype_name,
        "time": time.to_config(),
        **resolved_sections,
        "variables": list(variables), "batch_size": batch_size, "samples_per_shard": samples_per_shard,
        "splits": {s.name: s.to_config() for s in splits},
        "title": title,
    }
    config = DatasetConfig(
        text=text, resolved=resolved, builder=builder, scheme=scheme, domain_length=domain_length,
        sim_resolution=sim_resolution, saved_resolution=saved_resolution, dtype=DTYPES[dtype_name], time=time,
        sections=sections, sampled=sampled, variables=tuple(variables), batch_size=batch_size,
        samples_per_shard=samples_per_shard, splits=splits, title=title,
    )
    return config


def load_config(path: str | Path) -> DatasetConfig:
    path = readable_file(path, "CONFIG", "configs/data/ns_ood_small.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"CONFIG: {path} is not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    return parse_config(text, source=str(path))


__all__ = [
    "ConfigError", "Constant", "DatasetConfig", "SplitConfig", "TimeConfig", "Uniform", "canonical_json",
    "data_settings", "load_config", "parse_config", "parse_settings",
]
