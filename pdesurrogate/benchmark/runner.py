"""Running a benchmark: the dataset, every model × seed training, their scores, and the aggregation.

Layout of ``OUT``::

    benchmark.yaml                  the config as given
    data/                           the dataset, when the config names a data config
    runs/<model>/seed-<s>/          one training: logs/, checkpoints/ (best-epochNNN.ckpt selected on
                                    the validation split, last.ckpt), predictions/<split>.nc,
                                    results.csv, done.json (written last: the run is finished)
    baselines/results.csv           persistence and training-mean rows
    results.csv, summary.csv, report.md, speed.json, figures/

A run with ``done.json`` is reused; an unfinished one (killed mid-training) is started again from
scratch. Model × seed pairs are shared out among processes (``--shard I/N``, torchrun ranks, a SLURM
array) by their position; the process that finds every run finished aggregates.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd

from data_gen.dataset import generate, verify
from data_gen.dataset.generate import resolve_worker

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation.evaluate import box_lengths, evaluate_baselines, evaluate_split
from ..evaluation.metrics import band_scale
from ..evaluation.results import read_results, result_frame, write_results
from ..run_directory import RunDirectory, enable_progress_lines, exclusive_lock, file_digest, write_json, write_text
from ..evaluation.scoring import ScoringWindow
from ..provenance import commit, machine
from ..training.checkpoint import load_surrogate
from ..training.budget import read_budget_record
from ..training.device import evaluation_device, without_torchrun_environment
from ..training.fit import fit_arguments, train_run
from .config import BenchmarkConfig, ModelSpec, check_splits
from . import equivariance
from .ensembles import benchmark_ensemble_rows
from .report import write_report
from .solvers import score_solvers
from .speed import measure_speed

def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"

log = logging.getLogger(__name__)


class Benchmark:
    def __init__(self, config: BenchmarkConfig, out: str | Path, progress: bool = True):
        self.config, self.progress = config, progress
        self.directory = RunDirectory(out, "benchmark")
        self.out = self.directory.path
        enable_progress_lines()

    def stamp_options(self) -> dict:
        """What the runs depend on beyond the benchmark config's text: the files it names."""
        return {"models": {m.name: file_digest(m.config) for m in self.config.models},
                "data": file_digest(self.config.data_config) if self.config.data_config is not None else None}

    def claim(self, create: bool = True) -> None:
        """Stamp OUT with this config, or refuse an OUT that holds another config's runs (their
        trainings would be reported as this config's)."""
        self.directory.claim(self.config.text, self.stamp_options(), create=create)

    # --- paths ----------------------------------------------------------------------------------
    @property
    def data_root(self) -> Path:
        return self.config.data_root if self.config.data_root is not None else self.out / "data"

    def run_dir(self, model: ModelSpec, seed: int) -> Path:
        return self.out / "runs" / model.name / f"seed-{seed}"

    def finished(self, model: ModelSpec, seed: int) -> dict | None:
        done = self.run_dir(model, seed) / "done.json"
        return json.loads(done.read_text()) if done.is_file() else None

    @property
    def window(self) -> ScoringWindow:
        return ScoringWindow(self.config.score_from, self.config.horizon)

    # --- stages ---------------------------------------------------------------------------------
    def prepare_data(self) -> DatasetReader:
        """Generate the dataset (resumable; reused when complete), verify it, and check the config
        against what it holds."""
        self.claim()
        if not (self.out / "benchmark.yaml").is_file():
            write_text(self.out / "benchmark.yaml", self.config.text)
        if self.config.data_config is not None:
            # One process at a time generates (or resumes) the whole dataset; the others wait on
            # the lock and then find it complete. Unlike splitting the shards among the processes,
            # this also works when an array's tasks run one after another.
            with exclusive_lock(self.out / "data.lock"), without_torchrun_environment():
                generate(self.config.data_config, self.data_root, progress=self.progress, shard="0/1",
                         device=str(evaluation_device()))
        report = verify(self.data_root)
        if not report.clean:
            raise UserError(f"data: {self.data_root} fails `pdesurrogate verify`: {report.problems[0]}"
                            f"{f' (and {len(report.problems) - 1} more)' if len(report.problems) > 1 else ''}")
        reader = DatasetReader(self.data_root)
        frames = reader.split(self.config.val_split, "val_split").frames
        check_splits(self.config, set(reader.split_names), frames,
                     set(reader.split(self.config.val_split, "val_split").variables), str(self.data_root))
        return reader

    def fit_arguments(self, model: ModelSpec, seed: int) -> list[str]:
        return fit_arguments(model.config, self.data_root, self.run_dir(model, seed), seed=seed,
                             epochs=self.config.epochs, minutes=self.config.minutes, val_split=self.config.val_split,
                             progress=self.progress, overrides=self.config.fit_overrides)

    def train_and_score(self, model: ModelSpec, seed: int, reader: DatasetReader) -> dict:
        """Train one model × seed, select its checkpoint on the validation split, score every test split."""
        directory = self.run_dir(model, seed)
        cpu_start = time.process_time()  # CPU time (every thread): less at the mercy of a shared machine
        selected, fit_seconds = train_run(self.fit_arguments(model, seed), directory)
        fit_cpu_seconds = time.process_time() - cpu_start
        module = load_surrogate(selected).to(evaluation_device())
        rows, rollout_seconds = [], {}
        for split in self.config.splits:
            score = evaluate_split(module, reader, split, self.window, model.name, seed,
                                   predictions=directory / "predictions" / f"{split}.nc", checkpoint=str(selected),
                                   baselines=False)
            rows += score.rows
            rollout_seconds[split] = score.rollout_seconds
        write_results(directory / "results.csv", rows)
        equivariance.write_rows(directory / "equivariance.csv", equivariance.model_rows(
            module, reader, equivariance.equivariance_splits(self.config), self.window, model.name, seed))
        done = {"model": model.name, "seed": seed, "checkpoint": str(selected.relative_to(self.out)),
                "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu_seconds,
                "budget": read_budget_record(directory / "checkpoints"),
                "rollout_seconds": rollout_seconds,
                "device": str(evaluation_device()), "samples": {s: reader.split(s).samples for s in self.config.splits}}
        write_json(directory / "done.json", done)
        return done

    def run(self, shard: str | None = None) -> Path | None:
        """This process's trainings, then the aggregation if every run has finished; returns the
        report's path (``None`` when other processes still have runs to finish)."""
        worker = resolve_worker(shard)
        reader = self.prepare_data()
        runs = self.config.runs()
        mine = [(i, m, s) for i, (m, s) in enumerate(runs) if i % worker.count == worker.index]
        todo = [(i, m, s) for i, m, s in mine if self.finished(m, s) is None]
        self._say(f"benchmark: {len(runs)} runs ({len(self.config.models)} models × {len(self.config.seeds)} seeds); "
                  f"{worker.source} owns {len(mine)}, {len(mine) - len(todo)} already finished")
        started = time.perf_counter()
        for done_count, (i, model, seed) in enumerate(todo, start=1):
            result = self.train_and_score(model, seed, reader)
            elapsed = time.perf_counter() - started
            remaining = elapsed / done_count * (len(todo) - done_count)
            self._say(f"[{done_count}/{len(todo)}] {model.name} seed {seed}: trained in "
                      f"{_duration(result['fit_seconds'])}, elapsed {_duration(elapsed)}, ETA {_duration(remaining)}")
        if any(self.finished(m, s) is None for m, s in runs):
            self._say("benchmark: other processes still have runs to finish; the last one writes the report "
                      "(or run with --report-only)")
            return None
        return self.aggregate(reader)

    # --- aggregation ----------------------------------------------------------------------------
    def aggregate(self, reader: DatasetReader | None = None, allow_missing: bool = False) -> Path:
        """``results.csv`` from every finished run and the baselines, the speed comparison, and the report."""
        if reader is None:  # --report-only: OUT must hold this config's benchmark
            self.claim(create=False)
            reader = DatasetReader(self.data_root)
        missing = [f"{m.name} seed {s}" for m, s in self.config.runs() if self.finished(m, s) is None]
        if missing and not allow_missing:
            raise UserError(f"--report-only: runs not finished: {', '.join(missing)}")
        frames = [read_results(self.run_dir(model, seed) / "results.csv") for model, seed in self.config.runs()
                  if self.finished(model, seed) is not None]
        baselines = self.out / "baselines" / "results.csv"
        if not baselines.is_file():
            base = []
            for split in self.config.splits:
                base += evaluate_baselines(reader, split, self.window, self.config.variables)
            write_results(baselines, base + score_solvers(self, reader))
        ensembles = benchmark_ensemble_rows(self, reader)
        frames += [read_results(baselines)] + ([result_frame(ensembles)] if ensembles else [])
        write_results(self.out / "results.csv", pd.concat(frames, ignore_index=True))
        speed = self.out / "speed.json"
        if not speed.is_file() and self.config.data_config is not None:
            write_json(speed, measure_speed(self, reader))
        train_range = _train_viscosity(reader)
        train = reader.split("train", "train_split")
        lengths = box_lengths(train, self.config.variables)
        ood = [s for s in self.config.splits if s.startswith("test_ood")]
        meta = {"command": " ".join(["pdesurrogate", *sys.argv[1:]]) if sys.argv[0].endswith("pdesurrogate")
                else f"pdesurrogate benchmark {self.config.source} --out {self.out}",
                "commit": commit(), "machine": machine(), "train_viscosity": train_range,
                "id_split": self.config.id_split, "ood_splits": ood,
                "sweep_split": "sweep" if "sweep" in self.config.splits else None,
                "score_from": self.config.score_from, "horizon": self.config.horizon, "headline_metric": "rel_l2",
                "missing_runs": missing, "budget": {"epochs": self.config.epochs, "max_minutes": self.config.minutes},
                "runs": {f"{m.name} seed {s}": self.finished(m, s) for m, s in self.config.runs()
                         if self.finished(m, s) is not None},
                "grid": {"shape": list(train.resolution), "lengths": list(lengths),
                         "band_scale": band_scale(train.resolution, lengths)},
                "ensemble_members": {m.name: sum(self.finished(m, s) is not None for s in self.config.seeds)
                                     for m in self.config.models}}
        report = write_report(self.out, self.data_root, meta)
        self._equivariance_section(reader, report)
        self._say(f"benchmark: wrote {report}")
        return report

    def _equivariance_section(self, reader: DatasetReader, report: Path) -> None:
        """``equivariance.csv`` from every run and the solver, and its section appended to the report."""
        rows = []
        for model, seed in self.config.runs():
            rows += equivariance.read_rows(self.run_dir(model, seed) / "equivariance.csv")
        solver = self.out / "baselines" / "equivariance.csv"
        if rows and not solver.is_file():
            equivariance.write_rows(solver, equivariance.solver_rows(
                reader, equivariance.equivariance_splits(self.config), self.window, self.config.variables))
        rows += equivariance.read_rows(solver)
        equivariance.write_rows(self.out / "equivariance.csv", rows)
        lines = equivariance.report_section(self.out, rows)
        if lines:
            write_text(report, report.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + "\n".join(lines))

    def _say(self, line: str) -> None:
        log.info(line)


def _train_viscosity(reader: DatasetReader) -> list[float]:
    viscosity = reader.split("train", "train_split").parameters["viscosity"]
    return [float(viscosity.min()), float(viscosity.max())]

