"""Write an :class:`ImportPlan` as an ordinary pdesurrogate dataset: CF shards, stats, manifest, card.

The dataset is assembled in a hidden sibling of ``--out`` and renamed into place when complete,
so ``--out`` holds either nothing or a whole dataset. One trajectory is in memory at a time.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.atomic import write_json
from ..dataset.card import GENERATED_LICENCE, write_card
from ..dataset.manifest import FORMAT, MANIFEST, STATS
from ..dataset.provenance import now, package_version, source_revision
from ..dataset.statistics import RunningMoments
from ..dataset.writer import ShardLayout, ShardWriter, sha256_of
from .coarsen import coarse_positions, truncate
from .config import ImportConfig
from .errors import SourceError
from .plan import ImportPlan

TARGET_SHARD_BYTES = 256 * 2**20
SOURCE_DEFAULTS = {
    "the-well": {
        "licence": "CC-BY-4.0 (The Well, as published by its authors; check the source's terms)",
        "citation": "R. Ohana et al., The Well: a Large-Scale Collection of Diverse Physics Simulations for "
                    "Machine Learning, NeurIPS 2024 Datasets and Benchmarks Track",
    },
    "fno-mat": {
        "licence": "not stated in the source files; ask their distributors (set `licence:` in the import config)",
        "citation": "Z. Li et al., Fourier Neural Operator for Parametric Partial Differential Equations, ICLR 2021",
    },
}
SOURCE_DEFAULTS["fno-pt"] = SOURCE_DEFAULTS["fno-mat"]


@dataclass
class ImportResult:
    root: Path
    sample_counts: dict[str, int]
    shards: int
    source_bytes: int

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.sample_counts.items())
        return (f"{self.root}: {sum(self.sample_counts.values())} samples ({counts}) in {self.shards} shards, "
                f"from {self.source_bytes / 2**20:.1f} MiB of source files; check it with `pdesurrogate verify "
                f"{self.root}`")


def _seed(plan: ImportPlan, source: int, trajectory: int) -> int:
    seeds = plan.sources[source].seeds
    # Without recorded seeds a sample is identified by its origin: file index · 2³² + trajectory.
    return int(seeds[trajectory]) if seeds is not None else (source << 32) | trajectory


def _attributes(plan: ImportPlan, config: ImportConfig, fmt: str, split: str, history: str,
                licence: str, citation: str) -> dict:
    first = plan.sources[0]
    ly, lx = first.domain_lengths
    (sy, sx), (my, mx) = first.shape, plan.shape
    attributes = {
        "Conventions": "CF-1.10",
        "title": config.title or f"{first.attributes.get('dataset_name', fmt)} imported from {fmt}",
        "equation": first.attributes.get("equation", first.attributes.get("dataset_name", "unknown")),
        "solver": f"the source's ({fmt}: {first.attributes.get('dataset_name', '')})",
        "scheme": "the source's",
        "domain_length_y": ly,
        "domain_length_x": lx,
        "sim_resolution": sx if (sy, sx) == (sx, sx) else f"{sy} x {sx}",
        "saved_resolution": mx if (my, mx) == (mx, mx) else f"{my} x {mx}",
        "forcing": first.attributes.get("forcing", "the source's"),
        "initial_condition": first.attributes.get("initial_condition", "the source's"),
        "imported_from": fmt,
        "licence": licence,
        "citation": citation,
    }
    if math.isclose(lx, ly, rel_tol=1e-12):
        attributes["domain_length"] = lx
    attributes.update({k: v for k, v in first.attributes.get("pdesurrogate", {}).get("attributes", {}).items()
                       if k not in ("split", "source", "history", "shard_index", "Conventions")})
    attributes.update({"split": split, "source": f"pdesurrogate {package_version()}", "history": history})
    return attributes


def write_import(plan: ImportPlan, config: ImportConfig, fmt: str, out: str | Path, command: str) -> ImportResult:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not empty; choose a new directory")
    staging = out.parent / f".{out.name}.import-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        result = _write(plan, config, fmt, staging, out, command)
        with contextlib.suppress(FileNotFoundError):
            out.rmdir()  # an empty --out: replaced by the finished dataset
        os.replace(staging, out)
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write(plan: ImportPlan, config: ImportConfig, fmt: str, root: Path, out: Path, command: str) -> ImportResult:
    first = plan.sources[0]
    recorded = first.attributes.get("pdesurrogate", {})
    if recorded:  # a pdesurrogate export: its data's own licence and citation, not The Well's
        defaults = {"licence": recorded.get("attributes", {}).get("licence", GENERATED_LICENCE),
                    "citation": recorded.get("attributes", {}).get("citation", f"pdesurrogate {package_version()}")}
    else:
        defaults = SOURCE_DEFAULTS.get(fmt, {})
    licence = config.licence or defaults.get("licence", "unknown")
    citation = config.citation or defaults.get("citation", "unknown")
    (sy, sx), (my, mx) = first.shape, plan.shape
    coarsened = (my, mx) != (sy, sx)
    # The source's own positions when the grid is kept (bit for bit), else the coarse grid's.
    x = first.x if mx == sx else coarse_positions(first.x, mx)
    y = first.y if my == sy else coarse_positions(first.y, my)
    parameter_meta = {"viscosity": ("kinematic viscosity", "1")}
    parameter_meta.update({p: tuple(recorded.get("parameters", {}).get(p, (p, "1"))) for p in plan.parameters})
    if "viscosity" in recorded.get("parameters", {}):
        parameter_meta["viscosity"] = tuple(recorded["parameters"]["viscosity"])
    layout_units = (first.attributes.get("length_units", "1"), first.attributes.get("time_units", "1"))
    frame_bytes = 4 * len(plan.variables) * len(plan.times) * my * mx
    per_shard = config.samples_per_shard or max(1, TARGET_SHARD_BYTES // frame_bytes)
    steps = f"; fields transposed from the source's (x, y) to (y, x)" + (
        f"; spectrally truncated from {sy} x {sx} to {my} x {mx}" if coarsened else "")
    history = f"{now()}: {command}{steps}"
    seed_meaning = ("seed of the sample's random stream, as recorded by the source" if first.seeds is not None else
                    "identifier of the source trajectory: source file index * 2**32 + trajectory index")

    sources = [{"file": s.name, "bytes": s.path.stat().st_size, "sha256": sha256_of(s.path),
                "trajectories": s.trajectories, "kept": plan.kept[i], "parameters": s.parameters,
                "viscosity": plan.viscosities[i], "skipped_fields": s.skipped}
               for i, s in enumerate(plan.sources)]
    moments = {v: RunningMoments() for v in plan.variables}
    splits, shard_count = {}, 0
    for split in plan.splits:
        samples = [(r.source, t) for r in split.runs for t in range(r.start, r.stop)]
        layout = ShardLayout(coordinates=x, y_coordinates=y, times=plan.times, variables=plan.variables,
                             parameters=parameter_meta, length_units=layout_units[0], time_units=layout_units[1],
                             seed_meaning=seed_meaning,
                             attributes=_attributes(plan, config, fmt, split.name, history, licence, citation))
        entries = []
        for first_sample in range(0, len(samples), per_shard):
            chunk = samples[first_sample:first_sample + per_shard]
            name = f"{split.name}/shard-{first_sample // per_shard:05d}.nc"
            values = {"viscosity": np.array([plan.viscosities[s] for s, _ in chunk])}
            values.update({p: np.array([plan.sources[s].parameters[p] for s, _ in chunk]) for p in plan.parameters})
            seeds = np.array([_seed(plan, s, t) for s, t in chunk], dtype=np.int64)
            layout.attributes["shard_index"] = first_sample // per_shard
            writer = ShardWriter(root / name, layout, range(first_sample, first_sample + len(chunk)), values, seeds)
            try:
                for j, (s, t) in enumerate(chunk):
                    fields = plan.sources[s].read(t)
                    for v in plan.variables:
                        if not np.isfinite(fields[v]).all():
                            raise SourceError(f"{plan.sources[s].name}: trajectory {t} of '{v}' holds NaN/Inf "
                                              "(a corrupted or diverged source)")
                    block = np.stack([truncate(fields[v], plan.shape) for v in plan.variables], axis=1)
                    if split.name == "train":
                        for k, v in enumerate(plan.variables):
                            moments[v].update(block[:, k])
                    writer.write(j, block[None])
                digest, size = writer.commit()
            except BaseException:
                writer.abort()
                raise
            entries.append({"file": name, "sha256": digest, "bytes": size, "samples": len(chunk),
                            "first_sample": first_sample})
            shard_count += 1
        splits[split.name] = {"samples": len(samples), "origin": [[r.source, r.start, r.stop] for r in split.runs],
                              "shards": entries}
    train = next(p for p in plan.splits if p.name == "train")
    train_values = {"viscosity": np.concatenate([[plan.viscosities[r.source]] * (r.stop - r.start) for r in train.runs])}
    for p in plan.parameters:
        train_values[p] = np.concatenate([[plan.sources[r.source].parameters[p]] * (r.stop - r.start)
                                          for r in train.runs])
    stats = {"split": "train", "samples": train.samples,
             "variables": {v: {"mean": m.mean, "std": m.std} for v, m in moments.items()},
             "parameters": {p: {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
                                "max": float(v.max())} for p, v in train_values.items()}}
    ly, lx = first.domain_lengths
    manifest = {
        "format": FORMAT,
        "origin": "import",
        "title": _attributes(plan, config, fmt, "", "", licence, citation)["title"],
        "package": {"name": "pdesurrogate", "version": package_version()},
        "git": source_revision(),
        "created": now(),
        "command": command,
        "import": {
            "format": fmt, "config": config.text, "dataset_name": first.attributes.get("dataset_name"),
            "viscosity": plan.viscosity_rule, "licence": licence, "citation": citation, "sources": sources,
            "resolution": {"source": [sy, sx], "saved": [my, mx],
                           "method": "spectral truncation" if coarsened else "none (the source grid)"},
            "axis_order": "the source's (x, y) arrays are stored as (y, x)",
        },
        "variables": list(plan.variables),
        "variable_metadata": {v: list(m) for v, m in plan.variables.items()},
        "parameters": {p: list(m) for p, m in parameter_meta.items()},
        "grid": {"shape": [my, mx], "domain_length": [ly, lx], "origin": [float(y[0]), float(x[0])],
                 "length_units": layout_units[0], "time_units": layout_units[1], "times": plan.times.tolist()},
        "sample_counts": {name: entry["samples"] for name, entry in splits.items()},
        "splits": splits,
    }
    write_json(root / STATS, stats)
    write_json(root / MANIFEST, manifest)
    write_card(root, manifest, stats)
    return ImportResult(out, manifest["sample_counts"], shard_count, sum(s["bytes"] for s in sources))
