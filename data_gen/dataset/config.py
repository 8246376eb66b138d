"""The dataset config (``configs/data/*.yaml``): parsed and validated completely before any simulation.

Every mistake fails with one :class:`ConfigError` line that starts with the key path
(``splits.test_ood.viscosity: must be > 0 (got -0.0001)``); an unknown key names the nearest valid
one. After the checks that need only the text, the equation, forcing, initial condition and stepper
are built once on the simulation grid without stepping, so a value a solver refuses (a forcing
wavenumber the grid cannot resolve) also fails here rather than an hour into a run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from ..errors import ParameterError
from ..grid import PeriodicGrid
from ..paths import readable_file
from .builders import BUILDERS, VISCOSITY, EquationBuilder, SampledParameter, Section, Setting
from .memory import check_memory

COMMON_KEYS = (
    "equation", "solver", "scheme", "domain_length", "sim_resolution", "saved_resolution", "dtype",
    "time", "variables", "batch_size", "samples_per_shard", "splits", "title",
)
TIME_KEYS = ("t_end", "save_interval", "spinup", "cfl", "max_dt")
SPLIT_KEYS = ("viscosity", "samples_per_viscosity", "samples", "seed")
RANGE_LAWS = ("uniform", "log_uniform")
SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Settings that change how the data is computed but not the data (batching is bitwise neutral),
# so a run may be resumed with a different value.
NOT_FINGERPRINTED = ("batch_size",)


class ConfigError(ParameterError):
    """A dataset config value is missing, misspelt, of the wrong type or out of range."""


# --- distributions of per-sample values -------------------------------------------------------
@dataclass(frozen=True)
class Constant:
    value: float

    def draw(self, rng: np.random.Generator) -> float:
        return self.value

    def extremes(self) -> tuple[float, ...]:
        return (self.value,)

    def to_config(self):
        return self.value


@dataclass(frozen=True)
class Uniform:
    """Uniform in the value or (``log=True``) in its logarithm."""

    low: float
    high: float
    log: bool

    def draw(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def extremes(self) -> tuple[float, ...]:
        return (self.low, self.high)

    def to_config(self):
        return {"log_uniform" if self.log else "uniform": [self.low, self.high]}


@dataclass(frozen=True)
class TimeConfig:
    t_end: float
    save_interval: float
    spinup: float
    cfl: float
    max_dt: float | None

    @property
    def num_intervals(self) -> int:
        return int(round(self.t_end / self.save_interval))

    @property
    def times(self) -> np.ndarray:
        """Saved times ``k·save_interval``; ``t = 0`` is the first frame after spin-up."""
        return np.arange(self.num_intervals + 1, dtype=np.float64) * self.save_interval


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
        return hashlib.sha256(canonical_json(data_settings(self.resolved)).encode()).hexdigest()

    def grid(self, device: torch.device | str = "cpu") -> PeriodicGrid:
        return PeriodicGrid(self.sim_resolution, self.domain_length, self.dtype, device)

    def split(self, name: str) -> SplitConfig:
        return next(s for s in self.splits if s.name == name)


def data_settings(resolved: dict) -> dict:
    return {k: v for k, v in resolved.items() if k not in NOT_FINGERPRINTED}


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- small checks, each naming the key path ---------------------------------------------------
def _fail(path: str, message: str):
    raise ConfigError(f"{path}: {message}")


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _type_name(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def _suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"accepted: {', '.join(choices)}"


def _mapping(value, path: str, accepted: Iterable[str], required: Iterable[str] = ()) -> dict:
    accepted = list(accepted)
    if not isinstance(value, dict):
        _fail(path or "config", f"must be a mapping with keys {', '.join(accepted)} (got {_type_name(value)})")
    for key in value:
        if key not in accepted:
            _fail(_join(path, key), f"unknown key; {_suggest(key, accepted)}")
    for key in required:
        if value.get(key) is None:
            _fail(_join(path, key), "is required")
    return value


def _choice(value, path: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        hint = _suggest(value, choices) if isinstance(value, str) else f"accepted: {', '.join(choices)}"
        _fail(path, f"must be one of {', '.join(choices)} (got {value!r}); {hint}")
    return value


def _number(value, path: str, *, integer: bool = False, minimum: float | None = None, exclusive: bool = False,
            maximum: float | None = None) -> float | int:
    what = "an integer" if integer else "a number"
    if isinstance(value, str) and not integer:
        # YAML 1.1 reads `1e-3` (no dot) as a string; take it as the number the user meant.
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        _fail(path, f"must be {what} (got {value!r})")
    if not math.isfinite(value):
        _fail(path, f"must be a finite number (got {value!r})")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        _fail(path, f"must be {'>' if exclusive else '>='} {minimum:g} (got {value!r})")
    if maximum is not None and value > maximum:
        _fail(path, f"must be <= {maximum:g} (got {value!r})")
    return value if integer else float(value)


def _resolution(value, path: str) -> int:
    value = _number(value, path, integer=True, minimum=8)
    if value % 2:
        _fail(path, f"must be an even integer >= 8 (got {value})")
    return value


def _range(value: dict, path: str, minimum: float | None, exclusive: bool) -> Uniform:
    _mapping(value, path, RANGE_LAWS)
    if len(value) != 1:
        _fail(path, f"must hold exactly one of {', '.join(RANGE_LAWS)} (got {', '.join(value)})")
    (law, bounds), = value.items()
    law_path = _join(path, law)
    if not isinstance(bounds, list) or len(bounds) != 2:
        _fail(law_path, f"must be a list [low, high] (got {bounds!r})")
    if law == "log_uniform" and (minimum is None or minimum < 0):
        minimum = 0.0  # a logarithm needs positive bounds
    low = _number(bounds[0], f"{law_path}[0]", minimum=minimum, exclusive=exclusive or law == "log_uniform")
    high = _number(bounds[1], f"{law_path}[1]", minimum=minimum, exclusive=exclusive)
    if not low < high:
        _fail(law_path, f"needs low < high (got [{low!r}, {high!r}])")
    return Uniform(low, high, log=law == "log_uniform")


def _sampled(value, path: str, parameter: SampledParameter) -> Constant | Uniform:
    if isinstance(value, dict):
        return _range(value, path, parameter.minimum, parameter.exclusive)
    return Constant(_number(value, path, minimum=parameter.minimum, exclusive=parameter.exclusive))


def _setting(value, path: str, setting: Setting):
    if value is None:
        return setting.default
    if setting.type is str:
        return _choice(value, path, setting.choices)
    return _number(value, path, integer=setting.type is int, minimum=setting.minimum, exclusive=setting.exclusive)


# --- the sections -----------------------------------------------------------------------------
def _builder(raw: dict) -> EquationBuilder:
    equations = sorted({e for e, _ in BUILDERS})
    equation = _choice(raw.get("equation"), "equation", equations)
    solvers = [s for e, s in BUILDERS if e == equation]
    solver = _choice(raw.get("solver", solvers[0]), "solver", solvers)
    builder = BUILDERS[(equation, solver)]
    if not builder.available():
        _fail("solver", f"{solver} for {equation} needs the module {builder.equation_module}, "
                        "which this installation lacks")
    return builder


def _time(raw, path: str = "time") -> TimeConfig:
    raw = _mapping(raw, path, TIME_KEYS, required=("t_end", "save_interval"))
    t_end = _number(raw["t_end"], f"{path}.t_end", minimum=0.0, exclusive=True)
    save_interval = _number(raw["save_interval"], f"{path}.save_interval", minimum=0.0, exclusive=True,
                            maximum=t_end)
    ratio = t_end / save_interval
    if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
        _fail(f"{path}.save_interval", f"must divide t_end = {t_end:g} into whole intervals "
                                       f"(got {save_interval:g}, giving {ratio:.6g} intervals)")
    spinup = _number(raw.get("spinup", 0.0), f"{path}.spinup", minimum=0.0)
    cfl = _number(raw.get("cfl", 0.5), f"{path}.cfl", minimum=0.0, exclusive=True, maximum=1.0)
    max_dt = raw.get("max_dt")
    if max_dt is not None:
        max_dt = _number(max_dt, f"{path}.max_dt", minimum=0.0, exclusive=True)
    return TimeConfig(t_end, save_interval, spinup, cfl, max_dt)


def _section(raw, name: str, section: Section) -> tuple[dict, dict, dict]:
    """``(settings with kind, sampled name -> (parameter, law), resolved)`` of one section."""
    if raw is None:
        if section.default_kind is None:
            _fail(name, "is required")
        raw = {"kind": section.default_kind}
    kinds = section.kinds
    has_kind = "" not in kinds
    if has_kind:
        if not isinstance(raw, dict):
            _fail(name, f"must be a mapping with a 'kind' (one of {', '.join(kinds)}) (got {_type_name(raw)})")
        if raw.get("kind", section.default_kind) is None:
            _fail(f"{name}.kind", f"is required (one of {', '.join(kinds)})")
        kind_name = _choice(raw.get("kind", section.default_kind), f"{name}.kind", kinds)
    else:
        kind_name = ""
    kind = kinds[kind_name]
    accepted = (["kind"] if has_kind else []) + list(kind.settings) + list(kind.sampled)
    _mapping(raw, name, accepted)
    settings = {"kind": kind_name} if has_kind else {}
    for key, setting in kind.settings.items():
        settings[key] = _setting(raw.get(key), f"{name}.{key}", setting)
    sampled, resolved = {}, dict(settings)
    for key, parameter in kind.sampled.items():
        if key in raw:
            law = _sampled(raw[key], f"{name}.{key}", parameter)
        elif parameter.default is None:
            _fail(f"{name}.{key}", "is required")
        else:
            law = Constant(parameter.default)
        sampled[parameter.name] = (parameter, law)
        resolved[key] = law.to_config()
    return settings, sampled, resolved


def _splits(raw) -> tuple[SplitConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        _fail("splits", f"must be a non-empty mapping of split name to split (got {_type_name(raw)})")
    splits, seeds = [], {}
    for name, split in raw.items():
        path = f"splits.{name}"
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            _fail(path, "a split name must be letters, digits, '_' or '-' (it names a directory)")
        split = _mapping(split, path, SPLIT_KEYS, required=("viscosity", "seed"))
        seed = _number(split["seed"], f"{path}.seed", integer=True, minimum=0, maximum=2**63 - 1)
        if seed in seeds:
            _fail(f"{path}.seed", f"is {seed}, the same as splits.{seeds[seed]}.seed; splits need distinct "
                                  "seeds, or their samples coincide")
        seeds[seed] = name
        viscosity = split["viscosity"]
        if isinstance(viscosity, dict):
            law = _range(viscosity, f"{path}.viscosity", 0.0, exclusive=True)
            if "samples_per_viscosity" in split:
                _fail(f"{path}.samples_per_viscosity", "goes with a list of viscosities; a range takes 'samples'")
            if "samples" not in split:
                _fail(f"{path}.samples", "is required with a viscosity range")
            samples = _number(split["samples"], f"{path}.samples", integer=True, minimum=1)
            splits.append(SplitConfig(name, seed, law, samples))
            continue
        values = viscosity if isinstance(viscosity, list) else [viscosity]
        if not values:
            _fail(f"{path}.viscosity", "must list at least one viscosity")
        values = tuple(_number(v, f"{path}.viscosity" if len(values) == 1 else f"{path}.viscosity[{i}]",
                               minimum=0.0, exclusive=True) for i, v in enumerate(values))
        if len(set(values)) != len(values):
            _fail(f"{path}.viscosity", f"lists a viscosity twice ({list(values)})")
        if "samples" in split:
            _fail(f"{path}.samples", "goes with a viscosity range; a list takes 'samples_per_viscosity'")
        if "samples_per_viscosity" not in split:
            _fail(f"{path}.samples_per_viscosity", "is required with a list of viscosities")
        per = _number(split["samples_per_viscosity"], f"{path}.samples_per_viscosity", integer=True, minimum=1)
        splits.append(SplitConfig(name, seed, values, per * len(values), per))
    if "train" not in raw:
        _fail("splits.train", "is required (stats.json is computed from the train split)")
    return tuple(splits)


def _split_resolved(split: SplitConfig) -> dict:
    if isinstance(split.viscosity, Uniform):
        return {"viscosity": split.viscosity.to_config(), "samples": split.samples, "seed": split.seed}
    return {"viscosity": list(split.viscosity), "samples_per_viscosity": split.samples_per_viscosity,
            "seed": split.seed}


# --- entry points -----------------------------------------------------------------------------
def parse_config(text: str, source: str = "config") -> DatasetConfig:
    """Validate the YAML ``text`` completely; raises :class:`ConfigError` naming the first bad key."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a YAML mapping of settings (got {_type_name(raw)})")
    all_sections = sorted({s for b in BUILDERS.values() for s in b.sections})
    _mapping(raw, "", list(COMMON_KEYS) + all_sections, required=("equation", "sim_resolution", "time", "splits"))
    builder = _builder(raw)
    for key in raw:
        if key in all_sections and key not in builder.sections:
            _fail(key, f"is not used by equation {builder.equation_name}")

    scheme = _choice(raw.get("scheme", builder.schemes[0]), "scheme", builder.schemes)
    domain_length = _number(raw.get("domain_length", 1.0), "domain_length", minimum=0.0, exclusive=True)
    sim_resolution = _resolution(raw["sim_resolution"], "sim_resolution")
    saved_resolution = _resolution(raw.get("saved_resolution", sim_resolution), "saved_resolution")
    if saved_resolution > sim_resolution:
        _fail("saved_resolution", f"must be <= sim_resolution = {sim_resolution} (saved fields are a spectral "
                                  f"truncation of the simulated ones) (got {saved_resolution})")
    dtype_name = _choice(raw.get("dtype", "float64"), "dtype", DTYPES)
    time = _time(raw["time"])

    sections, sampled, resolved_sections = {}, {}, {}
    for name, section in builder.sections.items():
        sections[name], section_sampled, resolved_sections[name] = _section(raw.get(name), name, section)
        sampled.update(section_sampled)

    variables = raw.get("variables", list(builder.default_variables))
    if not isinstance(variables, list) or not variables:
        _fail("variables", f"must be a non-empty list drawn from {', '.join(builder.variables)} (got {variables!r})")
    for i, name in enumerate(variables):
        _choice(name, f"variables[{i}]", builder.variables)
    if len(set(variables)) != len(variables):
        _fail("variables", f"lists a variable twice ({variables})")
    batch_size = _number(raw.get("batch_size", 16), "batch_size", integer=True, minimum=1)
    samples_per_shard = _number(raw.get("samples_per_shard", 64), "samples_per_shard", integer=True, minimum=1)
    splits = _splits(raw["splits"])
    title = raw.get("title", f"{builder.equation_name.replace('_', '-')} dataset ({builder.solver} solver)")
    if not isinstance(title, str):
        _fail("title", f"must be a string (got {_type_name(title)})")

    resolved = {
        "equation": builder.equation_name, "solver": builder.solver, "scheme": scheme,
        "domain_length": domain_length, "sim_resolution": sim_resolution, "saved_resolution": saved_resolution,
        "dtype": dtype_name,
        "time": {"t_end": time.t_end, "save_interval": time.save_interval, "spinup": time.spinup,
                 "cfl": time.cfl, "max_dt": time.max_dt},
        **resolved_sections,
        "variables": list(variables), "batch_size": batch_size, "samples_per_shard": samples_per_shard,
        "splits": {s.name: _split_resolved(s) for s in splits},
        "title": title,
    }
    config = DatasetConfig(
        text=text, resolved=resolved, builder=builder, scheme=scheme, domain_length=domain_length,
        sim_resolution=sim_resolution, saved_resolution=saved_resolution, dtype=DTYPES[dtype_name], time=time,
        sections=sections, sampled=sampled, variables=tuple(variables), batch_size=batch_size,
        samples_per_shard=samples_per_shard, splits=splits, title=title,
    )
    _check_buildable(config)
    return config


def load_config(path: str | Path) -> DatasetConfig:
    path = readable_file(path, "CONFIG", "configs/data/ns_ood_small.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"CONFIG: {path} is not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    return parse_config(text, source=str(path))


def _check_buildable(config: DatasetConfig) -> None:
    """Build forcing, initial condition and equation once per split, at the extreme values, and
    the stepper once.

    The solvers check their own arguments; this runs those checks now. Cheap: nothing is stepped.
    """
    grid = config.grid()
    first_states = []  # (equation, initial fields) per split, for the stepper's first-step check
    try:
        for split in config.splits:
            extremes = [split.viscosity_extremes()] + [law.extremes() for _, law in config.sampled.values()]
            batch = max(len(e) for e in extremes)
            values = {VISCOSITY.name: split.viscosity_extremes()}
            values.update({name: law.extremes() for name, (_, law) in config.sampled.items()})
            try:
                check_memory(config, batch, grid.device, "check the config")
            except ParameterError as error:
                raise ConfigError(str(error)) from None
            parameters = {
                name: torch.tensor([v[i % len(v)] for i in range(batch)], dtype=grid.dtype)
                for name, v in values.items()
            }
            try:
                equation = config.builder.equation(grid, config.sections, parameters)
            except ParameterError as error:
                names_its_key = str(error).split(".")[0] in config.builder.sections
                raise ConfigError(str(error) if names_its_key else f"splits.{split.name}: {error}") from None
            fields = config.builder.initial_fields(grid, config.sections, split.seed, list(range(batch)), parameters)
            first_states.append((equation, fields))
    except ConfigError:
        raise
    except ParameterError as error:
        # Forcing and initial-condition checks already name their key (``forcing.wavenumber``).
        raise ConfigError(str(error)) from None
    _check_stepper(config, first_states)


# The stepper's argument names and the config keys they come from.
STEPPER_KEYS = {"cfl": "time.cfl", "interval": "time.save_interval", "max_dt": "time.max_dt", "scheme": "scheme"}


def _check_stepper(config: DatasetConfig, first_states) -> None:
    """The time-stepping settings are the same for every split (the CFL ceiling depends on the
    scheme and the equation, not on the parameter values), so they are blamed on the time key
    they concern rather than on a split. The first step is chosen (not taken) for each split's
    initial fields: a scheme without imaginary-axis stability is refused there if its step
    would be impractically small at the split's extreme viscosities."""
    timing = config.time
    try:
        for equation, fields in first_states:
            stepper = config.builder.stepper(equation, timing.save_interval, config.scheme, timing.cfl, timing.max_dt)
            stepper.check_first_step(fields)
    except ParameterError as error:
        name, _, rest = str(error).partition(" must ")
        if name in STEPPER_KEYS and rest:
            raise ConfigError(f"{STEPPER_KEYS[name]}: must {rest}") from None
        raise ConfigError(f"scheme: {error}") from None
