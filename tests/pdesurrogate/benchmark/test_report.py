"""The benchmark's aggregation (summary.csv) and report (report.md, figures) on a hand-built output directory."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
import torch

from pdesurrogate.evaluation.metrics import student_t_quantile
from pdesurrogate.benchmark.report import write_report
from pdesurrogate.benchmark.results import group_results
from pdesurrogate.benchmark.summary import viscosity_bin, SUMMARY_COLUMNS, correlation_times, ood_ratio
from pdesurrogate.data import DatasetReader
from pdesurrogate.evaluation.predictions import write_predictions
from pdesurrogate.evaluation.results import RESULT_COLUMNS
from pdesurrogate.evaluation.scoring import ScoringWindow, scored, trajectories

T1 = 12.706204736174707  # t_{0.975, 1}
WINDOW = ScoringWindow(score_from=2, horizon=3)
TIMES = (0.5, 0.75, 1.0)  # frames 2, 3, 4 of the fixture (save interval 0.25)
SPLITS = ("test_id", "test_ood")
META = {"command": "pdesurrogate benchmark ood --out OUT", "commit": "abc1234", "machine": "test machine",
        "train_viscosity": [0.01, 0.02], "id_split": "test_id", "ood_splits": ["test_ood", "test_ood_high"],
        "sweep_split": "sweep", "score_from": 2, "horizon": 3, "headline_metric": "rel_l2"}


def offsets(sample: int, step: int) -> float:
    """Per-sample and per-step variation whose mean over the two samples and three steps is zero."""
    return 0.5 * (step - 2) + 0.2 * (sample - 0.5)


def rel_l2(model: str, seed, split: str, sample: int, step: int) -> float:
    """Hand-chosen per-seed means (the values of ``vorticity``; ``u`` has ten times them)."""
    if model == "fno":
        level = {("test_id", 0): 1.0, ("test_id", 1): 3.0, ("test_ood", 0): 2.0, ("test_ood", 1): 9.0}[split, seed]
        return level + offsets(sample, step)
    if model == "unet":
        if split == "test_id":
            return {0: 0.5, 1: 0.52}[seed]
        if seed == 1 and sample == 1:
            return math.nan if step == 2 else 5.0  # diverged: excluded, counted
        return {0: 1.0, 1: 2.0}[seed]
    if model == "bad":
        return 0.4 if split == "test_id" else (math.inf if step == 1 else math.nan)
    return {("persistence", "test_id"): 1.2, ("persistence", "test_ood"): 1.6}.get((model, split), 1.0)


def correlation(model: str, step: int) -> float:
    if model == "training_mean":
        return math.nan  # a constant prediction has no correlation
    if model == "persistence":
        return 1.0 - 0.05 * step  # 0.95, 0.90, 0.85: never below 0.8 within the horizon
    return 1.0 - 0.1 * step  # 0.9, 0.8, 0.7: first below 0.8 at step 3 (t = 1.0)


RUNS = {"fno": (0, 1), "unet": (0, 1), "bad": (0,)}


def results_rows(reader: DatasetReader):
    rows = []
    runs = [(m, s) for m, seeds in RUNS.items() for s in seeds] + [("persistence", None), ("training_mean", None)]
    for model, seed in runs:
        role = "model" if seed is not None else "baseline"
        repeats = 2 if seed is None else 1  # the baselines are scored again beside every run
        for _ in range(repeats):
            for split in SPLITS:
                viscosity = reader.split(split).parameters["viscosity"]
                for sample in (0, 1):
                    for step, time in enumerate(TIMES, start=1):
                        base = (model, role, "" if seed is None else seed, "", split, sample,
                                float(viscosity[sample]), step, time)
                        value = rel_l2(model, seed, split, sample, step)
                        rows.append((*base, "vorticity", "rel_l2", value))
                        rows.append((*base, "u", "rel_l2", 10 * value))
                        rows.append((*base, "vorticity", "correlation",
                                     math.nan if model == "bad" and split == "test_ood" else correlation(model, step)))
    return rows


@pytest.fixture(scope="module")
def benchmark(request, tmp_path_factory):
    """OUT with results.csv, predictions of every run, speed.json; the report written once."""
    threads = torch.get_num_threads()
    # Module scope runs before the conftest's one_thread fixture; two threads on the shared cores make
    # the dataset (if this module is the first to ask for it) and the spectra many times slower.
    torch.set_num_threads(1)
    try:
        dataset = request.getfixturevalue("ns_dataset")
        yield build_benchmark(dataset, tmp_path_factory.mktemp("benchmark"))
    finally:
        torch.set_num_threads(threads)


def build_benchmark(ns_dataset, out):
    reader = DatasetReader(ns_dataset)
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        writer.writerows(results_rows(reader))
    generator = np.random.default_rng(0)
    for split in SPLITS:
        info = reader.split(split)
        samples, fields = next(trajectories(info, ["vorticity"]))
        truth = scored(fields, WINDOW).numpy()
        for model, seeds in RUNS.items():
            for seed in seeds:
                noise = 0.05 * (seed + 1) * truth.std() * generator.standard_normal(truth.shape)
                prediction = truth + noise
                if model == "bad" and split == "test_ood":
                    prediction = np.full_like(truth, np.nan)
                write_predictions(out / "runs" / model / f"seed-{seed}" / "predictions" / f"{split}.nc",
                                  prediction.astype(np.float32), info, samples, ["vorticity"], WINDOW, model)
    (out / "speed.json").write_text(json.dumps({"device": "cpu", "surrogate": {"fno": 0.5, "unet": 2.0},
                                                "solver_seconds": 10.0, "trajectories": 2, "frames": 3,
                                                "sim_resolution": 32}))
    report = write_report(out, ns_dataset, META)
    return out, report


def summary(out):
    with (out / "summary.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS
        return {(r["model"], r["split"], r["variable"], r["metric"], r["step"]): r for r in reader}


def numbers(row):
    return float(row["mean"]), float(row["ci95_low"]), float(row["ci95_high"]), int(row["n_seeds"]), \
        int(row["diverged_samples"])


def test_student_t_quantiles():
    assert student_t_quantile(0.975, 1) == pytest.approx(T1, rel=1e-10)
    assert student_t_quantile(0.975, 4) == pytest.approx(2.776445105197799, rel=1e-10)
    assert student_t_quantile(0.975, 1000) == pytest.approx(1.962339, rel=1e-6)


def test_summary_means_and_confidence_intervals(benchmark):
    out, _ = benchmark
    rows = summary(out)
    # Per-seed means 1 and 3 → mean 2, half-width t_{0.975,1} · √2 / √2.
    mean, low, high, n, diverged = numbers(rows["fno", "test_id", "vorticity", "rel_l2", "all"])
    assert (mean, n, diverged) == (pytest.approx(2.0), 2, 0)
    assert (low, high) == (pytest.approx(2.0 - T1), pytest.approx(2.0 + T1))
    # Step 1: per-seed means 0.5 and 2.5 (mean over samples at that step).
    mean, low, high, n, _ = numbers(rows["fno", "test_id", "vorticity", "rel_l2", "1"])
    assert (mean, low, high, n) == (pytest.approx(1.5), pytest.approx(1.5 - T1), pytest.approx(1.5 + T1), 2)
    assert {k[4] for k in rows if k[:4] == ("fno", "test_id", "vorticity", "rel_l2")} == {"all", "1", "2", "3"}
    # Baselines: one seed, no interval, repeated rows counted once.
    mean, low, high, n, _ = numbers(rows["persistence", "test_id", "vorticity", "rel_l2", "all"])
    assert mean == pytest.approx(1.2) and math.isnan(low) and math.isnan(high) and n == 1


def test_variables_are_never_summed(benchmark):
    out, _ = benchmark
    rows = summary(out)
    assert {k[2] for k in rows} == {"vorticity", "u"}
    for key, row in rows.items():
        if key[2] == "u" and key[3] == "rel_l2" and key[0] != "bad":
            twin = rows[(key[0], key[1], "vorticity", *key[3:])]
            assert float(row["mean"]) == pytest.approx(10 * float(twin["mean"]))


def test_diverged_samples_are_counted_and_excluded(benchmark):
    out, report = benchmark
    rows = summary(out)
    # unet seed 1 on test_ood: sample 1 has a NaN → its mean is sample 0's 2.0; seed 0 gives 1.0.
    mean, low, high, n, diverged = numbers(rows["unet", "test_ood", "vorticity", "rel_l2", "all"])
    assert (mean, n, diverged) == (pytest.approx(1.5), 2, 1)
    assert high - mean == pytest.approx(T1 * 0.5)
    assert int(rows["unet", "test_ood", "vorticity", "rel_l2", "1"]["diverged_samples"]) == 1
    # Every sample of "bad" diverged (inf and nan): mean NaN, no seed left.
    mean, _, _, n, diverged = numbers(rows["bad", "test_ood", "vorticity", "rel_l2", "all"])
    assert math.isnan(mean) and n == 0 and diverged == 2
    assert numbers(rows["bad", "test_id", "vorticity", "rel_l2", "all"])[0] == pytest.approx(0.4)
    text = report.read_text()
    assert "| test_ood | bad | vorticity | 2 of 2 | 0 |" in text
    assert "| test_ood | unet | vorticity | 1 of 4 | 1 |" in text


def test_ood_id_ratio_per_seed(benchmark):
    out, report = benchmark
    results = group_results(out / "results.csv")
    ratio = ood_ratio(results, "fno", "vorticity", "rel_l2", "test_id", "test_ood")
    # Per seed 2/1 and 9/3 → 2.5 ± t · 0.7071 / √2 (not 5.5 / 2 = 2.75, the ratio of the means).
    assert (ratio.mean, ratio.half_width, ratio.n) == (pytest.approx(2.5), pytest.approx(T1 / 2), 2)
    assert "| fno | vorticity | 2.5 ± 6.4 |" in report.read_text()


def test_correlation_time_counts_a_never_crossing_sample_at_the_horizon_end(benchmark):
    out, _ = benchmark
    results = group_results(out / "results.csv")
    times, censored = correlation_times(results, "fno", "vorticity", SPLITS)
    # one point per viscosity bin (a factor 10^(1/8) wide), drawn at the bin's geometric centre
    assert {nu: i.mean for nu, i in times.items()} == {viscosity_bin(0.005): pytest.approx(1.0),
                                                        0.01: pytest.approx(1.0),
                                                        viscosity_bin(0.02): pytest.approx(1.0)}
    assert viscosity_bin(0.02) == pytest.approx(10 ** -1.75, rel=1e-5)
    assert not any(censored.values())
    times, censored = correlation_times(results, "persistence", "vorticity", SPLITS)
    assert all(i.mean == pytest.approx(TIMES[-1]) for i in times.values()) and all(censored.values())
    assert correlation_times(results, "training_mean", "vorticity", SPLITS)[0] == {}


def test_report_links_every_figure_and_each_exists(benchmark):
    out, report = benchmark
    text = report.read_text()
    links = set(re.findall(r"\((figures/[^)\s]+\.png)\)", text))
    expected = {"figures/error_vs_step_test_id.png", "figures/error_vs_step_test_ood.png",
                "figures/error_vs_viscosity.png", "figures/spectra_test_id.png", "figures/spectra_test_ood.png",
                "figures/snapshots_lowest_viscosity.png", "figures/correlation_time_vs_viscosity.png"}
    assert links == expected
    for link in links:
        assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {p.name for p in (out / "figures").iterdir()} == {link.split("/")[1] for link in links}
    assert not list(out.rglob("*.tmp"))
    for needed in (META["command"], META["commit"], META["machine"], "20×", "5×", "## How the numbers are aggregated"):
        assert needed in text


def test_ranking_and_baselines_in_the_report(benchmark):
    _, report = benchmark
    text = report.read_text()
    # test_id vorticity: bad 0.4 (1 seed) < unet 0.51 ± … < training_mean 1 < persistence 1.2 < fno 2 ± 12.7
    line = next(l for l in text.splitlines() if l.startswith("- **test_id**, vorticity:"))
    order = [name for name in ("bad", "unet", "training_mean", "persistence", "fno") if name in line]
    assert sorted(order, key=line.index) == ["bad", "unet", "training_mean", "persistence", "fno"]
    assert "bad < unet (CIs overlap: not separable) < training_mean (CIs disjoint: separable)" in line
    assert "| test_id | unet | vorticity |" in text
    beats = next(l for l in text.splitlines() if l.startswith("| test_id | unet | vorticity |"))
    assert beats.endswith("| yes (separable) |")
    fno = next(l for l in text.splitlines() if l.startswith("| test_id | fno | vorticity |"))
    assert fno.endswith("| no |")


def test_without_predictions_speed_or_dataset_the_report_links_only_what_it_drew(ns_dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    rows = [r for r in results_rows(DatasetReader(ns_dataset))
            if r[RESULT_COLUMNS.index("split")] == "test_id" and r[0] in ("fno", "persistence")]
    with (out / "results.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([RESULT_COLUMNS, *rows])
    text = write_report(out, tmp_path / "no-dataset", META).read_text()
    links = set(re.findall(r"\((figures/[^)\s]+\.png)\)", text))
    assert links == {"figures/error_vs_step_test_id.png", "figures/error_vs_viscosity.png",
                     "figures/correlation_time_vs_viscosity.png"}
    assert all((out / link).is_file() for link in links)
    assert "not drawn: spectra_test_id.png" in text and "No `speed.json`" in text
    assert "Not computed: the results need" in text  # no out-of-distribution split scored
    assert numbers(summary(out)["fno", "test_id", "vorticity", "rel_l2", "all"])[:4] == \
        (pytest.approx(2.0), pytest.approx(2.0 - T1), pytest.approx(2.0 + T1), 2)
