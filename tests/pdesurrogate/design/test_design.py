"""Inverse design: the solver recovers ν, the surrogate within a bound from its own error, gradients
match finite differences, the cross-entropy method finds a convex optimum, and every design run
re-simulates its answers and flags those outside the training distribution."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from data_gen.dataset import parse_config
from data_gen.simulation import Simulation
from pdesurrogate.cli import main
from pdesurrogate.data import DatasetReader
from pdesurrogate.design.config import Route
from pdesurrogate.design.forward import SolverForward, SurrogateForward
from pdesurrogate.design.optimise import minimise
from pdesurrogate.design.runner import design_error, objective_function, run_route
from pdesurrogate.design.tasks import BUILDERS, Setting
from pdesurrogate.evaluation import metrics
from pdesurrogate.models import FNO
from pdesurrogate.training import SurrogateModule
from pdesurrogate.training.checkpoint import load_surrogate

from ..conftest import NAVIER_STOKES

from ..conftest import generate

TINY = dict(hidden_channels=8, layers=2, modes=4, lifting_channels=8, projection_channels=8, embedding_dim=8)
FIT = """\
seed_everything: 0
trainer: {{max_epochs: {epochs}, enable_progress_bar: false, enable_model_summary: false, logger: false,
          gradient_clip_val: 1.0}}
data: {{root: {root}, variables: [vorticity], history: 1, future: 1, rollout_steps: 4, conditioning: [viscosity],
       batch_size: 8}}
model:
  network: {{class_path: pdesurrogate.models.FNO, init_args: {{hidden_channels: 16, layers: 3, modes: 6,
            lifting_channels: 16, projection_channels: 16, embedding_dim: 16}}}}
  loss: relative_l2
  learning_rate: 0.005
  warmup_steps: 5
"""
NO_PROGRESS = False


def untrained(reader: DatasetReader, conditioning=("viscosity",), variables=("vorticity",)) -> SurrogateModule:
    torch.manual_seed(0)
    stats = reader.stats()
    network = FNO(list(variables), 1, 1, conditioning=list(conditioning), resolution=16, **TINY)
    module = SurrogateModule(network)
    module.normaliser.set_statistics(stats, variables)
    return module.eval()


def setting(root, module, target, design=None, objective=None, dtype=torch.float64) -> Setting:
    reader = DatasetReader(root)
    config = parse_config(reader.manifest["config"])
    return Setting(SurrogateForward(module, torch.device("cpu")), Simulation(config, dtype=dtype), reader,
                   {"seed": 1000, "index": 0, "noise": 0.0, "observations": None, **target},
                   design or {}, objective or {})


@pytest.fixture(scope="module")
def trained(ns_dataset, tmp_path_factory):
    """A small ν-conditioned FNO with one frame of history, trained on the 16² test dataset."""
    out = tmp_path_factory.mktemp("fit")
    config = out / "fit.yaml"
    config.write_text(FIT.format(epochs=30, root=ns_dataset))
    assert main(["fit", "--config", str(config), "--trainer.default_root_dir", str(out),
                 "--checkpoint.dirpath", str(out / "checkpoints")]) == 0
    return next((out / "checkpoints").glob("best-*.ckpt"))


def viscosity_problem(root, module, nu, **design):
    s = setting(root, module, {"viscosity": nu, "frames": 8},
                {"initial": design.get("initial"), "bounds": design.get("bounds", [1e-3, 1e-1])})
    return s, BUILDERS["viscosity"](s)


def forwards(s: Setting) -> dict:
    return {"surrogate": s.surrogate, "solver": SolverForward(s.simulation, s.variables)}


# --- the solver route ----------------------------------------------------------------------------


def test_viscosity_inference_through_the_solver_recovers_nu_within_one_percent(ns_dataset, trained):
    # 0.015: between the training viscosities 0.01 and 0.02, and no sample has it.
    s, problem = viscosity_problem(ns_dataset, load_surrogate(trained), 0.015)
    result = run_route(problem, Route("solver-lbfgs", "solver", "lbfgs", 8), forwards(s), NO_PROGRESS)
    recovered = result["summary"]["design"]["viscosity"]
    assert abs(recovered / 0.015 - 1) < 0.01, recovered
    assert result["summary"]["solver_calls"] > 0 and result["summary"]["surrogate_calls"] == 0
    # Re-simulation ran and its numbers are in the summary: at the recovered ν the solver meets the data.
    assert result["summary"]["objective"]["solver"] < 1e-6
    assert result["summary"]["in_distribution"] is True


# --- the surrogate route, against a bound derived from its validation error -----------------------


def _weighted(difference: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``‖a‖_w = sqrt(mean over frames of ‖a_t‖² / ‖y_t‖²)``: the norm the viscosity misfit squares."""
    return (difference.square().sum(dim=(-2, -1)) / truth.square().sum(dim=(-2, -1))).mean(dim=(1, 2)).sqrt()


def test_surrogate_recovers_nu_within_the_bound_its_validation_error_allows(ns_dataset, trained):
    """The bound. Let y = g(ν*) be the observed trajectory (g: the solver), f the surrogate, and ‖·‖_w
    the norm whose square is the misfit. If ‖f(ν) − g(ν)‖_w ≤ ε for every ν in the training range
    (ε: the surrogate's worst validation error over the same window, the assumption being that it
    holds between the validation viscosities too), then the minimiser ν̂ in that range has
    ‖g(ν̂) − y‖_w ≤ ‖f(ν̂) − g(ν̂)‖_w + ‖f(ν̂) − y‖_w ≤ ε + ‖f(ν*) − y‖_w ≤ 2ε. With S the solver's
    smallest secant sensitivity ‖g(ν) − y‖_w / |log ν − log ν*| over the range,
    |log ν̂ − log ν*| ≤ 2ε / S."""
    module = load_surrogate(trained)
    nu, low, high = 0.013, 0.01, 0.02  # the training viscosities are 0.01 and 0.02
    s, problem = viscosity_problem(ns_dataset, module, nu, bounds=[low * 0.999, high * 1.001])
    result = run_route(problem, Route("surrogate-lbfgs", "surrogate", "lbfgs", 15), forwards(s), NO_PROGRESS)
    recovered = result["summary"]["design"]["viscosity"]

    val = DatasetReader(ns_dataset).split("val")
    epsilon = 0.0
    from pdesurrogate.evaluation.scoring import trajectories
    module = module.double()
    for _, fields in trajectories(val, ["vorticity"]):
        fields = fields.double()
        with torch.no_grad():
            predicted = module.rollout_physical(fields[:, :1], torch.as_tensor(val.parameters["viscosity"])[:, None], 8)
        epsilon = max(epsilon, float(_weighted(predicted - fields[:, 1:9], fields[:, 1:9]).max()))

    sim, y = s.simulation, problem.observed
    start = problem.context(torch.zeros(1, 1))[:, 0]
    with torch.no_grad():
        secants = [float(_weighted(sim.run(start, sim.parameters(1, viscosity=v), 8) - y, y))
                   / abs(math.log(v / nu)) for v in (low, high)]
    bound = 2 * epsilon / min(secants)
    error = abs(math.log(recovered / nu))
    assert error <= bound, (recovered, error, bound, epsilon, secants)

    # What the bound is worth: it is narrower than the range the prior allows, and the untrained
    # network (the baseline a trained model must beat) misses the truth by more than ε on the validation split.
    assert bound < math.log(high / low), (bound, epsilon, secants)
    baseline = untrained(DatasetReader(ns_dataset)).double()
    for _, fields in trajectories(val, ["vorticity"]):
        fields = fields.double()
        with torch.no_grad():
            predicted = baseline.rollout_physical(fields[:, :1], torch.as_tensor(val.parameters["viscosity"])[:, None], 8)
        assert float(_weighted(predicted - fields[:, 1:9], fields[:, 1:9]).max()) > epsilon


# --- gradients -------------------------------------------------------------------------------------


@pytest.mark.parametrize("through", ["surrogate", "solver"])
def test_gradient_of_the_objective_matches_finite_differences(ns_dataset, trained, through):
    s, problem = viscosity_problem(ns_dataset, load_surrogate(trained), 0.015)
    objective = objective_function(problem, forwards(s)[through])
    z = problem.variable.initial_z().requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(z).sum(), z)
    h = 1e-4
    with torch.no_grad():
        numeric = (objective(z + h) - objective(z - h)) / (2 * h)
    assert torch.allclose(grad, numeric, rtol=1e-4, atol=1e-10), (float(grad), float(numeric))


def test_initial_state_gradient_through_the_solver_matches_finite_differences(ns_dataset):
    module = untrained(DatasetReader(ns_dataset))
    s = setting(ns_dataset, module, {"viscosity": 0.015, "frames": 2, "coarsen": 1}, {"prior_weight": 1e-3})
    problem = BUILDERS["initial_state"](s)
    objective = objective_function(problem, forwards(s)["solver"])
    z = problem.variable.initial_z()
    direction = torch.randn(z.shape, generator=torch.Generator().manual_seed(0), dtype=z.dtype)
    z.requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(z).sum(), z)
    h = 1e-5
    with torch.no_grad():
        numeric = (objective(z + h * direction) - objective(z - h * direction)) / (2 * h)
    assert torch.allclose((grad * direction).sum(), numeric, rtol=1e-5), (float((grad * direction).sum()), float(numeric))


# --- optimisers --------------------------------------------------------------------------------------


def test_cross_entropy_method_reaches_the_optimum_of_a_convex_objective():
    optimum = torch.tensor([[1.5, -0.7, 0.3]], dtype=torch.float64)
    curvature = torch.tensor([1.0, 4.0, 0.5], dtype=torch.float64)
    counter = {"n": 0}

    def objective(z):
        counter["n"] += z.shape[0]
        return ((z - optimum).square() * curvature).sum(dim=1)

    result = minimise(objective, torch.zeros(1, 3, dtype=torch.float64), "cem", 40, lambda: counter["n"],
                      population=32, progress=False)
    assert (result.z - optimum).abs().max() < 1e-3, result.z
    assert [s.objective for s in result.trace] == sorted([s.objective for s in result.trace], reverse=True)
    assert result.trace[-1].calls == counter["n"] == 1 + 40 * 32


def test_a_nan_objective_stops_the_route_and_keeps_the_last_good_design():
    calls = {"n": 0}

    def objective(z):
        calls["n"] += 1
        if calls["n"] > 6:
            return torch.full((z.shape[0],), float("nan"), dtype=z.dtype) + 0 * z.sum()
        return (z - 2.0).square().sum(dim=1)

    result = minimise(objective, torch.zeros(1, 1, dtype=torch.float64), "adam", 20, lambda: calls["n"],
                      learning_rate=0.1, progress=False)
    assert result.stopped is not None and "not finite" in result.stopped
    assert math.isfinite(result.objective) and result.objective < 4.0  # improved before it stopped
    assert result.iterations < 20


# --- the command, end to end ---------------------------------------------------------------------------


def design_config(tmp_path, root, checkpoint, **changes) -> str:
    config = {
        "task": "viscosity", "data_root": str(root), "checkpoint": str(checkpoint),
        "target": {"seed": 1000, "viscosity": 0.005, "frames": 8},
        "design": {"bounds": [1e-3, 1e-1]},
        "routes": [{"through": "surrogate", "method": "lbfgs", "iterations": 4},
                   {"through": "surrogate", "method": "cem", "iterations": 3, "population": 8},
                   {"through": "solver", "method": "adam", "iterations": 2},
                   {"through": "surrogate", "method": "lbfgs", "iterations": 3,
                    "refine": {"method": "lbfgs", "iterations": 1}}],
    }
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_design_command_writes_every_route_verified_by_the_solver_and_flags_leaving_the_range(
        ns_dataset, trained, tmp_path):
    out = tmp_path / "out"
    assert main(["design", design_config(tmp_path, ns_dataset, trained), "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "design.json").read_text())
    assert set(summary["routes"]) == {"surrogate-lbfgs", "surrogate-cem", "solver-adam",
                                      "surrogate-lbfgs-then-solver-lbfgs"}
    for name, route in summary["routes"].items():
        objective = route["objective"]
        assert math.isfinite(objective["surrogate"]) and math.isfinite(objective["solver"]), name
        assert objective["gap"] == pytest.approx(objective["solver"] - objective["surrogate"])
        assert route["iterations"] >= 1 and route["seconds"] > 0 and route["resimulated"], name
        assert route["design_error"] is not None and "resimulated_vs_observed_rel_l2" in route["scores"]
        # ν = 0.005 lies below the training viscosities {0.01, 0.02}: any design near it is flagged.
        if route["design"]["viscosity"] < 0.01 * (1 - 1e-6):
            assert route["in_distribution"] is False
    assert summary["routes"]["solver-adam"]["solver_calls"] > 0
    assert summary["routes"]["solver-adam"]["surrogate_calls"] == 0
    assert summary["routes"]["surrogate-lbfgs"]["solver_calls"] == 0
    refined = summary["routes"]["surrogate-lbfgs-then-solver-lbfgs"]
    assert refined["surrogate_calls"] > 0 and refined["solver_calls"] > 0
    assert (out / "objective.png").stat().st_size > 0 and (out / "fields.png").stat().st_size > 0


def test_an_in_range_design_is_not_flagged(ns_dataset, trained):
    s, problem = viscosity_problem(ns_dataset, load_surrogate(trained), 0.015)
    assert problem.distribution(torch.tensor([[0.015]]))["in_distribution"] is True
    assert problem.distribution(torch.tensor([[0.005]]))["in_distribution"] is False


# --- bad input: one line each --------------------------------------------------------------------------


def refused(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    for fragment in fragments:
        assert str(fragment) in err[0], err[0]
    return err[0]


def save(module: SurrogateModule, path) -> str:
    import lightning.pytorch as pl

    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return str(path)


def test_a_checkpoint_without_viscosity_conditioning_is_refused(ns_dataset, tmp_path, capsys):
    path = save(untrained(DatasetReader(ns_dataset), conditioning=()), tmp_path / "plain.ckpt")
    refused(capsys, ["design", design_config(tmp_path, ns_dataset, path), "--out", str(tmp_path / "o")],
            "model:", "conditioned on nothing", "viscosity")


def test_a_checkpoint_of_other_variables_or_another_grid_is_refused(ns_dataset, multi_dataset, tmp_path, capsys):
    path = save(untrained(DatasetReader(ns_dataset)), tmp_path / "ns.ckpt")
    refused(capsys, ["design", design_config(tmp_path, multi_dataset, path), "--out", str(tmp_path / "o")],
            "checkpoint:", "['vorticity']", "height")
    torch.manual_seed(0)
    network = FNO(["vorticity"], 1, 1, conditioning=["viscosity"], resolution=32, **TINY)
    module = SurrogateModule(network)
    module.normaliser.set_statistics(DatasetReader(ns_dataset).stats(), ["vorticity"])
    coarse = save(module, tmp_path / "32.ckpt")
    refused(capsys, ["design", design_config(tmp_path, ns_dataset, coarse), "--out", str(tmp_path / "o2")],
            "checkpoint:", "32²", "16²")


def test_bounds_that_exclude_the_initial_guess_are_refused(ns_dataset, trained, tmp_path, capsys):
    config = design_config(tmp_path, ns_dataset, trained, design={"initial": 0.5, "bounds": [1e-3, 1e-1]})
    refused(capsys, ["design", config, "--out", str(tmp_path / "o")], "design.initial", "outside the bounds")


def test_an_observation_file_of_the_wrong_shape_is_refused(ns_dataset, trained, tmp_path, capsys):
    np.save(tmp_path / "obs.npy", np.zeros((4, 1, 16, 16)))
    config = design_config(tmp_path, ns_dataset, trained,
                           target={"seed": 1000, "frames": 8, "observations": str(tmp_path / "obs.npy")})
    refused(capsys, ["design", config, "--out", str(tmp_path / "o")], "target.observations", "(4, 1, 16, 16)",
            "(9, 1, 16, 16)")


def test_a_pickled_observation_file_is_refused_without_unpickling(ns_dataset, trained, tmp_path, capsys):
    np.save(tmp_path / "obs.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    config = design_config(tmp_path, ns_dataset, trained,
                           target={"seed": 1000, "frames": 8, "observations": str(tmp_path / "obs.npy")})
    refused(capsys, ["design", config, "--out", str(tmp_path / "o")], "target.observations")


@pytest.mark.parametrize("change,fragment", [
    ({"task": "inverse"}, "task: must be one of"),
    ({"routes": [{"through": "oracle", "method": "lbfgs", "iterations": 2}]}, "routes[0].through"),
    ({"routes": [{"method": "newton", "iterations": 2}]}, "routes[0].method"),
    ({"routes": [{"method": "lbfgs", "iterations": 0}]}, "routes[0].iterations"),
    ({"target": {"viscosity": 0.01, "frame": 3}}, "target.frame: unknown key (did you mean 'frames'?)"),
])
def test_config_mistakes_name_their_key(ns_dataset, trained, tmp_path, capsys, change, fragment):
    refused(capsys, ["design", design_config(tmp_path, ns_dataset, trained, **change), "--out", str(tmp_path / "o")],
            fragment)


def test_the_cross_entropy_method_is_refused_for_a_field(ns_dataset, trained, tmp_path, capsys):
    config = design_config(tmp_path, ns_dataset, trained, task="initial_state",
                           target={"viscosity": 0.015, "frames": 2},
                           design={"prior_weight": 1e-3},
                           routes=[{"method": "cem", "iterations": 2}])
    refused(capsys, ["design", config, "--out", str(tmp_path / "o")], "routes[0].method", "256")


# --- the other tasks: the solver reproduces its own truth, and a route improves on its start ----------


def test_initial_state_recovery_improves_and_the_truth_is_a_fixed_point_of_the_solver(ns_dataset, trained):
    s = setting(ns_dataset, load_surrogate(trained), {"viscosity": 0.015, "frames": 2, "coarsen": 2},
                {"prior_weight": 0.0})
    problem = BUILDERS["initial_state"](s)
    solver = forwards(s)["solver"]
    at_truth = objective_function(problem, solver)(problem.truth / problem.variable.scale)
    assert float(at_truth) < 1e-10  # the truth, re-simulated, is the observation
    result = run_route(problem, Route("solver-lbfgs", "solver", "lbfgs", 10), forwards(s), NO_PROGRESS)
    start_error = float(metrics.relative_l2(problem.variable.initial, problem.truth).mean())
    assert result["design_error"] < 0.8 * start_error, (result["design_error"], start_error)


def test_shallow_water_initial_height_recovery_runs_both_routes(multi_dataset):
    reader = DatasetReader(multi_dataset)
    module = untrained(reader, variables=("height", "u", "v"))
    s = setting(multi_dataset, module, {"viscosity": 7e-4, "frames": 3}, {"prior_weight": 1e-3})
    problem = BUILDERS["initial_height"](s)
    solver = forwards(s)["solver"]
    truth_z = problem.truth / problem.variable.scale
    assert float(objective_function(problem, solver)(truth_z) - problem.variable.prior(truth_z)) < 1e-4
    start_error = design_error(problem.variable.value(problem.variable.initial_z()), problem.truth)
    assert start_error == pytest.approx(1.0)  # the flat start
    for through in ("solver", "surrogate"):
        result = run_route(problem, Route(f"{through}-lbfgs", through, "lbfgs", 5), forwards(s), NO_PROGRESS)
        trace = result["summary"]["trace"]
        # each route lowers the objective it optimises, from where it started
        assert result["summary"]["objective"][through] < trace[0]["objective"], through
        if through == "solver":  # exact physics: the recovered height is ten times closer (0.0097 seen)
            assert result["design_error"] < 0.1 * start_error


@pytest.fixture(scope="module")
def forcing_dataset(tmp_path_factory):
    from ..conftest import NAVIER_STOKES
    config = NAVIER_STOKES.replace(
        "forcing: {kind: fno, amplitude: 0.1}",
        "forcing: {kind: diagonal_modes, sin_plus: {uniform: [-0.15, 0.15]}, cos_plus: {uniform: [-0.15, 0.15]},"
        " sin_minus: {uniform: [-0.15, 0.15]}, cos_minus: {uniform: [-0.15, 0.15]}}")
    return generate(config, tmp_path_factory.mktemp("forcing"))


@pytest.mark.parametrize("task,objective,design", [
    ("forcing_amplitude", {"kind": "target_enstrophy", "ratio": 1.2},
     {"direction": [1.0, 1.0, 0.0, 0.0], "initial": 0.1, "bounds": [0.0, 0.3]}),
    ("forcing_pattern", {"kind": "match_field", "coefficients": [-0.05, 0.12, 0.08, -0.1]},
     {"initial": [0.1, 0.1, 0.0, 0.0], "bounds": [-0.15, 0.15]}),
])
def test_forcing_design_through_the_solver_reaches_its_goal(forcing_dataset, task, objective, design):
    reader = DatasetReader(forcing_dataset)
    module = untrained(reader, conditioning=("forcing_sin_plus", "forcing_cos_plus", "forcing_sin_minus",
                                             "forcing_cos_minus"))
    s = setting(forcing_dataset, module, {"viscosity": 0.01, "frames": 8, "coefficients": [0.1, 0.1, 0.0, 0.0]},
                design, objective)
    problem = BUILDERS[task](s)
    result = run_route(problem, Route("solver-lbfgs", "solver", "lbfgs", 6), forwards(s), NO_PROGRESS)
    start = result["summary"]["trace"][0]["objective"]
    assert result["summary"]["objective"]["solver"] < 0.05 * start, (start, result["summary"]["objective"])


def test_a_checkpoint_that_is_not_one_is_refused_before_the_dataset_is_generated(tmp_path, capsys):
    (tmp_path / "data.yaml").write_text(NAVIER_STOKES)
    (tmp_path / "notes.ckpt").write_text("not a checkpoint\n")
    config = yaml.safe_load(Path(design_config(tmp_path, tmp_path, tmp_path / "notes.ckpt")).read_text())
    del config["data_root"]
    config.update(data=str(tmp_path / "data.yaml"), cache=str(tmp_path / "cache"))
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(config))
    refused(capsys, ["design", str(tmp_path / "design.yaml"), "--out", str(tmp_path / "o")],
            "checkpoint:", "notes.ckpt")
    assert not (tmp_path / "cache").exists()  # nothing generated, nothing trained


@pytest.mark.parametrize("value, message", [("1e-3", "not a quoted string"), (math.nan, "finite"),
                                            (math.inf, "finite")])
def test_the_design_config_keeps_the_one_number_rule(ns_dataset, trained, tmp_path, capsys, value, message):
    """It used to accept NaN and infinity (and refuse "1e-3", which the dataset config took)."""
    config = design_config(tmp_path, ns_dataset, trained, target={"seed": 1000, "viscosity": value, "frames": 8})
    # yaml.safe_dump writes the string "1e-3" unquoted (YAML 1.1 reads it as a string): quote it
    Path(config).write_text(Path(config).read_text().replace("viscosity: 1e-3", "viscosity: '1e-3'"))
    refused(capsys, ["design", config, "--out", str(tmp_path / "o")], "target.viscosity", message)
