"""A trained hybrid against the plain solver on the saved grid and on finer ones: error and cost per split.

    python benchmarks/hybrid_vs_solver.py --checkpoint CKPT --data DATASET [--splits test_id test_ood]
        [--resolutions 32 48 64 96] [--score-from 2] [--horizon 8]

Scores the checkpoint (any surrogate; a hybrid's physics is checked against the dataset's) and the
dataset's own solver on each grid exactly as the benchmark does (``evaluate_split`` and
``solver_rows``: relative L2 of the scored frames, mean over samples then over frames), times
every rollout in the same run, and prints one JSON object: per split the surrogate's and each
grid's error and seconds, and the *accuracy-equivalent resolution*, the finest listed grid on which
the plain solver is still no more accurate than the surrogate (``null`` when even the saved grid
beats it), with that grid's cost over the surrogate's.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch


def mean_rel_l2(rows) -> float:
    per_frame = defaultdict(list)
    for row in rows:
        if row[-2] == "rel_l2":
            per_frame[int(row[5])].append(float(row[-1]))
    return float(np.mean([np.mean(v) for v in per_frame.values()]))


def main() -> None:
    from pdesurrogate.data import DatasetReader
    from pdesurrogate.evaluation.coarse_solver import require_dataset_solver, solver_rows
    from pdesurrogate.evaluation.evaluate import evaluate_split
    from pdesurrogate.evaluation.scoring import ScoringWindow
    from pdesurrogate.training.checkpoint import load_surrogate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--splits", nargs="+", default=["test_id", "test_ood"])
    parser.add_argument("--resolutions", type=int, nargs="+", default=None)
    parser.add_argument("--score-from", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reader = DatasetReader(args.data)
    module = load_surrogate(args.checkpoint)
    window = ScoringWindow(args.score_from, args.horizon)
    variables = list(module.network.variables)
    stats = {v: (float(m), float(s)) for v, m, s in zip(variables, module.normaliser.mean, module.normaliser.std)}
    config = reader.dataset_config()
    resolutions = args.resolutions or [config.saved_resolution, 2 * config.saved_resolution]
    result = {"checkpoint": args.checkpoint, "data": args.data, "score_from": args.score_from,
              "horizon": args.horizon, "threads": args.threads, "splits": {}}
    for split in args.splits:
        score = evaluate_split(module, reader, split, window, "surrogate", baselines=False)
        entry = {"surrogate": {"rel_l2": mean_rel_l2(score.rows), "seconds": score.rollout_seconds}, "solver": {}}
        for n in resolutions:
            rows, seconds = solver_rows(require_dataset_solver(reader, n, torch.device("cpu"), dtype=torch.float32), reader, split, window,
                                        variables, stats)
            entry["solver"][n] = {"rel_l2": mean_rel_l2(rows), "seconds": seconds}
        worse = [n for n in resolutions if entry["solver"][n]["rel_l2"] >= entry["surrogate"]["rel_l2"]]
        equivalent = max(worse) if worse else None
        entry["accuracy_equivalent_resolution"] = equivalent
        if equivalent is not None:
            entry["cost_ratio_at_equivalent"] = entry["solver"][equivalent]["seconds"] / entry["surrogate"]["seconds"]
        result["splits"][split] = entry
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
