"""`pdesurrogate benchmark` end to end on a tiny dataset: files, resumption, selection on val only, bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from data_gen.coarse_solver import CoarseSolver
from data_gen.dataset import parse_config

from pdesurrogate.training import fit as training_fit
from pdesurrogate.cli import main

from ..conftest import NAVIER_STOKES

FIT = Path(__file__).resolve().parents[3] / "configs" / "fit"
TINY_FIT = ["--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4",
            "--data.rollout_steps", "3", "--data.batch_size", "8", "--trainer.limit_train_batches", "1",
            "--trainer.limit_val_batches", "1", "--trainer.enable_model_summary", "false"]


def bench_config(directory: Path, **changes) -> Path:
    (directory / "data.yaml").write_text(NAVIER_STOKES)
    raw = {"data": str(directory / "data.yaml"),
           "models": [str(FIT / "ns_fno_small.yaml"), str(FIT / "ns_unet_cond_small.yaml")],
           "seeds": 3, "budget": {"epochs": 2}, "horizon": 4, "splits": ["test_id", "test_ood"],
           "fit_overrides": TINY_FIT}
    raw.update(changes)
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def counted_trainings(monkeypatch):
    """Counts trainings, and records every shard the data module opens while one runs: the reader's
    header reads (``DatasetReader._open``) and the windows' field reads (``TrajectoryWindows._handle``)."""
    from pdesurrogate.data.directory import DatasetReader
    from pdesurrogate.data.windows import TrajectoryWindows

    log = {"fits": 0, "opened_while_training": []}
    train, open_header, open_fields = training_fit.run_lightning, DatasetReader._open, TrajectoryWindows._handle
    training = [False]

    def counting(argv):
        log["fits"] += 1
        training[0] = True
        try:
            return train(argv)
        finally:
            training[0] = False

    def header(self, path, field):
        if training[0]:
            log["opened_while_training"].append(str(path))
        return open_header(self, path, field)

    def fields(self, shard):
        if training[0]:
            log["opened_while_training"].append(str(self.split.shards[shard].path))
        return open_fields(self, shard)

    monkeypatch.setattr(training_fit, "run_lightning", counting)
    monkeypatch.setattr(DatasetReader, "_open", header)
    monkeypatch.setattr(TrajectoryWindows, "_handle", fields)
    return log


def test_a_tiny_benchmark_writes_every_file_and_resumes(tmp_path, counted_trainings, capsys):
    config, out = bench_config(tmp_path), tmp_path / "out"
    assert main(["benchmark", str(config), "--out", str(out), "--no-progress"]) == 0
    assert counted_trainings["fits"] == 6
    # Selection read the train and val splits only, never a test split.
    opened = counted_trainings["opened_while_training"]
    assert any("/data/val/" in p for p in opened) and any("/data/train/" in p for p in opened)
    assert not [p for p in opened if re.search(r"/data/test_[^/]*/shard", p)]

    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["model", "role", "seed", "member", "split", "sample", "viscosity", "step", "time",
                             "variable", "metric", "value"]
    assert {(r["model"], r["role"]) for r in rows} == {
        ("ns_fno_small", "model"), ("ns_unet_cond_small", "model"), ("persistence", "baseline"),
        ("training_mean", "baseline"), ("coarse_solver", "baseline"), ("ns_fno_small/ensemble", "ensemble"),
        ("ns_unet_cond_small/ensemble", "ensemble")}
    assert {r["seed"] for r in rows if r["model"] == "ns_fno_small"} == {"0", "1", "2"}
    assert {r["seed"] for r in rows if r["role"] != "model"} == {""} and {r["member"] for r in rows} == {""}
    assert {r["split"] for r in rows} == {"test_id", "test_ood"}
    assert {int(r["step"]) for r in rows} == {1, 2, 3, 4}
    # score_from defaults to the largest history (2): the first scored frame is t = 0.5, never context.
    assert min(float(r["time"]) for r in rows) == 0.5
    # each (model, seed, split, sample, step, variable, metric) exactly once
    keys = [(r["model"], r["seed"], r["split"], r["sample"], r["step"], r["variable"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys))

    for name in ("summary.csv", "report.md", "speed.json", "benchmark.yaml", "ensemble_summary.csv",
                 "ensemble_by_viscosity.csv"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "## Ensembles" in report and "figures/ensemble_reliability.png" in report
    with (out / "ensemble_summary.csv").open() as handle:
        ensembles = {(r["model"], r["split"]): r for r in csv.DictReader(handle)}
    assert set(ensembles) == {(m, s) for m in ("ns_fno_small/ensemble", "ns_unet_cond_small/ensemble")
                              for s in ("test_id", "test_ood")}
    assert all(r["members"] == "3" for r in ensembles.values())
    # The ensemble's rel_l2 is that of the mean of its 3 members' predictions, recomputed here from the
    # predictions files and the dataset with xarray alone.
    mean = json.loads((out / "data" / "stats.json").read_text())["variables"]["vorticity"]["mean"]
    shards = sorted((out / "data" / "test_ood").glob("shard-*.nc"))
    truth = xr.concat([xr.open_dataset(p, decode_times=False) for p in shards], "sample")
    members = [xr.open_dataset(out / "runs" / "ns_fno_small" / f"seed-{s}" / "predictions" / "test_ood.nc",
                               decode_times=False)
               for s in range(3)]
    centre = sum(m["vorticity"].values.astype(np.float64) for m in members) / 3
    frames = [int(np.argmin(np.abs(truth["time"].values - t))) for t in members[0]["time"].values]
    target = truth["vorticity"].values[members[0]["sample"].values][:, frames].astype(np.float64)
    expected = (np.sqrt(((centre - target) ** 2).sum(axis=(-2, -1)))
                / np.sqrt(((target - mean) ** 2).sum(axis=(-2, -1))))  # (sample, step)
    written = {(int(r["sample"]), int(r["step"])): float(r["value"]) for r in rows
               if (r["model"], r["split"], r["metric"], r["variable"]) == ("ns_fno_small/ensemble", "test_ood",
                                                                           "rel_l2", "vorticity")}
    assert len(written) == expected.size
    for (i, sample) in enumerate(members[0]["sample"].values):
        for step in range(expected.shape[1]):
            assert written[int(sample), step + 1] == pytest.approx(expected[i, step], rel=1e-4)
    # Equivariance: every model and the solver under the probe maps; the solver commutes with the
    # declared group's maps (float32 round-off) and not with the others.
    assert "## Equivariance" in report and "figures/equivariance.png" in report
    with (out / "equivariance.csv").open() as handle:
        equivariance = list(csv.DictReader(handle))
    assert {r["model"] for r in equivariance} == {"ns_fno_small", "ns_unet_cond_small", "solver"}
    solver = [r for r in equivariance if r["model"] == "solver"]
    assert len(solver) == 2 * 2 * 9  # splits × (one step, rollout) × probe maps
    assert all((float(r["value"]) < 1e-4) == (r["in_group"] == "1") for r in solver), solver
    for figure in re.findall(r"\]\((figures/[^)]+\.png)\)", report):
        assert (out / figure).is_file(), figure
    assert {"error_vs_viscosity.png", "snapshots_lowest_viscosity.png", "correlation_time_vs_viscosity.png",
            "error_vs_step_test_ood.png", "spectra_test_ood.png"} <= {p.name for p in (out / "figures").iterdir()}
    for model in ("ns_fno_small", "ns_unet_cond_small"):
        for seed in range(3):
            run = out / "runs" / model / f"seed-{seed}"
            done = json.loads((run / "done.json").read_text())
            assert done["checkpoint"].startswith(f"runs/{model}/seed-{seed}/checkpoints/best-epoch")
            assert {p.name for p in (run / "predictions").iterdir()} == {"test_id.nc", "test_ood.nc"}
            # The scored checkpoint is the one selected on val, not the last epoch's.
            with next((run / "logs").rglob("metrics.csv")).open() as handle:
                val = [(float(r["val/rollout_rel_l2"]), int(r["epoch"])) for r in csv.DictReader(handle)
                       if r.get("val/rollout_rel_l2")]
            assert len(val) == 2 and done["checkpoint"].endswith(f"best-epoch{min(val)[1]:03d}.ckpt")
    # coarse_solver rows equal the dataset's own solver on the saved grid, recomputed here from the
    # manifest's config, started from the last context frame (1) over the 4 scored frames.
    check_coarse_solver_rows(out, rows)
    # The finer grids between saved (16²) and simulated (32²) are scored and timed beside it.
    seconds = json.loads((out / "baselines" / "solver_seconds.json").read_text())
    assert {n: r["resolution"] for n, r in seconds["runs"].items()} == {"coarse_solver": 16, "solver_24": 24,
                                                                       "solver_32": 32}
    with (out / "baselines" / "solver_resolutions.csv").open() as handle:
        assert {r["model"] for r in csv.DictReader(handle)} == {"solver_24", "solver_32"}
    assert {"error_vs_cost_test_id.png", "error_vs_cost_test_ood.png"} <= {p.name for p in (out / "figures").iterdir()}
    assert "## Headline: does each model beat the coarse solver?" in report
    # The budget is 2 epochs and no clock: every run completed exactly 2, and none is flagged.
    for model in ("ns_fno_small", "ns_unet_cond_small"):
        for seed in range(3):
            done = json.loads((out / "runs" / model / f"seed-{seed}" / "done.json").read_text())
            assert done["budget"]["epochs_completed"] == done["budget"]["max_epochs"] == 2
            assert not done["budget"]["cut_short"] and done["budget"]["max_time_seconds"] is None
    assert "Every run completed its epochs." in report and "cut short of their epoch budget" not in report
    speed = json.loads((out / "speed.json").read_text())
    assert speed["coarse_solver_seconds"] > 0
    assert speed["sim_resolution"] == 32 and speed["solver_seconds"] > 0
    assert set(speed["surrogate"]) == {"ns_fno_small", "ns_unet_cond_small"}
    err = capsys.readouterr().err
    assert "[6/6] ns_unet_cond_small seed 2: trained in" in err and "ETA" in err

    # A second run reuses every finished training; a killed one (no done.json) is redone alone. Told
    # by the files: every other run's checkpoints and results keep their bytes and modification times.
    killed = out / "runs" / "ns_fno_small" / "seed-1"
    kept = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "runs").rglob("*")
            if p.is_file() and p.suffix in (".ckpt", ".csv", ".json", ".nc") and killed not in p.parents}
    (killed / "done.json").unlink()
    (out / "report.md").unlink()
    assert main(["benchmark", str(config), "--out", str(out), "--no-progress"]) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in kept} == kept
    assert (killed / "done.json").is_file() and (out / "report.md").is_file()
    assert counted_trainings["fits"] == 7


def check_coarse_solver_rows(out: Path, rows: list[dict]) -> None:
    manifest = json.loads((out / "data" / "manifest.json").read_text())
    stats = json.loads((out / "data" / "stats.json").read_text())["variables"]["vorticity"]["mean"]
    solver = CoarseSolver(parse_config(manifest["config"]))
    for split in ("test_id", "test_ood"):
        with xr.open_dataset(out / "data" / split / "shard-00000.nc", decode_times=False) as ds:
            truth, viscosity = ds["vorticity"].values, ds["viscosity"].values
        frames = solver.rollout(torch.from_numpy(truth[:, 1:2]), solver.parameters({"viscosity": viscosity}), 4)
        prediction = frames[:, :, 0].to(torch.float32).double().numpy()
        scored = truth[:, 2:6].astype(np.float64)
        expected = (np.linalg.norm((prediction - scored).reshape(*scored.shape[:2], -1), axis=-1)
                    / np.linalg.norm((scored - stats).reshape(*scored.shape[:2], -1), axis=-1))
        got = {(int(r["sample"]), int(r["step"])): float(r["value"]) for r in rows
               if r["model"] == "coarse_solver" and r["split"] == split and r["metric"] == "rel_l2"}
        assert len(got) == expected.size and all(r["seed"] == "" for r in rows if r["model"] == "coarse_solver")
        for (sample, step), value in got.items():
            assert value == pytest.approx(expected[sample, step - 1], rel=1e-5)


def test_sharded_runs_share_the_pairs_and_the_last_reports(tmp_path, counted_trainings):
    config, out = bench_config(tmp_path, models=[str(FIT / "ns_fno_small.yaml")]), tmp_path / "out"
    assert main(["benchmark", str(config), "--out", str(out), "--shard", "1/2", "--no-progress"]) == 0
    assert counted_trainings["fits"] == 1  # seed 1 of seeds 0, 1, 2
    assert sorted(p.name for p in (out / "runs" / "ns_fno_small").iterdir()) == ["seed-1"]
    assert not (out / "report.md").exists()
    assert main(["benchmark", str(config), "--out", str(out), "--shard", "0/2", "--no-progress"]) == 0
    assert counted_trainings["fits"] == 3 and (out / "report.md").is_file()


@pytest.mark.parametrize("change, named", [
    ({"models": ["configs/fit/missing.yaml"]}, "models[0]: configs/fit/missing.yaml does not exist"),
    ({"splits": ["test_id", "test_far"]}, "splits: ['test_far'] not in"),
    ({"horizon": 9}, "horizon: score_from 2 + horizon 9 needs 11 frames"),
    ({"score_from": 1}, "score_from: 1 is below the history 2 of ns_fno_small"),
    ({"models": [str(FIT / "ns_fno_small.yaml"), str(FIT / "swe_fno_small.yaml")]},
     "models: swe_fno_small predicts ['height', 'u', 'v'] but ns_fno_small predicts ['vorticity']"),
    ({"seeds": 2}, "seeds: must be a count >= 3"),
    ({"budgt": {"epochs": 1}}, "budgt: unknown key (did you mean 'budget'?)"),
    ({"splits": ["val"]}, "splits: 'val' is the validation split"),
    ({"solver_resolutions": [16, 64]}, "solver_resolutions: [64] lie outside 16 … 32"),
    ({"budget": {"epochs": 2, "minutes": 1}}, "budget.minutes: is now max_minutes, a safety cap only"),
])
def test_bad_benchmark_configs_are_one_line_before_any_work(change, named, tmp_path, capsys, counted_trainings):
    config = bench_config(tmp_path, **change)
    assert main(["benchmark", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert named in line
    assert counted_trainings["fits"] == 0 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["ns_ood_small", "ns_ood", "ns_kolmogorov_ood", "swe_ood",
                                  "ns_kolmogorov_under_resolved_small", "ns_kolmogorov_under_resolved"])
def test_shipped_benchmark_configs_are_valid(name):
    from pdesurrogate.benchmark.config import parse_benchmark

    root = Path(__file__).resolve().parents[3]
    config = parse_benchmark(root / "configs" / "bench" / f"{name}.yaml")
    networks = [m for m in config.models if "hybrid" not in m.name]
    hybrids = [m for m in config.models if "hybrid" in m.name]
    assert len(networks) == 4 and len(config.seeds) >= 3
    assert {m.conditioning for m in networks} == {(), ("viscosity",)}  # conditioned and not
    # The hybrids (the dataset's solver plus a correction, with and without log ν in the network)
    # on the Navier–Stokes configs with a coarse-grid case to make: resolved and under-resolved.
    assert len(hybrids) == (2 if name in ("ns_ood_small", "ns_ood", "ns_kolmogorov_under_resolved_small",
                                          "ns_kolmogorov_under_resolved") else 0)
    assert all(m.conditioning == ("viscosity",) for m in hybrids)
    assert {"test_id", "test_ood", "test_ood_high", "sweep"} <= set(config.splits)


def test_another_configs_out_is_refused_and_left_as_it_was(tmp_path, counted_trainings, capsys):
    """A rerun into an OUT holding another config's finished runs used to report them as its own."""
    one_epoch = bench_config(tmp_path, models=[str(FIT / "ns_fno_small.yaml")], budget={"epochs": 1})
    out = tmp_path / "out"
    assert main(["benchmark", str(one_epoch), "--out", str(out), "--shard", "1/3", "--no-progress"]) == 0
    assert counted_trainings["fits"] == 1
    done = out / "runs" / "ns_fno_small" / "seed-1" / "done.json"
    before = (done.read_bytes(), done.stat().st_mtime_ns)
    two_epochs = tmp_path / "two.yaml"
    two_epochs.write_text(one_epoch.read_text().replace("epochs: 1", "epochs: 2"))
    for argv in (["benchmark", str(two_epochs), "--out", str(out), "--no-progress"],
                 ["benchmark", str(two_epochs), "--out", str(out), "--report-only"]):
        assert main(argv) == 2
        (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert "--out:" in line and "budget.epochs: 1 there, 2 here" in line
    assert counted_trainings["fits"] == 1
    assert (done.read_bytes(), done.stat().st_mtime_ns) == before
    assert not (out / "report.md").exists()


def test_report_only_on_a_directory_without_a_benchmark_is_refused(tmp_path, capsys):
    config, out = bench_config(tmp_path), tmp_path / "empty"
    out.mkdir()
    assert main(["benchmark", str(config), "--out", str(out), "--report-only"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "holds no benchmark run" in line
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("name", ["ns_symmetry_small_n8", "ns_symmetry_small_n32", "ns_symmetry_small_n8_steps"])
def test_symmetry_experiment_configs_are_valid(name):
    from pdesurrogate.benchmark.config import parse_benchmark

    root = Path(__file__).resolve().parents[3]
    config = parse_benchmark(root / "configs" / "bench" / f"{name}.yaml")
    arms = {m.name for m in config.models}
    assert {"ns_fno_sym_none_small", "ns_fno_sym_declared_small"} <= arms and len(config.seeds) >= 3
    assert "--data.train_samples" in config.fit_overrides
    for model in config.models:
        fit = yaml.safe_load(model.config.read_text())
        arm = model.name.removeprefix("ns_fno_sym_").removesuffix("_small")
        expected = "none" if arm == "averaged" else arm
        assert fit["data"].get("augmentation", "none") == expected
