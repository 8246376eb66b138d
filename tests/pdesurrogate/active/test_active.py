"""`pdesurrogate active` end to end on a tiny dataset: every file, datasets that verify, manifests
that record the acquisition, resumption after a kill, and each bad input as one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from data_gen.dataset import verify
from pdesurrogate.training import fit as training_fit
from pdesurrogate.cli import main

FIT = Path(__file__).resolve().parents[3] / "configs" / "fit"
TINY_FIT = ["--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4",
            "--data.rollout_steps", "3", "--data.batch_size", "8", "--trainer.limit_train_batches", "1",
            "--trainer.limit_val_batches", "1", "--trainer.enable_model_summary", "false"]

DATA = {
    "equation": "navier_stokes", "solver": "spectral", "scheme": "cn_rk4", "domain_length": 1.0,
    "sim_resolution": 32, "saved_resolution": 16, "dtype": "float32",
    "time": {"t_end": 2.25, "save_interval": 0.25, "spinup": 0.0, "cfl": 0.5},
    "forcing": {"kind": "fno", "amplitude": 0.1},
    "initial_condition": {"kind": "gaussian_random_field", "alpha": 4.0, "tau": 7.0},
    "variables": ["vorticity"], "batch_size": 16, "samples_per_shard": 4,
    "splits": {
        "train": {"viscosity": {"log_uniform": [1.0e-2, 2.0e-2]}, "samples": 8, "seed": 0},
        "val": {"viscosity": {"log_uniform": [1.0e-2, 2.0e-2]}, "samples": 2, "seed": 1},
        "test_id": {"viscosity": {"log_uniform": [1.0e-2, 2.0e-2]}, "samples": 3, "seed": 2},
        "test_ood": {"viscosity": {"log_uniform": [2.5e-3, 5.0e-3]}, "samples": 3, "seed": 3},
    },
}


def active_config(directory: Path, data_changes: dict | None = None, **changes) -> Path:
    data = json.loads(json.dumps(DATA))
    data.update(data_changes or {})
    (directory / "data.yaml").write_text(yaml.safe_dump(data))
    raw = {"data": str(directory / "data.yaml"), "model": str(FIT / "ns_fno_cond_small.yaml"), "ensemble": 2,
           "seeds": 1, "initial": 4, "rounds": 1, "budget_per_round": 2,
           "candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 4},
           "target": "test_ood", "calibration_splits": ["test_id"], "training": {"epochs": 1}, "horizon": 4,
           "fit_overrides": TINY_FIT}
    raw.update(changes)
    path = directory / "active.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def fits(monkeypatch):
    """Counts trainings; ``fits["kill_at"] = n`` interrupts the n-th one, as a kill would."""
    log = {"count": 0, "kill_at": None}
    train = training_fit.run_lightning

    def counting(argv):
        log["count"] += 1
        if log["count"] == log["kill_at"]:
            raise KeyboardInterrupt
        return train(argv)

    monkeypatch.setattr(training_fit, "run_lightning", counting)
    return log


def test_a_tiny_active_run_writes_every_file_and_resumes_after_a_kill(tmp_path, fits):
    config, out = active_config(tmp_path), tmp_path / "out"
    # Killed in the second member of the active loop's round 1 (fits: 2 initial, then active).
    fits["kill_at"] = 4
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 130
    initial_done = out / "loops" / "initial" / "seed-0" / "round-0" / "done.json"
    stamp = initial_done.stat().st_mtime_ns
    acquisition = json.loads((out / "loops" / "active" / "seed-0" / "round-1" / "acquisition.json").read_text())

    fits.update(count=0, kill_at=None)
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 0
    assert fits["count"] == 3  # the killed member, and the random loop's two; round 0 is not redone
    assert initial_done.stat().st_mtime_ns == stamp
    assert json.loads((out / "loops" / "active" / "seed-0" / "round-1" / "acquisition.json").read_text()) == acquisition

    for name in ("active.yaml", "pool.json", "pool.npz", "rounds.csv", "results.csv", "calibration.csv",
                 "calibration_by_viscosity.csv", "reliability.csv", "summary.json", "report.md",
                 "figures/target_error_vs_budget.png", "figures/chosen_viscosities.png", "figures/reliability.png",
                 "figures/spread_vs_error.png"):
        assert (out / name).is_file(), name
    assert verify(out / "data").clean
    assert list(out.rglob("best-epoch*.ckpt")) and not list(out.rglob("last.ckpt"))  # finished members keep one

    # Each round's simulations are a dataset that verifies, and its manifest records the acquisition.
    pool = json.loads((out / "pool.json").read_text())
    for strategy in ("active", "random"):
        round_dir = out / "loops" / strategy / "seed-0" / "round-1"
        assert verify(round_dir / "data").clean
        made = json.loads((round_dir / "acquisition.json").read_text())
        recorded = json.loads((round_dir / "data" / "manifest.json").read_text())["active_learning"]
        assert (recorded["strategy"], recorded["round"], recorded["seed"]) == (strategy, 1, 0)
        assert sorted(s["viscosity"] for s in recorded["samples"]) == sorted(made["chosen_viscosity"])
        assert sum(made["chosen_cost"]) <= 2 + 1e-9
        assert set(made["chosen_viscosity"]) <= set(pool["viscosity"])
    # The active choice starts at the largest disagreement per unit of cost among the affordable candidates
    # (the measured costs are timings: on a busy machine one may exceed the round's budget).
    cost = np.array(acquisition["cost"])
    value = np.where(cost <= 2, np.array(acquisition["disagreement"]) / cost, -np.inf)
    assert acquisition["chosen"][0] == int(np.argmax(value))
    recorded = json.loads((out / "loops" / "active" / "seed-0" / "round-1" / "data" / "manifest.json").read_text())
    score = dict(zip(acquisition["chosen_viscosity"], acquisition["chosen_score"]))
    assert all(s["acquisition_score"] == score[s["viscosity"]] for s in recorded["active_learning"]["samples"])

    with (out / "rounds.csv").open() as handle:
        rounds = list(csv.DictReader(handle))
    assert [(r["strategy"], r["round"]) for r in rounds] == [("active", "0"), ("active", "1"), ("random", "0"),
                                                            ("random", "1")]
    assert float(rounds[1]["cost_total"]) == pytest.approx(float(rounds[0]["cost_total"]) + float(rounds[1]["cost_round"]),
                                                           rel=1e-5)  # the table is written to 6 digits
    with (out / "results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    ensemble = [r for r in results if r["model"] == "active/round-1"]
    assert {r["split"] for r in ensemble} == {"test_ood", "test_id"}
    coverage = [float(r["value"]) for r in ensemble if r["metric"].startswith("coverage_")]
    assert len(coverage) == 9 * (3 + 3) * 4 and all(0 <= c <= 1 for c in coverage)

    # A finished run is never redone.
    fits["count"] = 0
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 0
    assert fits["count"] == 0


@pytest.mark.parametrize("changes, data_changes, message", [
    ({"ensemble": 1}, None, "ensemble: must be an integer >= 2"),
    ({"budget_per_round": 0.5}, None, "budget_per_round: 0.5 is smaller than one batch"),
    ({"target": "test_far"}, None, "target: split 'test_far' is not in"),
    ({"candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 1_000_000_000}}, None,
     "candidates.pool: must be an integer in [2, 100000]"),
    ({"candidates": {"viscosity": {"log_uniform": [1.0e-5, 2.0e-2]}, "pool": 4}},
     {"forcing": {"kind": "fno", "amplitude": 10.0}}, "candidates.viscosity: the solver cannot resolve ν = 1e-05"),
])
def test_bad_input_is_one_line_before_anything_is_trained(tmp_path, fits, capsys, changes, data_changes, message):
    config, out = active_config(tmp_path, data_changes, **changes), tmp_path / "out"
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("error: ") and message in error[-1], error
    assert fits["count"] == 0
    assert not (out / "data").exists() and not (out / "loops").exists()


def test_an_out_directory_of_another_config_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "active.yaml").write_text("rounds: 7\n")
    config = active_config(tmp_path)
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 2
    assert "--out:" in capsys.readouterr().err
    assert (out / "active.yaml").read_text() == "rounds: 7\n"


@pytest.mark.parametrize("value, message", [("1e-3", "not a quoted string"), (float("nan"), "finite")])
def test_the_active_config_keeps_the_one_number_rule(tmp_path, fits, capsys, value, message):
    """It used to take the quoted "1e-3" for a number, unlike the design config."""
    config = active_config(tmp_path, candidates={"viscosity": {"log_uniform": [value, 2.0e-2]}, "pool": 4})
    # yaml.safe_dump writes the string "1e-3" unquoted (YAML 1.1 reads it as a string): quote it
    config.write_text(config.read_text().replace("- 1e-3", "- '1e-3'"))
    assert main(["active", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "candidates.viscosity.log_uniform[0]" in line and message in line
    assert fits["count"] == 0
