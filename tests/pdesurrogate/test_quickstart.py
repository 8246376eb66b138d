"""`pdesurrogate quickstart --fast` end to end: every stage, a report whose links all resolve and whose
reading matches the numbers, and a rerun that redoes nothing (or only what a kill left unfinished)."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict

import numpy as np
import pytest

from pdesurrogate.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart") / "demo"
    assert main(["quickstart", "--out", str(out), "--fast", "--no-progress"]) == 0
    return out


def per_seed_horizon_mean(results_csv, model: str, split: str) -> dict[str, float]:
    """Independently of the benchmark's code: mean over samples of the mean over scored frames."""
    per_sample = defaultdict(list)
    with open(results_csv) as handle:
        for row in csv.DictReader(handle):
            if (row["model"], row["split"], row["variable"], row["metric"]) == (model, split, "vorticity", "rel_l2"):
                per_sample[row["seed"], row["sample"]].append(float(row["value"]))
    seeds = defaultdict(list)
    for (seed, _), values in per_sample.items():
        seeds[seed].append(np.mean(values))
    return {seed: float(np.mean(v)) for seed, v in seeds.items()}


def test_quickstart_writes_a_report_whose_every_link_exists(quickstart):
    report = (quickstart / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", report)
    for required in ("sweep/navier_stokes_sweep.png", "benchmark/report.md", "benchmark/results.csv",
                     "design/design.json", "design/objective.png", "design/fields.png",
                     "benchmark/figures/error_vs_viscosity.png"):
        assert required in links, required
    for link in links:
        assert (quickstart / link).is_file() and (quickstart / link).stat().st_size > 0, link
    design = json.loads((quickstart / "design" / "design.json").read_text())
    assert set(design["routes"]) == {"surrogate-lbfgs", "solver-lbfgs", "surrogate-lbfgs-then-solver-lbfgs"}
    assert all(r["solver_calls"] > 0 for n, r in design["routes"].items() if "solver" in n)


def test_the_reading_is_computed_from_the_results(quickstart):
    report = (quickstart / "report.md").read_text()
    results = quickstart / "benchmark" / "results.csv"
    inside = per_seed_horizon_mean(results, "ns_fno_cond_small", "test_id")
    below = per_seed_horizon_mean(results, "ns_fno_cond_small", "test_ood")
    ratio = np.mean([below[s] / inside[s] for s in inside])
    line = next(line for line in report.splitlines() if line.startswith("- The conditioned FNO's error"))
    assert f"{ratio:.1f}× below the training range" in line, (ratio, line)
    design = json.loads((quickstart / "design" / "design.json").read_text())
    solver = design["routes"]["solver-lbfgs"]
    assert f"recovered ν = {solver['design']['viscosity']:.4g}" in report
    # The design ran through the viscosity-conditioned model with the lowest in-distribution error
    # (the unconditioned FNO may be better in distribution, but cannot be asked for a viscosity).
    conditioned = ["ns_fno_cond_small", "ns_unet_cond_small"]
    errors = {m: np.mean(list(per_seed_horizon_mean(results, m, "test_id").values())) for m in conditioned}
    chosen = min(errors, key=errors.get)
    assert f"runs/{chosen}/seed-0/" in design["checkpoint"]
    assert "viscosity" in design["surrogate"]["conditioning"]


def test_a_second_run_reuses_every_stage_and_a_killed_one_redoes_only_what_was_left(quickstart, capsys):
    files = {p: p.stat().st_mtime_ns for p in quickstart.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["quickstart", "--out", str(quickstart), "--fast", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count(": reused (") == 6, err
    assert {p: p.stat().st_mtime_ns for p in files} == files  # nothing rewritten

    # As if killed during the design stage: its record and the report are gone.
    record = json.loads((quickstart / "quickstart.json").read_text())
    del record["design"], record["report"]
    (quickstart / "quickstart.json").write_text(json.dumps(record))
    results = quickstart / "benchmark" / "results.csv"
    before = results.stat().st_mtime_ns
    assert main(["quickstart", "--out", str(quickstart), "--fast", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count(": reused (") == 4, err
    assert results.stat().st_mtime_ns == before  # the benchmark was not redone
    assert "design" in json.loads((quickstart / "quickstart.json").read_text())


def test_the_full_run_never_takes_a_fast_runs_stages_for_its_own(quickstart, capsys):
    files = {p: p.stat().st_mtime_ns for p in quickstart.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["quickstart", "--out", str(quickstart), "--no-progress"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "--out:" in line and "fast: True there, False here" in line
    assert {p: p.stat().st_mtime_ns for p in quickstart.rglob("*") if p.is_file()} == files
