"""`pdesurrogate active` end to end on a tiny dataset: every file, a pool that verifies, round datasets
that are the chosen pool trajectories, resumption after a kill (finished rounds untouched on disk),
a fixed cost model that makes a rerun choose identically, and each bad input as one line."""

from __future__ import annotations

import csv
import json
import shutil
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
           "candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 24},
           "cost": {"power_law": -0.5}, "acquisition": {"per_unit_cost": True},
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


def _stamps(out: Path) -> dict[str, int]:
    """mtime of every file a finished round or the pool leaves behind."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob("*"))
            if p.is_file() and ("loops" in p.parts or "pool" in p.parts)}


def test_a_tiny_active_run_writes_every_file_and_resumes_after_a_kill(tmp_path, fits):
    config, out = active_config(tmp_path), tmp_path / "out"
    # Killed in the second member of the active loop's round 1 (fits: 2 initial, then active).
    fits["kill_at"] = 4
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 130
    initial = out / "loops" / "initial" / "seed-0" / "round-0"
    before = {k: v for k, v in _stamps(out).items() if k.startswith(("pool", str(initial.relative_to(out))))}
    acquisition = json.loads((out / "loops" / "active" / "seed-0" / "round-1" / "acquisition.json").read_text())

    fits.update(count=0, kill_at=None)
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 0
    # The killed member, then two for each baseline; round 0 and the pool are not redone: their files
    # (checkpoints, predictions, results, done.json) are the same files, unwritten since.
    assert fits["count"] == 5
    after = _stamps(out)
    assert all(after[k] == v for k, v in before.items()) and len(before) > 10
    assert json.loads((out / "loops" / "active" / "seed-0" / "round-1" / "acquisition.json").read_text()) == acquisition

    for name in ("active.yaml", "pool.json", "rounds.csv", "results.csv", "calibration.csv", "recalibration.csv",
                 "calibration_by_viscosity.csv", "reliability.csv", "budget.json", "summary.json", "report.md",
                 "figures/error_vs_budget.png", "figures/chosen_viscosities.png", "figures/reliability.png",
                 "figures/spread_vs_error.png"):
        assert (out / name).is_file(), name
    assert verify(out / "data").clean and verify(out / "pool").clean
    assert list(out.rglob("best-epoch*.ckpt")) and not list(out.rglob("last.ckpt"))  # finished members keep one

    # Each round's data are the chosen pool trajectories, linked with their checksums; the manifest
    # records the acquisition.
    pool = json.loads((out / "pool.json").read_text())
    shards = json.loads((out / "pool" / "manifest.json").read_text())["splits"]["train"]["shards"]
    target = (2.5e-3, 5.0e-3)
    for strategy in ("active", "random_pool", "random_target"):
        round_dir = out / "loops" / strategy / "seed-0" / "round-1"
        made = json.loads((round_dir / "acquisition.json").read_text())
        manifest = json.loads((round_dir / "data" / "manifest.json").read_text())
        assert [s["sha256"] for s in manifest["splits"]["train"]["shards"]] == [shards[i]["sha256"] for i in made["chosen"]]
        recorded = manifest["active_learning"]
        assert (recorded["strategy"], recorded["round"], recorded["seed"]) == (strategy, 1, 0)
        assert [s["pool_index"] for s in recorded["samples"]] == made["chosen"]
        assert sum(made["chosen_cost"]) <= 2 + 1e-9 and made["chosen"]
        assert made["chosen_viscosity"] == [pool["viscosity"][i] for i in made["chosen"]]
        if strategy == "random_target":
            assert all(target[0] <= v <= target[1] for v in made["chosen_viscosity"])
    # The fixed cost model is what pool.json holds: ν^-0.5 over its median.
    cost = np.asarray(pool["viscosity"]) ** -0.5
    assert pool["cost"] == pytest.approx((cost / np.median(cost)).tolist(), rel=1e-12)
    # The active choice is weighted by the score, the target density and (per_unit_cost) the cost.
    score, weight = np.array(acquisition["score"]), np.array(acquisition["weight"])
    assert np.all(score > 0) and acquisition["score_error_spearman"] is not None
    from pdesurrogate.active.selection import target_density
    expected = score * target_density(np.array(pool["viscosity"]), *target, 0.1) / np.array(pool["cost"])
    assert weight == pytest.approx(expected, rel=1e-9)

    with (out / "rounds.csv").open() as handle:
        rounds = list(csv.DictReader(handle))
    assert [(r["strategy"], r["round"]) for r in rounds] == [(s, str(k)) for s in ("active", "random_pool", "random_target")
                                                            for k in (0, 1)]
    assert float(rounds[1]["cost_total"]) == pytest.approx(float(rounds[1]["cost_round"]), rel=1e-5)
    with (out / "results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    ensemble = [r for r in results if r["model"] == "active/round-1"]
    assert {r["split"] for r in ensemble} == {"test_ood", "test_id"}  # never val, the calibration split
    coverage = [float(r["value"]) for r in ensemble if r["metric"].startswith("coverage_")]
    assert len(coverage) == 9 * (3 + 3) * 4 and all(0 <= c <= 1 for c in coverage)
    with (out / "recalibration.csv").open() as handle:
        recalibrated = list(csv.DictReader(handle))
    assert {r["method"] for r in recalibrated} == {"raw", "variance_scale", "conformal"}
    assert {r["split"] for r in recalibrated} == {"test_ood", "test_id"}

    # A finished run is never redone; nor is a round whose done.json stands when a later one is gone.
    last = out / "loops" / "random_target" / "seed-0" / "round-1" / "done.json"
    record = json.loads(last.read_text())
    last.unlink()
    stamps = {k: v for k, v in _stamps(out).items() if "random_target" not in k}
    fits["count"] = 0
    assert main(["active", str(config), "--out", str(out), "--no-progress"]) == 0
    assert fits["count"] == 0  # its members had finished: scored again, not retrained
    assert {k: v for k, v in _stamps(out).items() if "random_target" not in k} == stamps
    assert json.loads(last.read_text()) == record

    # A rerun from scratch with the fixed cost model chooses identically: the same pool prices, the
    # same round-0 ensemble (copied: training is not what is tested), the same draw.
    from pdesurrogate.active.config import parse_active
    from pdesurrogate.active.loop import ActiveLearning
    from pdesurrogate.active.pool import load_pool
    rerun = tmp_path / "rerun"
    rerun.mkdir()
    shutil.copytree(out / "data", rerun / "data")
    shutil.copytree(initial, rerun / "loops" / "initial" / "seed-0" / "round-0")
    loop = ActiveLearning(parse_active(config), rerun, progress=False)
    again = loop.acquire("active", 0, 1, load_pool(loop.config, rerun, loop.device, progress=False))
    assert (again["chosen"], again["weight"], again["cost"]) == (acquisition["chosen"], acquisition["weight"],
                                                                 acquisition["cost"])


@pytest.mark.parametrize("changes, data_changes, message", [
    ({"ensemble": 1}, None, "ensemble: must be an integer >= 2"),
    ({"budget_per_round": 0.5}, None, "budget_per_round: 0.5 is smaller than one batch"),
    ({"target": "test_far"}, None, "target: split 'test_far' is not in"),
    ({"candidates": {"viscosity": {"log_uniform": [1.0e-5, 2.0e-2]}, "pool": 24}},
     {"forcing": {"kind": "fno", "amplitude": 10.0}}, "candidates.viscosity: the solver cannot resolve ν = 1e-05"),
    ({"candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 3}, "rounds": 2}, None,
     "candidates.pool: 3 candidates are fewer than the total budget of 4 trajectories"),
    ({"candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 12}}, None,
     "candidates.pool: a batch of 2 trajectories is larger than 10 % of the pool (12)"),
    ({"candidates": {"viscosity": {"log_uniform": [2.5e-3, 2.0e-2]}, "pool": 10 ** 9}}, None,
     "candidates.pool: 1000000000 candidates of 10 frames at 16² hold 9.54e+03 GiB"),
    ({"acquisition": {"beta": -1}}, None, "acquisition.beta: must be a number >= 0"),
    ({"ablations": {"sharp": {"beta": -0.5}}}, None, "ablations.sharp.beta: must be a number >= 0"),
    ({"cost": {"per_candidate": [1.0] * 23}}, None,
     "cost.per_candidate: lists 23 costs for candidates.pool = 24 candidates (candidates 23-23 have no cost)"),
    ({"calibration": {"split": "test_id"}}, None, "calibration.split: 'test_id' is also a test split"),
    ({"calibration": {"split": "test_ood"}}, None, "calibration.split: 'test_ood' is also a test split"),
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
    config = active_config(tmp_path, candidates={"viscosity": {"log_uniform": [value, 2.0e-2]}, "pool": 24})
    # yaml.safe_dump writes the string "1e-3" unquoted (YAML 1.1 reads it as a string): quote it
    config.write_text(config.read_text().replace("- 1e-3", "- '1e-3'"))
    assert main(["active", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "candidates.viscosity.log_uniform[0]" in line and message in line
    assert fits["count"] == 0
