"""Running a design config: the surrogate (trained when absent), each route, and its verification.

Every route's final design is re-simulated by the solver at the dataset's simulation resolution
and scored there, so ``design.json`` holds, per route, the objective the surrogate promised, the
objective the solver delivers, their gap, the cost (iterations, surrogate and solver calls, wall
time), the error of the design against the truth where there is one, and whether the design
stayed inside the surrogate's training distribution.

Layout of ``OUT``: ``design.yaml`` (the config as given), ``design.json``, ``objective.png``
(objective against iteration and wall time per route, surrogate-predicted and re-simulated) and
``fields.png`` (each route's designed or recovered field beside the target).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch

from data_gen.dataset import generate, load_config, parse_settings, verify
from data_gen.simulation import Simulation

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation import metrics
from ..run_directory import RunDirectory, enable_progress_lines, write_json, write_text
from ..provenance import commit, machine
from ..training.checkpoint import load_surrogate, read_checkpoint
from ..training.device import evaluation_device
from ..training.fit import fit_arguments, train_run
from .config import DesignConfig, Route
from .forward import NonFiniteObjective, SolverForward, SurrogateForward
from .optimise import Optimisation, check_method, minimise
from .table import route_table
from .tasks import BUILDERS, Problem, Setting

log = logging.getLogger(__name__)

RESIMULATED_POINTS = 8  # designs along each route re-simulated for the figure


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


def prepare_dataset(config: DesignConfig, progress: bool) -> Path:
    """The dataset root: the given one, or the data config generated into the cache (reused)."""
    if config.data_root is not None:
        root = config.data_root
    else:
        data = load_config(config.data_config)
        root = config.cache / "data" / f"{config.data_config.stem}-{data.fingerprint[:10]}"
        generate(config.data_config, root, progress=progress, shard="0/1", device=str(evaluation_device()))
    report = verify(root)
    if not report.clean:
        raise UserError(f"data: {root} fails `pdesurrogate verify`: {report.problems[0]}")
    return root


def prepare_checkpoint(config: DesignConfig, data_root: Path, progress: bool) -> Path:
    """The checkpoint: the given one, or the fit config trained on ``data_root`` into the cache
    (once; a later run with the same fit config, data and budget reuses it)."""
    if config.checkpoint is not None:
        return config.checkpoint
    key = _digest(config.fit.read_text(), str(data_root.resolve()), str(config.epochs), str(config.minutes),
                  str(config.seed))
    directory = config.cache / "models" / f"{config.fit.stem}-{key}"
    done = directory / "done.json"
    if done.is_file():
        return directory / json.loads(done.read_text())["checkpoint"]
    log.info(f"design: training {config.fit} on {data_root} (budget {config.epochs} epochs"
         f"{f', {config.minutes:g} min' if config.minutes else ''}) into {directory}")
    # train_run starts from an empty directory: a fit killed here earlier left checkpoints that
    # would make the best one ambiguous.
    selected, seconds = train_run(fit_arguments(config.fit, data_root, directory, seed=config.seed,
                                                epochs=config.epochs, minutes=config.minutes, progress=progress,
                                                overrides=("--trainer.enable_model_summary", "false")), directory)
    write_json(done, {"checkpoint": str(selected.relative_to(directory)), "fit_seconds": seconds})
    return selected


class DesignRun:
    def __init__(self, config: DesignConfig, out: str | Path, progress: bool = True):
        self.config, self.progress = config, progress
        self.directory = RunDirectory(out, "design")
        self.out = self.directory.path
        enable_progress_lines()

    def setting(self) -> tuple[Setting, Path, Path]:
        data_root = prepare_dataset(self.config, self.progress)
        checkpoint = prepare_checkpoint(self.config, data_root, self.progress)
        reader = DatasetReader(data_root)
        data_config = parse_settings(reader.manifest["config"], f"{data_root}/manifest.json")
        module = load_surrogate(checkpoint)
        variables = tuple(module.network.variables)
        missing = [v for v in variables if v not in data_config.variables]
        if missing or module.network.resolution not in (None, data_config.saved_resolution):
            raise UserError(f"checkpoint: {checkpoint} predicts {list(variables)} on a {module.network.resolution}² "
                            f"grid; the dataset {data_root} holds {list(data_config.variables)} at "
                            f"{data_config.saved_resolution}²")
        device = evaluation_device()
        simulation = Simulation(data_config, device=device)
        lacking = [v for v in simulation.state_variables if v not in variables]
        if lacking:
            raise UserError(f"checkpoint: {checkpoint} predicts {list(variables)}; the solver of {data_root} starts "
                            f"from {', '.join(simulation.state_variables)}, so a design needs a surrogate that "
                            "predicts them all")
        setting = Setting(SurrogateForward(module, device), simulation, reader, self.config.target,
                          self.config.design, self.config.objective)
        return setting, data_root, checkpoint

    def run(self) -> Path:
        config = self.config
        if config.checkpoint is not None:
            # Every check that needs no work comes before the dataset is generated.
            read_checkpoint(config.checkpoint, "checkpoint")
        self.directory.claim(config.text)
        write_text(self.out / "design.yaml", config.text)
        setting, data_root, checkpoint = self.setting()
        problem = BUILDERS[config.task](setting)
        for i, route in enumerate(config.routes):
            check_method(route.method, problem.variable.size, f"routes[{i}].method")
            if route.refine is not None:
                check_method(route.refine.method, problem.variable.size, f"routes[{i}].refine.method")
        forwards = {"surrogate": setting.surrogate, "solver": SolverForward(setting.simulation, setting.variables)}
        results = {}
        for route in config.routes:
            log.info(f"design: route {route.name}")
            results[route.name] = run_route(problem, route, forwards, self.progress, config.seed)
            r = results[route.name]
            log.info(f"design: {route.name}: objective {r['objective']['surrogate']:.4g} by surrogate, "
                 f"{r['objective']['solver']:.4g} by solver, {r['seconds']:.1f} s"
                 + (f"; design error {r['design_error']:.3g}" if r.get("design_error") is not None else "")
                 + ("" if r["in_distribution"] else "; OUTSIDE the training distribution")
                 + (f"; stopped: {r['stopped']}" if r["stopped"] else ""))
        summary = {
            "task": config.task, "config": str(config.source), "dataset": str(data_root), "checkpoint": str(checkpoint),
            "surrogate": {"variables": list(setting.variables), "history": setting.history,
                          "conditioning": list(setting.surrogate.conditioning)},
            "simulation_resolution": setting.simulation.grid.n, "saved_resolution": setting.simulation.saved_resolution,
            "instance": _plain(problem.instance), "routes": {name: r["summary"] for name, r in results.items()},
            "commit": commit(), "machine": machine(),
        }
        write_json(self.out / "design.json", summary)
        from .figures import write_figures

        write_figures(self.out, problem, results)
        log.info(route_table(summary))
        log.info(f"design: wrote {self.out / 'design.json'}, objective.png and fields.png")
        return self.out / "design.json"


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def objective_function(problem: Problem, forward):
    """``z -> (batch,)``: the problem's loss of ``forward``'s prediction plus the variable's prior."""
    variable = problem.variable

    def objective(z: torch.Tensor) -> torch.Tensor:
        value = variable.value(z)
        predicted = forward.predict(problem.context(value), problem.parameters(value), problem.frames)
        return problem.loss(predicted, value) + variable.prior(z)

    return objective


def _optimise(problem: Problem, route: Route, forward, z0: torch.Tensor, progress: bool, seed: int,
              label: str) -> Optimisation:
    return minimise(objective_function(problem, forward), z0, route.method, route.iterations,
                    lambda: forward.calls, learning_rate=route.learning_rate, population=route.population,
                    seed=seed, label=label, progress=progress)


def run_route(problem: Problem, route: Route, forwards: dict, progress: bool = True, seed: int = 0) -> dict:
    """Optimise along ``route``, then re-simulate and score its design; returns the figures' data
    and the ``design.json`` entry (under ``summary``)."""
    surrogate, solver = forwards["surrogate"], forwards["solver"]
    calls = {"surrogate": surrogate.calls, "solver": solver.calls}
    z0 = problem.variable.initial_z()
    first = _optimise(problem, route, forwards[route.through], z0, progress, seed, route.name)
    trace = [dict(vars(step), through=route.through) for step in first.trace]
    snapshots, stopped, result = list(first.snapshots), first.stopped, first
    if route.refine is not None and stopped is None:
        second = _optimise(problem, route.refine, solver, first.z, progress, seed, f"{route.name} (solver)")
        base = trace[-1]
        trace += [dict(iteration=base["iteration"] + s.iteration, objective=s.objective,
                       seconds=base["seconds"] + s.seconds, calls=s.calls, through="solver")
                  for s in second.trace[1:]]
        snapshots += second.snapshots[1:]
        stopped, result = second.stopped, second
    spent = {k: forwards[k].calls - calls[k] for k in calls}
    seconds = trace[-1]["seconds"]

    # Verification: what the design does in the solver, and what the surrogate said it would.
    value = problem.variable.value(result.z)
    with torch.no_grad():
        predicted = {}
        for name, forward in forwards.items():
            before = forward.calls
            try:
                predicted[name] = forward.predict(problem.context(value), problem.parameters(value), problem.frames)
            except NonFiniteObjective as error:
                predicted[name] = None
                stopped = stopped or f"verification through the {name}: {error}"
            forward.calls = before  # verification is not part of the route's cost
        objective = {name: (float(problem.loss(p, value)[0] + problem.variable.prior(result.z)[0])
                            if p is not None else float("nan")) for name, p in predicted.items()}
        resimulated = _resimulated_trace(problem, snapshots, trace, solver)
    scores = {}
    if predicted["solver"] is not None and predicted["surrogate"] is not None:
        scores["surrogate_vs_solver_rel_l2"] = float(
            metrics.relative_l2(predicted["surrogate"], predicted["solver"]).mean())
    if problem.observed is not None and predicted["solver"] is not None:
        scores["resimulated_vs_observed_rel_l2"] = float(
            metrics.relative_l2(problem.observe(predicted["solver"]), problem.observed).mean())
    error = None if problem.truth is None else design_error(value, problem.truth.to(value))
    distribution = problem.distribution(value) if problem.distribution else {"in_distribution": None}
    summary = {
        "through": route.through, "method": route.method,
        "refine": None if route.refine is None else {"method": route.refine.method, "iterations": route.refine.iterations},
        "design": problem.variable.describe(value), "design_error": error,
        "objective": {"surrogate": objective["surrogate"], "solver": objective["solver"],
                      "gap": objective["solver"] - objective["surrogate"]},
        "iterations": trace[-1]["iteration"], "surrogate_calls": spent["surrogate"], "solver_calls": spent["solver"],
        "seconds": seconds, "stopped": stopped, "in_distribution": distribution["in_distribution"],
        "distribution": distribution.get("checks", {}), "scores": scores,
        "trace": trace, "resimulated": resimulated,
    }
    return {"summary": summary, "objective": summary["objective"], "seconds": seconds, "stopped": stopped,
            "design_error": error, "in_distribution": distribution["in_distribution"], "value": value.detach(),
            "predicted": predicted, "trace": trace, "resimulated": resimulated}


def design_error(value: torch.Tensor, truth: torch.Tensor) -> float:
    """``|x − x*| / |x*|`` for one number; ``‖x − x*‖ / ‖x*‖`` for coefficients (some may be zero)
    and, per frame, for a field."""
    if truth.ndim == 2 and truth.shape[1] == 1:
        return float(((value - truth).abs() / truth.abs()).max())
    if truth.ndim == 2:
        return float((value - truth).norm() / truth.norm())
    return float(metrics.relative_l2(value, truth).mean())


def _resimulated_trace(problem: Problem, snapshots: list[torch.Tensor], trace: list[dict], solver) -> list[dict]:
    """The solver's objective at up to :data:`RESIMULATED_POINTS` designs along the route (one
    batched solver run; not counted in the route's cost)."""
    if not snapshots:
        return []
    count = min(RESIMULATED_POINTS, len(snapshots))
    picks = sorted({round(i * (len(snapshots) - 1) / max(count - 1, 1)) for i in range(count)})
    z = torch.cat([snapshots[i] for i in picks])
    before = solver.calls
    try:
        values = objective_function(problem, solver)(z)
    except NonFiniteObjective:
        values = torch.full((len(picks),), float("nan"))
    solver.calls = before
    return [{"iteration": trace[i]["iteration"], "seconds": trace[i]["seconds"], "objective": float(v)}
            for i, v in zip(picks, values)]
