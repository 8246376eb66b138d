"""The active-learning loop, its ablations and its random baselines, resumable round by round.

Layout of ``OUT``::

    active.yaml                       the config as given
    pool/, pool.json                  the candidate pool (a dataset, one trajectory per shard) and its costs
    data/                             the initial dataset: ``initial`` train trajectories, val, scored splits
    loops/initial/seed-<s>/round-0/   the ensemble on the initial set (shared by every strategy)
    loops/<strategy>/seed-<s>/round-<r>/
        acquisition.json              every candidate's score, weight, actual error and cost; the chosen ones
        data/                         the round's trajectories: the chosen pool shards, linked, and a
                                      manifest that records the strategy, round and each sample's weight
        members/member-<k>/           one trained member: logs, checkpoints, predictions/<split>.nc, done.json
        results.csv                   the ensemble's rows (and each member's) on the scored splits
        done.json                     written last: the round is finished and is never redone
    rounds.csv, results.csv, calibration*.csv, recalibration.csv, budget.json, summary.json, report.md, figures/

A round is: choose (from the previous round's ensemble) among the pool candidates this loop has not
taken yet, link their trajectories, train the ensemble afresh on the initial set and every
trajectory of its loop so far, score. Every strategy of one seed starts from the same round-0
ensemble and trains members with the same seeds, so strategies differ only in the candidates chosen.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from data_gen.dataset import generate, parse_config, verify

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation import metrics
from ..evaluation.ensemble import ensemble_rows
from ..evaluation.evaluate import evaluate_split
from ..evaluation.results import read_results, result_frame, write_results
from ..evaluation.scoring import ScoringWindow
from ..run_directory import RunDirectory, enable_progress_lines, file_digest, write_json, write_text
from ..training.checkpoint import load_surrogate
from ..training.device import evaluation_device
from ..training.fit import fit_arguments, train_run
from .acquisition import uncertain_and_diverse
from .config import ActiveConfig
from .pool import Pool, load_pool
from .scores import disagreement, ensemble_error, pool_rollouts
from .selection import acquisition_weights, power_sampling, target_density, target_law_choice, top_k


log = logging.getLogger(__name__)

SCORING_CHUNK = 64  # pool candidates rolled out together when they are scored


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

    @property
    def strategies(self) -> list[str]:
        return list(self.config.strategies)

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> Path:
        """Every loop of every seed (finished rounds are reused), then the tables, figures and report."""
        # Finished rounds are reused by their place in OUT: those of another config must not be.
        self.directory.claim(self.config.text, {"model": file_digest(self.config.model.config)})
        write_text(self.out / "active.yaml", self.config.text)
        started = time.perf_counter()
        pool = load_pool(self.config, self.out, self.device, self.progress)
        log.info(f"active: pool of {len(pool.viscosity)} candidates; cost model {pool.model['kind']}, "
                  f"∝ ν^{pool.exponent:.2f} ({pool.cost.min():.2f}-{pool.cost.max():.2f} pool-median trajectories)")
        reader = self.prepare_data()
        c = self.config
        total = len(c.seeds) * (1 + len(self.strategies) * c.rounds)
        done = 0
        for seed in c.seeds:
            self.run_round("initial", seed, 0, pool, reader)
            done += 1
            for strategy in self.strategies:
                for round_ in range(1, c.rounds + 1):
                    record = self.run_round(strategy, seed, round_, pool, reader)
                    done += 1
                    elapsed = time.perf_counter() - started
                    rho = record.get("score_error_spearman")
                    log.info(f"[{done}/{total}] {strategy} seed {seed} round {round_}: target rel_l2 "
                              f"{record['target_rel_l2']:.4f} at acquired cost {record['cost_total']:.2f}"
                              + ("" if rho is None else f", score–error Spearman {rho:.2f}")
                              + f", elapsed {elapsed / 60:.1f} min")
        from .report import write_outputs  # matplotlib only once everything is trained

        return write_outputs(self, pool, reader)

    def prepare_data(self) -> DatasetReader:
        """Generate (or resume) the initial dataset, verify it, check it holds the splits asked for."""
        generate(parse_config(self.config.base_data(), "the initial dataset"), self.data_root, progress=self.progress,
                 device=self.device.type, shard="0/1")
        self._verify(self.data_root)
        reader = DatasetReader(self.data_root)
        for split in ("train", self.config.val_split, *self.config.predicted_splits):
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
            acquisition = self.acquire(strategy, seed, round_, pool)
            self.link_round_data(strategy, seed, round_, acquisition, pool)
        roots = [self.round_dir(strategy, seed, r) / "data" for r in range(1, round_ + 1)]
        checkpoints = [self.train_member(directory / "members" / f"member-{k}", self.member_seed(seed, k), roots)
                       for k in range(self.config.ensemble)]
        rows = self.score(directory, strategy, seed, round_, checkpoints, reader)
        model = f"{strategy}/round-{round_}"
        errors = {}
        for split in self.config.scored_splits:
            table = rows[(rows.model == model) & (rows.split == split)]
            errors[split] = float(table[table.metric == "rel_l2"].groupby("sample")["value"].mean().mean())
        previous = None if round_ == 0 else _read_json(self.round_dir(strategy, seed, round_ - 1) / "done.json")
        cost_round = 0.0 if acquisition is None else float(sum(acquisition["chosen_cost"]))
        record = {
            "strategy": strategy, "seed": seed, "round": round_,
            "trajectories": reader.split("train").samples + len(self.taken(strategy, seed, round_ + 1)),
            "new_trajectories": 0 if acquisition is None else len(acquisition["chosen"]),
            "chosen": [] if acquisition is None else acquisition["chosen"],
            "chosen_viscosity": [] if acquisition is None else acquisition["chosen_viscosity"],
            "acquisition_weight": [] if acquisition is None else acquisition["chosen_weight"],
            "cost_round": cost_round,
            "cost_total": (0.0 if previous is None else previous["cost_total"]) + cost_round,
            "initial_cost": float(pool.relative_cost(reader.split("train").parameters["viscosity"]).sum()),
            "score_error_spearman": None if acquisition is None else acquisition["score_error_spearman"],
            "target_rel_l2": errors[self.config.target],
            "rel_l2": errors,
            "members": [str(p.relative_to(self.out)) for p in checkpoints],
        }
        write_json(directory / "done.json", record)
        return record

    def taken(self, strategy: str, seed: int, before_round: int) -> list[int]:
        """Pool indices this loop chose in rounds 1 … ``before_round`` − 1 (each is simulated once)."""
        taken = []
        for r in range(1, before_round):
            made = _read_json(self.round_dir(strategy, seed, r) / "acquisition.json")
            taken += made["chosen"] if made is not None else []
        return taken

    def acquire(self, strategy: str, seed: int, round_: int, pool: Pool) -> dict:
        """The round's choice (reused when already made: a resumed round takes the same candidates)."""
        path = self.round_dir(strategy, seed, round_) / "acquisition.json"
        made = _read_json(path)
        if made is not None:
            return made
        c = self.config
        spec = c.strategies[strategy]
        taken = self.taken(strategy, seed, round_)
        budget = c.round_budget(round_)
        # One stream per (seed, round, strategy): a strategy's draws never depend on another's.
        rng = np.random.default_rng([seed, round_, zlib.crc32(strategy.encode())])
        score = error = weights = np.full(len(pool.viscosity), np.nan)
        spearman = None
        if spec is None and strategy == "random_pool":
            chosen = power_sampling(np.ones(len(pool.cost)), pool.cost, budget, 0.0, rng, exclude=taken)
        elif spec is None:
            chosen = target_law_choice(pool.viscosity, pool.cost, budget, *c.target_range, rng, exclude=taken)
        else:
            previous = self.round_dir("initial" if round_ == 1 else strategy, seed, round_ - 1)
            members = [self.out / m for m in _read_json(previous / "done.json")["members"]]
            score, error = self.score_pool(pool, members)
            left = np.setdiff1d(np.arange(len(score)), taken)
            spearman = (metrics.spearman_correlation(torch.from_numpy(score[left]), torch.from_numpy(error[left]))
                        if len(left) >= 3 else None)
            density = target_density(pool.viscosity, *c.target_range, spec.bandwidth) if spec.target_aware else None
            if spec.rule == "greedy_diverse":  # the earlier rule: per unit cost and a repulsion in log ν
                weights = acquisition_weights(score, pool.cost, density, per_unit_cost=False)
                picked = uncertain_and_diverse(weights[left], pool.cost[left], pool.viscosity[left], budget,
                                               spec.diversity)
                chosen = [int(left[i]) for i in picked]
                weights = weights / pool.cost
            else:
                weights = acquisition_weights(score, pool.cost, density, spec.per_unit_cost)
                chosen = (power_sampling(weights, pool.cost, budget, spec.beta, rng, exclude=taken)
                          if spec.rule == "power" else top_k(weights, pool.cost, budget, exclude=taken))
        if not chosen:
            inside = ("" if c.target_range is None else
                      f"; {int(np.sum((pool.viscosity >= c.target_range[0]) & (pool.viscosity <= c.target_range[1])))}"
                      f" candidates lie in the target range")
            raise UserError(f"budget_per_round: {budget:g} affords no candidate left to {strategy} in round {round_} "
                            f"(the cheapest costs {pool.cost.min():.2f} pool-median trajectories{inside}); use a "
                            f"larger candidates.pool")

        def values(array):
            return [None if not np.isfinite(v) else float(v) for v in array]

        made = {"strategy": strategy, "seed": seed, "round": round_, "budget": budget,
                "acquisition": "random" if spec is None else spec.describe(),
                "score": values(score), "weight": values(weights), "ensemble_error": values(error),
                "cost": pool.cost.tolist(), "taken_before": taken, "score_error_spearman": spearman,
                "chosen": [int(i) for i in chosen], "chosen_viscosity": [float(pool.viscosity[i]) for i in chosen],
                "chosen_weight": [None if not np.isfinite(weights[i]) else float(weights[i]) for i in chosen],
                "chosen_cost": [float(pool.cost[i]) for i in chosen]}
        write_json(path, made)
        return made

    @torch.no_grad()
    def score_pool(self, pool: Pool, checkpoints: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: the disagreement score and the ensemble's actual error (both in the target metric)."""
        modules = [load_surrogate(p).to(self.device) for p in checkpoints]
        network = modules[0].network
        variables = list(network.variables)
        saved = list(self.config.saved_variables)
        fields = pool.trajectories[:, :, [saved.index(v) for v in variables]]
        if network.conditioning and list(network.conditioning) != ["viscosity"]:
            raise UserError(f"model: conditioned on {list(network.conditioning)}; the candidate pool varies "
                            "viscosity only")
        stats = DatasetReader(self.data_root).stats()
        score, error = [], []
        for start in range(0, len(fields), SCORING_CHUNK):  # bounded memory: one chunk's rollouts at a time
            part = slice(start, start + SCORING_CHUNK)
            members = pool_rollouts(modules, fields[part], pool.viscosity[part] if network.conditioning else None,
                                    self.window)
            score.append(disagreement(members, stats, variables))
            error.append(ensemble_error(members, fields[part], self.window, stats, variables))
        return np.concatenate(score), np.concatenate(error)

    def link_round_data(self, strategy: str, seed: int, round_: int, acquisition: dict, pool: Pool) -> Path:
        """The round's dataset: the chosen candidates' pool shards, hard-linked (copied across file
        systems), and a manifest listing them with their sha256 and the acquisition."""
        root = self.round_dir(strategy, seed, round_) / "data"
        if (root / "manifest.json").is_file():
            return root
        (root / "train").mkdir(parents=True, exist_ok=True)
        shards = pool.shard_files
        listed = []
        for k, index in enumerate(acquisition["chosen"]):
            source, name = pool.root / shards[index]["file"], f"train/shard-{k:05d}.nc"
            (root / name).unlink(missing_ok=True)
            try:
                os.link(source, root / name)
            except OSError:
                shutil.copyfile(source, root / name)
            listed.append({"file": name, "sha256": shards[index]["sha256"]})
        manifest = json.loads((pool.root / "manifest.json").read_text())
        entry = {k: v for k, v in manifest["splits"]["train"].items() if k not in ("shards", "samples")}
        manifest["splits"] = {"train": {**entry, "samples": len(listed), "shards": listed}}
        manifest["active_learning"] = {
            "strategy": strategy, "seed": seed, "round": round_, "acquisition": acquisition["acquisition"],
            "subset_of": str(pool.root), "note": "the candidates' trajectories are shards of the pool dataset; "
                                                 "`pdesurrogate verify` checks them there",
            "samples": [{"index": k, "pool_index": i, "viscosity": acquisition["chosen_viscosity"][k],
                         "acquisition_weight": acquisition["chosen_weight"][k],
                         "relative_cost": acquisition["chosen_cost"][k]} for k, i in enumerate(acquisition["chosen"])],
        }
        shutil.copyfile(pool.root / "stats.json", root / "stats.json")
        write_json(root / "manifest.json", manifest)  # last: a complete manifest marks the round's data done
        return root

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
        """Each member's predictions (scored splits and the calibration split) and rows (scored splits),
        and the ensemble's rows from them."""
        model = f"{strategy}/round-{round_}"
        variables = list(self.config.model.variables)
        rows = []
        for k, checkpoint in enumerate(checkpoints):
            module = load_surrogate(checkpoint).to(self.device)
            for split in self.config.predicted_splits:
                scores = evaluate_split(module, reader, split, self.window, f"{model}/member", seed,
                                        predictions=checkpoint.parents[1] / "predictions" / f"{split}.nc",
                                        checkpoint=str(checkpoint), baselines=False, member=k)
                if split in self.config.scored_splits:  # the calibration split: its predictions only
                    rows += scores.rows
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
            for strategy in self.strategies:
                out.append({**initial, "strategy": strategy})
                out += [_read_json(self.round_dir(strategy, seed, r) / "done.json") for r in range(1, c.rounds + 1)]
        return out

    def all_rows(self) -> pd.DataFrame:
        c, frames = self.config, []
        for seed in c.seeds:
            frames.append(read_results(self.round_dir("initial", seed, 0) / "results.csv"))
            for strategy in self.strategies:
                for r in range(1, c.rounds + 1):
                    frames.append(read_results(self.round_dir(strategy, seed, r) / "results.csv"))
        return pd.concat(frames, ignore_index=True)
