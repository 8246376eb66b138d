"""The symmetry experiment's table: error in and out of distribution against training-set size per
arm, and each arm's equivariance error, from finished runs of configs/bench/ns_symmetry_small_n*.yaml.

    python benchmarks/symmetry_table.py runs/bench/ns_symmetry_small_n8 runs/bench/ns_symmetry_small_n32

Reads each OUT's summary.csv (rel_l2 of vorticity over the scored horizon: mean over samples, then
frames, per seed; mean and 95 % interval over seeds) and equivariance.csv (mean over seeds), and
prints a markdown table, then one JSON object with every number and each arm's change against
``none`` at the same size.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

ARM = re.compile(r"ns_fno_sym_(\w+?)_small$")


def _size(out: Path) -> int:
    text = (out / "benchmark.yaml").read_text()
    match = re.search(r'"--data.train_samples",\s*"(\d+)"', text)
    return int(match.group(1)) if match else -1


def read(out: Path) -> dict:
    errors, equivariance = {}, {}
    with (out / "summary.csv").open() as handle:
        for row in csv.DictReader(handle):
            arm = ARM.match(row["model"])
            if arm and row["metric"] == "rel_l2" and row["step"] == "all" and row["variable"] == "vorticity":
                errors[(arm.group(1), row["split"])] = (float(row["mean"]), float(row["ci95_low"]),
                                                        float(row["ci95_high"]), int(row["diverged_samples"]))
    sums: dict[tuple, list[float]] = {}
    with (out / "equivariance.csv").open() as handle:
        for row in csv.DictReader(handle):
            arm = ARM.match(row["model"])
            name = arm.group(1) if arm else row["model"]
            member = "in" if row["in_group"] == "1" else "out"
            sums.setdefault((name, row["split"], row["horizon"], member), []).append(float(row["value"]))
    equivariance = {k: sum(v) / len(v) for k, v in sums.items()}
    return {"size": _size(out), "errors": errors, "equivariance": equivariance}


def main(outs: list[str]) -> None:
    runs = sorted((read(Path(o)) for o in outs), key=lambda r: r["size"])
    arms = ["none", "declared", "unsigned", "lattice", "averaged"]
    splits = ["test_id", "test_ood", "test_ood_high"]
    print("| train trajectories | arm | " + " | ".join(f"{s} rel L2 (95 % CI)" for s in splits)
          + " | vs none (test_id / test_ood) | E in group | E outside (solver) |")
    print("|---|---|" + "---|" * (len(splits) + 3))
    out = {"runs": []}
    for run in runs:
        e, q = run["errors"], run["equivariance"]
        for arm in arms:
            if (arm, "test_id") not in e:
                continue
            cells = [f"{e[(arm, s)][0]:.4f} ({e[(arm, s)][1]:.4f}–{e[(arm, s)][2]:.4f})" for s in splits
                     if (arm, s) in e]
            change = [e[(arm, s)][0] / e[("none", s)][0] - 1 for s in ("test_id", "test_ood")]
            inside = q.get((arm, "test_id", "rollout", "in"), float("nan"))
            outside = q.get((arm, "test_id", "rollout", "out"), float("nan"))
            solver = q.get(("solver", "test_id", "rollout", "out"), float("nan"))
            print(f"| {run['size']} | {arm} | " + " | ".join(cells)
                  + f" | {change[0]:+.0%} / {change[1]:+.0%} | {inside:.2e} | {outside:.2e} ({solver:.2e}) |")
            out["runs"].append({"train_trajectories": run["size"], "arm": arm,
                                "rel_l2": {s: e[(arm, s)][0] for s in splits if (arm, s) in e},
                                "ci95": {s: e[(arm, s)][1:3] for s in splits if (arm, s) in e},
                                "diverged": {s: e[(arm, s)][3] for s in splits if (arm, s) in e},
                                "change_vs_none": dict(zip(("test_id", "test_ood"), change)),
                                "equivariance_rollout_test_id": {"in_group": inside, "outside": outside,
                                                                 "solver_outside": solver}})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
