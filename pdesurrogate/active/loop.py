"""The active-learning loop and its random-sampling baseline, resumable round by round.

Layout of ``OUT``::

    active.yaml                       the config as given
    pool.json, pool.npz               candidate costs (measured) and the probe trajectories
    data/                             the initial dataset: ``initial`` train trajectories, val, scored splits
    loops/initial/seed-<s>/round-0/   the ensemble on the initial set (shared by both strategies)
    loops/<active|random>/seed-<s>/round-<r>/
        acquisition.json              the candidates, their disagreement and cost, the chosen ones
        data/                         the round's simulations: a dataset (manifest.json records the round,
                                      strategy and each sample's acquisition score)
        members/member-<k>/           one trained member: logs, checkpoints, predictions/<split>.nc, done.json
        results.csv                   the ensemble's rows (and each member's) on the scored splits
        done.json                     written last: the round is finished and is never redone
    rounds.csv, calibration.csv, results.csv, summary.json, report.md, figures/

A round is: choose (from the previous round's ensemble), simulate, train the ensemble afresh on
the initial set and every simulation of its loop so far, score. The active and the random loop of
one seed start from the same round-0 ensemble, train members with the same seeds, and draw the new
trajectories' initial conditions from the same seeds, so the two differ only in the viscosities chosen.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from data_gen.dataset import generate, parse_config, verify

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation.evaluate import evaluate_split
from ..evaluation.results import read_results, result_frame, write_results
from ..run_directory import RunDirectory, enable_progress_lines, file_digest, write_json, write_text
from ..evaluation.scoring import ScoringWindow
from ..training.checkpoint import load_surrogate
from ..training.device import evaluation_device
from ..training.fit import fit_arguments, train_run
from .acquisition import random_choice, uncertain_and_diverse
from .config import ActiveConfig
from ..evaluation.ensemble import ensemble_rollout, ensemble_rows, relative_disagreement
from .pool import Pool, probe_pool

log = logging.getLogger(__name__)

STRATEGIES = ("active", "random")
ROUNDS_COLUMNS = ("strategy", "seed", "round", "trajectories", "new_trajectories", "chosen_viscosity",
                  "acquisition_score", "cost_round", "cost_total", "simulation_cpu_seconds", "target_rel_l2")


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


class ActiveLearning:
    def __init__(self, config: ActiveConfig, out: str | Path, progress: bool = True):
        self.config, self.progress = config, progress
        self.directory = RunDirectory(out, "active")
        self.out = self.directory.path
        enable_progress_lines()
        self.device = evaluation_device()
        self.window = ScoringWindow(config.score_from, config.horizon)

    # --- paths ----------------------------------------------------------------------------------
    @property
    def data_root(self) -> Path:
        return self.out / "data"

    def round_dir(self, strategy: str, seed: int, round_: int) -> Path:
        if round_ == 0:
            return self.out / "loops" / "initial" / f"seed-{seed}" / "round-0"
        return self.out / "loops" / strategy / f"seed-{seed}" / f"round-{round_}"

    def member_seed(self, seed: int, member: int) -> int:
        return seed * self.config.ensemble + member

    @staticmethod
    def initial_condition_seed(seed: int, round_: int) -> int:
        # distinct from every split seed of the shipped data configs (small integers) and the probes'
        return 1_000_000 + 1_000 * seed + round_

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> Path:
        """Every loop of every seed (finished rounds are reused), then the tables, figures and report."""
        # Finished rounds are reused by their place in OUT: those of another config must not be.
        self.directory.claim(self.config.text, {"model": file_digest(self.config.model.config)})
        write_text(self.out / "active.yaml", self.config.text)
        started = time.perf_counter()
        pool = probe_pool(self.config, self.out, self.device, self.progress)
        log.info(f"active: pool of {len(pool.viscosity)} candidates probed; cost ∝ ν^{pool.exponent:.2f} "
                  f"({pool.cpu_seconds.min():.2f}-{pool.cpu_seconds.max():.2f} CPU s per trajectory)")
        reader = self.prepare_data()
        c = self.config
        total = len(c.seeds) * (1 + len(STRATEGIES) * c.rounds)
        done = 0
        for seed in c.seeds:
            self.run_round("initial", seed, 0, pool, reader)
            done += 1
            for strategy in STRATEGIES:
                for round_ in range(1, c.rounds + 1):
                    record = self.run_round(strategy, seed, round_, pool, reader)
                    done += 1
                    elapsed = time.perf_counter() - started
                    log.info(f"[{done}/{total}] {strategy} seed {seed} round {round_}: target rel_l2 "
                              f"{record['target_rel_l2']:.4f} at cost {record['cost_total']:.2f}, elapsed "
                              f"{elapsed / 60:.1f} min")
        from .report import write_outputs  # matplotlib only once everything is trained

        return write_outputs(self, pool, reader)

    def prepare_data(self) -> DatasetReader:
        """Generate (or resume) the initial dataset, verify it, check it holds the splits asked for."""
        generate(parse_config(self.config.base_data(), "the initial dataset"), self.data_root, progress=self.progress,
                 device=self.device.type, shard="0/1")
        self._verify(self.data_root)
        reader = DatasetReader(self.data_root)
        for split in ("train", self.config.val_split, *self.config.scored_splits):
            reader.require_split(split, "target" if split == self.config.target else "split")
        return reader

    def _verify(self, root: Path) -> None:
        report = verify(root)
        if not report.clean:
            raise UserError(f"data: {root} fails `pdesurrogate verify`: {report.problems[0]}")

    # --- one round ------------------------------------------------------------------------------
    def run_round(self, strategy: str, seed: int, round_: int, pool: Pool, reader: DatasetReader) -> dict:
        directory = self.round_dir(strategy, seed, round_)
        finished = _read_json(directory / "done.json")
        if finished is not None:
            return finished
        directory.mkdir(parents=True, exist_ok=True)
        acquisition = None
        if round_ > 0:
            acquisition = self.acquire(strategy, seed, round_, pool, reader)
            cpu_seconds = self.simulate(strategy, seed, round_, acquisition)
        roots = [self.round_dir(strategy, seed, r) / "data" for r in range(1, round_ + 1)]
        checkpoints = [self.train_member(directory / "members" / f"member-{k}", self.member_seed(seed, k), roots)
                       for k in range(self.config.ensemble)]
        rows = self.score(directory, strategy, seed, round_, checkpoints, reader)
        model = f"{strategy}/round-{round_}"
        target = rows[(rows.model == model) & (rows.split == self.config.target)]
        target_error = float(target[target.metric == "rel_l2"].groupby("sample")["value"].mean().mean())
        previous = None if round_ == 0 else _read_json(
            self.round_dir(strategy, seed, round_ - 1) / "done.json")
        initial_cost = float(pool.relative_cost(reader.split("train").parameters["viscosity"]).sum())
        cost_round = 0.0 if acquisition is None else float(sum(acquisition["chosen_cost"]))
        record = {
            "strategy": strategy, "seed": seed, "round": round_,
            "trajectories": reader.split("train").samples + sum(
                len(_read_json(self.round_dir(strategy, seed, r) / "acquisition.json")["chosen"])
                for r in range(1, round_ + 1)),
            "new_trajectories": 0 if acquisition is None else len(acquisition["chosen"]),
            "chosen_viscosity": [] if acquisition is None else acquisition["chosen_viscosity"],
            "acquisition_score": [] if acquisition is None else acquisition["chosen_score"],
            "cost_round": cost_round,
            "cost_total": (initial_cost if previous is None else previous["cost_total"]) + cost_round,
            "simulation_cpu_seconds": 0.0 if acquisition is None else cpu_seconds,
            "target_rel_l2": target_error,
            "members": [str(p.relative_to(self.out)) for p in checkpoints],
        }
        write_json(directory / "done.json", record)
        return record

    def acquire(self, strategy: str, seed: int, round_: int, pool: Pool, reader: DatasetReader) -> dict:
        """The round's choice (reused when already made: a resumed round simulates the same viscosities)."""
        path = self.round_dir(strategy, seed, round_) / "acquisition.json"
        made = _read_json(path)
        if made is not None:
            return made
        c = self.config
        if strategy == "active":
            previous = self.round_dir("initial" if round_ == 1 else strategy, seed, round_ - 1)
            members = _read_json(previous / "done.json")["members"]
            score = self.disagreement(pool, [self.out / m for m in members], reader)
            chosen = uncertain_and_diverse(score, pool.cost, pool.viscosity, c.budget_per_round, c.diversity)
        else:
            score = np.full(len(pool.viscosity), np.nan)
            chosen = random_choice(pool.cost, c.budget_per_round, np.random.default_rng([seed, round_]))
        if not chosen:
            raise UserError(f"budget_per_round: {c.budget_per_round:g} affords no candidate (the cheapest costs "
                            f"{pool.cost.min():.2f} pool-median trajectories)")
        made = {"strategy": strategy, "seed": seed, "round": round_, "candidates": pool.viscosity.tolist(),
                "disagreement": [None if not np.isfinite(v) else float(v) for v in score],
                "cost": pool.cost.tolist(), "chosen": chosen,
                "chosen_viscosity": [float(pool.viscosity[i]) for i in chosen],
                "chosen_score": [None if not np.isfinite(score[i]) else float(score[i] / pool.cost[i]) for i in chosen],
                "chosen_cost": [float(pool.cost[i]) for i in chosen], "budget": c.budget_per_round}
        write_json(path, made)
        return made

    @torch.no_grad()
    def disagreement(self, pool: Pool, checkpoints: list[Path], reader: DatasetReader) -> np.ndarray:
        """Per candidate: the ensemble's relative spread over the scored frames, averaged over its probes."""
        modules = [load_surrogate(p).to(self.device) for p in checkpoints]
        network = modules[0].network
        variables = list(network.variables)
        saved = list(self.config.saved_variables)
        probes = torch.from_numpy(pool.probes[:, :, :, [saved.index(v) for v in variables]])
        count, per = probes.shape[:2]
        fields = probes.reshape(count * per, *probes.shape[2:])
        parameters = None
        if network.conditioning:
            if list(network.conditioning) != ["viscosity"]:
                raise UserError(f"model: conditioned on {list(network.conditioning)}; the candidate pool varies "
                                "viscosity only")
            parameters = torch.from_numpy(np.repeat(pool.viscosity, per).astype(np.float32))[:, None]
        members = ensemble_rollout(modules, fields, parameters, self.window)
        stats = reader.stats()
        spread = relative_disagreement(members, stats, variables).reshape(count, per).mean(dim=1)
        return spread.numpy()

    def simulate(self, strategy: str, seed: int, round_: int, acquisition: dict) -> float:
        """Generate the round's dataset with ``generate`` (resumable) and record the acquisition in its
        manifest; returns the CPU seconds the generation took (0 when it was already complete)."""
        root = self.round_dir(strategy, seed, round_) / "data"
        note = (f"pdesurrogate active: {strategy} loop, seed {seed}, round {round_}: the viscosities chosen from "
                f"{self.config.source}")
        order = np.argsort(acquisition["chosen_viscosity"])  # the manifest lists samples in split order
        viscosity = [acquisition["chosen_viscosity"][i] for i in order]
        text = self.config.round_data(viscosity, self.initial_condition_seed(seed, round_), note)
        start = time.process_time()
        generate(parse_config(text, "round data"), root, progress=False, device=self.device.type, shard="0/1")
        cpu_seconds = time.process_time() - start
        manifest_path = root / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["active_learning"] = {
            "strategy": strategy, "seed": seed, "round": round_,
            "samples": [{"index": i, "viscosity": viscosity[i],
                         "acquisition_score": acquisition["chosen_score"][order[i]],
                         "relative_cost": acquisition["chosen_cost"][order[i]]} for i in range(len(viscosity))],
            "acquisition": "disagreement per unit cost, uncertain and diverse in log ν" if strategy == "active"
            else "random choice from the pool at the same budget",
        }
        write_json(manifest_path, manifest)  # atomically: a kill leaves the generator's manifest or this one
        self._verify(root)
        return cpu_seconds

    def train_member(self, directory: Path, seed: int, roots: list[Path]) -> Path:
        """Train one member (reused when finished); returns its checkpoint selected on validation."""
        finished = _read_json(directory / "done.json")
        if finished is not None:
            return self.out / finished["checkpoint"]
        c = self.config
        arguments = fit_arguments(c.model.config, self.data_root, directory, seed=seed, epochs=c.epochs,
                                  minutes=c.minutes, val_split=c.val_split, progress=self.progress,
                                  overrides=c.fit_overrides)
        if roots:
            arguments += ["--data.extra_train_roots", json.dumps([str(r) for r in roots])]
        selected, seconds = train_run(arguments, directory)
        # last.ckpt only resumes an interrupted fit, and an interrupted member is retrained from
        # scratch: without it a run keeps half the disk (63 members of the small config: ~0.9 GB).
        (directory / "checkpoints" / "last.ckpt").unlink(missing_ok=True)
        write_json(directory / "done.json", {"seed": seed, "checkpoint": str(selected.relative_to(self.out)),
                                              "fit_seconds": seconds, "extra_train_roots": [str(r) for r in roots]})
        return selected

    def score(self, directory: Path, strategy: str, seed: int, round_: int, checkpoints: list[Path],
              reader: DatasetReader) -> pd.DataFrame:
        """Each member's predictions and rows on the scored splits, and the ensemble's rows from them."""
        model = f"{strategy}/round-{round_}"
        variables = list(self.config.model.variables)
        rows = []
        for k, checkpoint in enumerate(checkpoints):
            module = load_surrogate(checkpoint).to(self.device)
            for split in self.config.scored_splits:
                rows += evaluate_split(module, reader, split, self.window, f"{model}/member", seed,
                                       predictions=checkpoint.parents[1] / "predictions" / f"{split}.nc",
                                       checkpoint=str(checkpoint), baselines=False, member=k).rows
        for split in self.config.scored_splits:
            paths = [p.parents[1] / "predictions" / f"{split}.nc" for p in checkpoints]
            rows += ensemble_rows(paths, reader, split, self.window, variables, model, seed)
        write_results(directory / "results.csv", rows)
        return result_frame(rows)

    # --- reading back ---------------------------------------------------------------------------
    def records(self) -> list[dict]:
        c, out = self.config, []
        for seed in c.seeds:
            initial = _read_json(self.round_dir("initial", seed, 0) / "done.json")
            for strategy in STRATEGIES:
                out.append({**initial, "strategy": strategy})
                out += [_read_json(self.round_dir(strategy, seed, r) / "done.json") for r in range(1, c.rounds + 1)]
        return out

    def all_rows(self) -> pd.DataFrame:
        c, frames = self.config, []
        for seed in c.seeds:
            frames.append(read_results(self.round_dir("initial", seed, 0) / "results.csv"))
            for strategy in STRATEGIES:
                for r in range(1, c.rounds + 1):
                    frames.append(read_results(self.round_dir(strategy, seed, r) / "results.csv"))
        return pd.concat(frames, ignore_index=True)
