"""The design config: which surrogate, which task instance, which routes.

```yaml
task: viscosity                         # viscosity | initial_state | forcing_amplitude | forcing_pattern | initial_height
data: configs/data/ns_ood_small.yaml    # generated into the cache (reused), or data_root: DIR
fit: configs/fit/ns_fno_cond_h1_small.yaml  # trained into the cache when absent (reused), or checkpoint: PATH
budget: {epochs: 30}                    # for fit (default); `minutes: M` also caps wall time
cache: runs/cache                       # where generated data and trained models are kept
target: {seed: 1000, viscosity: 4.0e-4, frames: 8, noise: 0.0}
design: {bounds: [1.0e-5, 1.0e-2]}
routes:
  - {through: surrogate, method: lbfgs, iterations: 20}
  - {through: solver, method: lbfgs, iterations: 10}
  - {through: surrogate, method: cem, iterations: 15, population: 32}
  - {through: surrogate, method: lbfgs, iterations: 20, refine: {method: lbfgs, iterations: 4}}
```

Every mistake is one :class:`UserError` naming its key, before any simulation or training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config_checks import data_source, number, parse_budget, positive_int, read_config, refuse_unknown_keys, resolve_path
from ..errors import UserError
from ..training.cli import check_config_file
from .optimise import METHODS
from .tasks import TASKS

KEYS = ("task", "data", "data_root", "fit", "checkpoint", "budget", "seed", "cache", "target", "design",
        "objective", "routes")
START_COEFFICIENTS = [0.1, 0.1, 0.0, 0.0]  # the FNO forcing within the diagonal_modes family
_FORCING_TARGET = {"seed": 1000, "index": 0, "viscosity": None, "frames": 8, "coefficients": START_COEFFICIENTS}
# Per task: the keys each section accepts, with defaults (None: required, or chosen from the data).
SECTIONS = {
    "viscosity": {
        "target": {"seed": 1000, "index": 0, "viscosity": None, "frames": 8, "noise": 0.0, "observations": None},
        "design": {"initial": None, "bounds": [1.0e-5, 1.0e-2]},
        "objective": {},
    },
    "initial_state": {
        "target": {"seed": 1000, "index": 0, "viscosity": None, "frames": 2, "noise": 0.0, "coarsen": 1,
                   "observations": None},
        "design": {"prior_weight": 1.0e-3},
        "objective": {},
    },
    "initial_height": {
        "target": {"seed": 1000, "index": 0, "viscosity": None, "frames": 4, "noise": 0.0, "observations": None},
        "design": {"prior_weight": 1.0e-3},
        "objective": {},
    },
    "forcing_amplitude": {
        "target": _FORCING_TARGET,
        "design": {"direction": [1.0, 1.0, 0.0, 0.0], "initial": 0.1, "bounds": [0.0, 0.2]},
        "objective": {"kind": "target_enstrophy", "ratio": None, "coefficients": None},
    },
    "forcing_pattern": {
        "target": _FORCING_TARGET,
        "design": {"initial": START_COEFFICIENTS, "bounds": [-0.15, 0.15]},
        "objective": {"kind": "match_field", "ratio": None, "coefficients": None},
    },
}
OBJECTIVES = ("match_field", "target_enstrophy", "minimise_enstrophy", "maximise_enstrophy")
ROUTE_KEYS = ("name", "through", "method", "iterations", "learning_rate", "population", "refine")
REFINE_KEYS = ("method", "iterations", "learning_rate", "population")


@dataclass(frozen=True)
class Route:
    name: str
    through: str  # surrogate | solver
    method: str
    iterations: int
    learning_rate: float = 0.05
    population: int = 32
    refine: Route | None = None  # continued through the solver from this route's answer


@dataclass(frozen=True)
class DesignConfig:
    source: Path
    task: str
    data_config: Path | None
    data_root: Path | None
    fit: Path | None
    checkpoint: Path | None
    epochs: int
    minutes: float | None
    seed: int
    cache: Path
    target: dict
    design: dict
    objective: dict
    routes: tuple[Route, ...]
    text: str = field(repr=False, default="")


def _section(raw: dict, name: str, defaults: dict) -> dict:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise UserError(f"{name}: must be a mapping of {', '.join(defaults)}")
    refuse_unknown_keys(value, defaults, f"{name}.")
    return {**defaults, **value}


def _number(value, key: str, minimum: float | None = None, exclusive: bool = False) -> float:
    return number(value, key, minimum=minimum, exclusive=exclusive)


def _route(raw, key: str, refine: bool = False) -> Route:
    if not isinstance(raw, dict):
        raise UserError(f"{key}: must be a mapping like {{through: surrogate, method: lbfgs, iterations: 20}}")
    refuse_unknown_keys(raw, REFINE_KEYS if refine else ROUTE_KEYS, f"{key}.")
    through = "solver" if refine else raw.get("through", "surrogate")
    if through not in ("surrogate", "solver"):
        raise UserError(f"{key}.through: must be surrogate or solver (got {through!r})")
    method = raw.get("method")
    if method not in METHODS:
        raise UserError(f"{key}.method: must be one of {', '.join(METHODS)} (got {method!r})")
    iterations = positive_int(raw.get("iterations"), f"{key}.iterations")
    learning_rate = _number(raw.get("learning_rate", 0.05), f"{key}.learning_rate", 0.0, exclusive=True)
    population = raw.get("population", 32)
    if not (isinstance(population, int) and not isinstance(population, bool) and population >= 4):
        raise UserError(f"{key}.population: must be an integer >= 4 (got {population!r})")
    then = _route(raw["refine"], f"{key}.refine", refine=True) if raw.get("refine") is not None else None
    name = raw.get("name") or f"{through}-{method}" + (f"-then-solver-{then.method}" if then else "")
    return Route(str(name), through, method, iterations, learning_rate, population, then)


def parse_design(path: str | Path) -> DesignConfig:
    """Read and check a design config; every mistake is one :class:`UserError` naming its key."""
    source = Path(path)
    text, raw = read_config(source, KEYS, "configs/design/ns_viscosity.yaml")
    task = raw.get("task")
    if task not in TASKS:
        raise UserError(f"task: must be one of {', '.join(TASKS)} (got {task!r})")
    data_config, data_root = data_source(raw, source)
    if ("fit" in raw) == ("checkpoint" in raw):
        raise UserError("fit: give exactly one of fit (a training config, trained when absent) and checkpoint")
    fit = resolve_path(raw["fit"], "fit", source) if "fit" in raw else None
    if fit is not None:
        check_config_file(fit, "fit")
    checkpoint = resolve_path(raw["checkpoint"], "checkpoint", source) if "checkpoint" in raw else None
    epochs, minutes = parse_budget(raw.get("budget") or {"epochs": 30}, "budget")
    seed = raw.get("seed", 0)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        raise UserError(f"seed: must be an integer >= 0 (got {seed!r})")

    sections = SECTIONS[task]
    target = _section(raw, "target", sections["target"])
    design = _section(raw, "design", sections["design"])
    objective = _section(raw, "objective", sections["objective"])
    _check_sections(task, target, design, objective)

    routes = raw.get("routes")
    if not isinstance(routes, list) or not routes:
        raise UserError("routes: must be a non-empty list of {through, method, iterations[, refine]}")
    parsed = tuple(_route(r, f"routes[{i}]") for i, r in enumerate(routes))
    names = [r.name for r in parsed]
    if len(set(names)) != len(names):
        raise UserError(f"routes: two routes share a name ({', '.join(names)}); give each a distinct name:")
    return DesignConfig(source, task, data_config, data_root, fit, checkpoint, epochs, minutes, seed,
                        Path(raw.get("cache") or "runs/cache"), target, design, objective, parsed, text)


def _check_sections(task: str, target: dict, design: dict, objective: dict) -> None:
    for key in ("seed", "index"):
        if not (isinstance(target[key], int) and not isinstance(target[key], bool) and target[key] >= 0):
            raise UserError(f"target.{key}: must be an integer >= 0 (got {target[key]!r})")
    positive_int(target["frames"], "target.frames")
    if "noise" in target:
        _number(target["noise"], "target.noise", 0.0)
    if target.get("viscosity") is not None:
        _number(target["viscosity"], "target.viscosity", 0.0, exclusive=True)
    elif task in ("initial_state", "initial_height"):
        raise UserError(f"target.viscosity: the {task} task simulates at a known viscosity; give it")
    if "bounds" in design:
        bounds = design["bounds"]
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise UserError(f"design.bounds: must be [low, high] (got {bounds!r})")
        for i, b in enumerate(bounds):
            _number(b, f"design.bounds[{i}]")
    if "prior_weight" in design:
        _number(design["prior_weight"], "design.prior_weight", 0.0)
    if task.startswith("forcing"):
        kind = objective["kind"]
        if kind not in OBJECTIVES:
            raise UserError(f"objective.kind: must be one of {', '.join(OBJECTIVES)} (got {kind!r})")
        if kind == "target_enstrophy":
            _number(objective["ratio"], "objective.ratio", 0.0, exclusive=True)
        if kind == "match_field":
            coefficients = objective["coefficients"]
            if not (isinstance(coefficients, list) and len(coefficients) == 4):
                raise UserError("objective.coefficients: match_field needs the 4 forcing coefficients that made the "
                                f"target field (got {coefficients!r})")
        if not (isinstance(target["coefficients"], list) and len(target["coefficients"]) == 4):
            raise UserError(f"target.coefficients: must be 4 numbers (got {target['coefficients']!r})")
