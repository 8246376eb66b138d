"""Which trajectories of which source files go into which split: decided, and checked, before any read.

Every source file is opened for its metadata only; the files must agree in grid, times and
variables; each file's viscosity is taken from the config, a parameter, or the dataset's known
rule (The Well's shear_flow: ν = 1/Re), else the import is refused naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_FRACTIONS, ImportConfig, SplitRule, matches
from .errors import SourceError
from .source import SourceFile
from .well import KNOWN_DATASETS, VISCOSITY_NAMES

RESERVED = ("sample", "seed", "time", "x", "y")
CANONICAL_SPLITS = ("train", "val", "test_id", "test_ood", "sweep")


@dataclass(frozen=True)
class Run:
    """Trajectories ``[start, stop)`` of source file ``source`` (an index into the source list)."""

    source: int
    start: int
    stop: int


@dataclass
class SplitPlan:
    name: str
    runs: list[Run]

    @property
    def samples(self) -> int:
        return sum(r.stop - r.start for r in self.runs)


@dataclass
class ImportPlan:
    sources: list[SourceFile]
    variables: dict[str, tuple[str, str]]
    parameters: list[str]  # per-sample variables besides viscosity and seed, in order
    viscosities: list[float]  # per source file
    viscosity_rule: str
    splits: list[SplitPlan]
    shape: tuple[int, int]  # saved (ny, nx)
    times: np.ndarray
    kept: list[int]  # trajectories kept per file (after trajectories_per_file)


def viscosity_of(source: SourceFile, config: ImportConfig) -> tuple[float, str]:
    given = config.viscosity_of(source.path)
    if given is not None:
        return given, "given in the import config"
    for name in VISCOSITY_NAMES:
        if name in source.parameters:
            return source.parameters[name], f"the files' parameter '{name}'"
    known = KNOWN_DATASETS.get(source.attributes.get("dataset_name"), {})
    if "viscosity" in known:
        parameter, rule = known["viscosity"]
        value = source.parameters.get(parameter)
        if value is not None and value > 0 and rule == "reciprocal":
            return 1.0 / value, known["viscosity_note"]
    hint = ""
    from .fno import viscosity_in_name  # the FNO file names carry it; say so, never take it silently

    guess = viscosity_in_name(source.path)
    if guess is not None:
        hint = f" (the file name suggests {guess:g})"
    raise SourceError(f"{source.name}: no viscosity can be derived from its parameters "
                      f"({', '.join(source.parameters) or 'none'}); give it as `viscosity:` in the import config"
                      f"{hint}")


def _agree(sources: list[SourceFile]) -> None:
    first = sources[0]
    for other in sources[1:]:
        for what, a, b in (("grid (y, x)", first.shape, other.shape),
                           ("fields", list(first.variables), list(other.variables)),
                           ("parameters", sorted(first.parameters), sorted(other.parameters)),
                           ("number of frames", len(first.times), len(other.times))):
            if a != b:
                raise SourceError(f"{other.name}: {what} {b} differ from {first.name}'s {a}; files of one import "
                                  "must share grid, frames, fields and parameter names")
        for what, a, b in (("times", first.times, other.times), ("x positions", first.x, other.x),
                           ("y positions", first.y, other.y)):
            if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
                raise SourceError(f"{other.name}: {what} differ from {first.name}'s")
        if (first.seeds is None) != (other.seeds is None):
            raise SourceError(f"{other.name}: records trajectory seeds and {first.name} does not (or the reverse)")


def _split_rules(sources: list[SourceFile], config: ImportConfig, kept: list[int]) -> list[SplitPlan]:
    if config.splits is not None:
        return [_apply(rule, sources, kept) for rule in config.splits]
    if all(s.split is not None for s in sources):  # a pdesurrogate export: the splits it recorded
        order: dict[str, list[Run]] = {}
        # The export numbers its files in sample order, so file names order each split's samples.
        for i in sorted(range(len(sources)), key=lambda i: sources[i].name):
            order.setdefault(sources[i].split, []).append(Run(i, 0, kept[i]))
        names = sorted(order, key=lambda n: (CANONICAL_SPLITS.index(n) if n in CANONICAL_SPLITS else
                                             len(CANONICAL_SPLITS), n))
        return [SplitPlan(name, order[name]) for name in names]
    plans = [SplitPlan(name, []) for name, _ in DEFAULT_FRACTIONS]
    for i, s in enumerate(sources):
        n = kept[i]
        if n < len(plans):
            raise SourceError(f"{s.name}: {n} trajectories cannot be split 80/10/10 into train/val/test_id; give "
                              "`splits:` in the import config")
        # val and test_id get 10 % each (at least one trajectory), train the rest.
        held = max(1, round(0.1 * n))
        bounds = [0, n - 2 * held, n - held, n]
        for j, plan in enumerate(plans):
            plan.runs.append(Run(i, bounds[j], bounds[j + 1]))
    return plans


def _apply(rule: SplitRule, sources: list[SourceFile], kept: list[int]) -> SplitPlan:
    runs = []
    for i, s in enumerate(sources):
        for parameter in rule.where:
            if parameter not in s.parameters:
                raise SourceError(f"import config splits.{rule.name}.where.{parameter}: {s.name} has no parameter "
                                  f"'{parameter}' (its simulation_parameters: {', '.join(s.parameters) or 'none'})")
        if not all(matches(s.parameters[p], accepted) for p, accepted in rule.where.items()):
            continue
        start, stop = rule.trajectories or (0, kept[i])
        if stop > kept[i]:
            raise SourceError(f"import config splits.{rule.name}.trajectories: [{start}, {stop}) exceeds the {kept[i]} "
                              f"trajectories kept of {s.name}")
        runs.append(Run(i, start, stop))
    if not runs:
        values = {p: sorted({s.parameters[p] for s in sources}) for p in rule.where}
        raise SourceError(f"import config splits.{rule.name}: matches no source file (the files have "
                          + "; ".join(f"{p} in {v}" for p, v in values.items()) + ")")
    return SplitPlan(rule.name, runs)


def plan_import(sources: list[SourceFile], config: ImportConfig) -> ImportPlan:
    if not sources:
        raise SourceError("SOURCE: give at least one source file")
    _agree(sources)
    first = sources[0]
    available = first.variables
    if config.variables is not None:
        missing = [v for v in config.variables if v not in available]
        if missing:
            raise SourceError(f"import config variables: {missing} not in {first.name} (its fields: "
                              f"{', '.join(available)})")
        variables = {v: available[v] for v in config.variables}
    else:
        variables = dict(available)
    clash = [p for p in first.parameters if p in RESERVED or p in variables]
    if clash:
        raise SourceError(f"{first.name}: parameter name(s) {clash} clash with the dataset's own names "
                          f"({', '.join(RESERVED)} and the fields)")
    found = [viscosity_of(s, config) for s in sources]
    viscosities = [v for v, _ in found]
    rules = sorted({why for _, why in found})
    parameters = [p for p in first.parameters if p not in VISCOSITY_NAMES]
    cap = config.trajectories_per_file
    kept = [min(s.trajectories, cap) if cap else s.trajectories for s in sources]
    splits = _split_rules(sources, config, kept)
    seen: dict[tuple[int, int], str] = {}
    for plan in splits:
        for run in plan.runs:
            for t in range(run.start, run.stop):
                other = seen.setdefault((run.source, t), plan.name)
                if other != plan.name:
                    raise SourceError(f"import config splits: trajectory {t} of {sources[run.source].name} is in "
                                      f"both '{other}' and '{plan.name}'; splits must be disjoint")
    if first.seeds is not None:
        ids = np.concatenate([sources[r.source].seeds[r.start:r.stop] for p in splits for r in p.runs])
        if len(np.unique(ids)) != len(ids):
            raise SourceError(f"{first.name}: the files record duplicated trajectory seeds; they cannot form "
                              "disjoint splits")
    shape = config.resolution or first.shape
    if shape[0] > first.shape[0] or shape[1] > first.shape[1]:
        raise SourceError(f"import config resolution: {list(shape)} is finer than the source grid "
                          f"{list(first.shape)}; coarsening only")
    if "train" not in {p.name for p in splits}:
        raise SourceError("import: no 'train' split (the normalisation statistics are computed on it); "
                          "give `splits:` in the import config")
    for v in viscosities:
        if not (v > 0 and math.isfinite(v)):
            raise SourceError(f"viscosity: {v!r} is not a positive number")
    return ImportPlan(sources, variables, parameters, viscosities, "; ".join(rules), splits, tuple(shape),
                      first.times, kept)
