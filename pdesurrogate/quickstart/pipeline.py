"""``pdesurrogate quickstart``: the main job of the toolkit in one command, built from the code users call.

1. the solver's viscosity sweep figure (``data_gen.demo``);
2. a small Navier–Stokes dataset with in-distribution, out-of-distribution and sweep splits,
   generated and verified (``pdesurrogate generate`` / ``verify``);
3. a conditioned and an unconditioned FNO and a conditioned U-Net trained through their Lightning
   CLI configs (``configs/fit/``), each scored on every test split with its checkpoint selected on
   validation: the benchmark's first seed;
4. the out-of-distribution benchmark over three seeds (``pdesurrogate benchmark``);
5. the viscosity of an unseen trajectory inferred through the best surrogate and through the solver,
   every answer re-simulated (``pdesurrogate design``);
6. ``OUT/report.md``, linking every figure and table with a reading computed from the numbers.

Layout of ``OUT``: ``sweep/``, ``benchmark/`` (a benchmark directory: ``data/``, ``runs/``,
``report.md``, ``figures/``, ...), ``design/`` (``design.yaml``, ``design.json``, figures),
``report.md`` and ``quickstart.json`` (the finished stages; a rerun reuses them).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml


from ..benchmark.config import parse_benchmark
from ..benchmark.runner import Benchmark
from ..data import DatasetReader
from ..design.config import parse_design
from ..design.runner import DesignRun
from ..run_directory import RunDirectory, enable_progress_lines
from .report import write_report
from .results import best_model, conditioned_on_viscosity
from .stages import Stages

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "quickstart"
# Routes of the viscosity inference: (iterations through the surrogate, through the solver, refinement).
DESIGN_ITERATIONS = {False: (15, 6, 2), True: (4, 2, 1)}


def sweep_figure(out: Path, fast: bool) -> dict:
    from data_gen import demo

    demo.main(["--out", str(out), *(["--resolution", "64", "--t-end", "4", "--frames", "8"] if fast else [])])
    return {"figure": str(out / "navier_stokes_sweep.png")}


def train_first_seed(bench: Benchmark) -> dict:
    """Each model's seed-0 training through its Lightning CLI config, scored on every test split
    with the checkpoint selected on validation (what the benchmark reuses as its seed 0)."""
    reader = DatasetReader(bench.data_root)
    trained = {}
    for model in bench.config.models:
        done = bench.finished(model, 0) or bench.train_and_score(model, 0, reader)
        trained[model.name] = {"checkpoint": done["checkpoint"], "fit_seconds": done["fit_seconds"]}
    return trained


def unseen_viscosity(reader: DatasetReader) -> tuple[float, float, float]:
    """A viscosity inside the training range that no training sample has (2/5 of the way in log)."""
    nu = reader.split("train", "train_split").parameters["viscosity"]
    low, high = float(np.min(nu)), float(np.max(nu))
    return float(low ** 0.6 * high ** 0.4), low, high


def infer_viscosity(bench: Benchmark, out: Path, fast: bool, progress: bool) -> dict:
    model = best_model(bench.out / "results.csv", conditioned_on_viscosity(bench))
    checkpoint = bench.out / bench.finished(next(m for m in bench.config.models if m.name == model), 0)["checkpoint"]
    nu, low, high = unseen_viscosity(DatasetReader(bench.data_root))
    surrogate, solver, refine = DESIGN_ITERATIONS[fast]
    config = {
        "task": "viscosity", "data_root": str(bench.data_root.resolve()), "checkpoint": str(checkpoint.resolve()),
        "target": {"seed": 1000, "viscosity": nu, "frames": bench.config.horizon},
        "design": {"bounds": [low / 100, high * 100]},
        "routes": [{"through": "surrogate", "method": "lbfgs", "iterations": surrogate},
                   {"through": "solver", "method": "lbfgs", "iterations": solver},
                   {"through": "surrogate", "method": "lbfgs", "iterations": surrogate,
                    "refine": {"method": "lbfgs", "iterations": refine}}],
    }
    # Beside the design's --out, which DesignRun stamps and fills itself.
    path = out.with_name(f"{out.name}.yaml")
    path.write_text("# written by `pdesurrogate quickstart`: viscosity inference through its best surrogate\n"
                    + yaml.safe_dump(config, sort_keys=False))
    DesignRun(parse_design(path), out, progress=progress).run()
    return {"model": model, "design": str(out / "design.json")}


def quickstart(out: str | Path, fast: bool = False, progress: bool = True) -> Path:
    # One line per stage: Lightning's own info lines (seeds, accelerators, parameter counts) would
    # bury them; warnings still show. Restored afterwards: the levels belong to the whole process.
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        return _quickstart(out, fast, progress)
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _quickstart(out: str | Path, fast: bool, progress: bool) -> Path:
    directory = RunDirectory(out, "quickstart")
    out = directory.path
    bench_config = parse_benchmark(CONFIGS / ("bench_fast.yaml" if fast else "bench.yaml"))
    # Stages are reused by name: a --fast run's tiny stages must never be taken for the real run's.
    directory.claim(bench_config.text, {"fast": fast})
    enable_progress_lines()
    stages = Stages(out, 6)
    bench = Benchmark(bench_config, out / "benchmark", progress=progress)
    names = ", ".join(m.name for m in bench.config.models)
    stages.run("sweep", "the solver's viscosity sweep", lambda: sweep_figure(out / "sweep", fast))
    stages.run("data", "generate and verify the dataset", lambda: {"root": str(bench.prepare_data().root)})
    stages.run("train", f"train {names} and score their selected checkpoints", lambda: train_first_seed(bench))
    stages.run("benchmark", f"the out-of-distribution benchmark, {len(bench.config.seeds)} seeds",
               lambda: {"report": str(bench.run())})
    stages.run("design", "infer an unseen viscosity through the best surrogate and the solver",
               lambda: infer_viscosity(bench, out / "design", fast, progress))
    report = out / "report.md"
    stages.run("report", "write report.md", lambda: {"report": str(write_report(out, bench, stages.seconds(), fast))})
    logging.getLogger(__name__).info(f"quickstart: open {report}")
    return report
