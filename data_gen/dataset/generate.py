"""A validated config to a sharded, resumable, self-describing netCDF dataset.

Work is divided by shard: process ``I`` of ``N`` generates the shards whose position in the
dataset is ``≡ I (mod N)``, so any number of processes can fill one directory without talking to
each other. A shard is simulated batch by batch and streamed to disk; a finished shard is skipped
by later runs when its checksum matches its record.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..errors import ParameterError
from ..paths import writable_directory
from .coarse_check import record_coarse_solver_errors
from .config import DatasetConfig, load_config
from .directory import DatasetDirectory
from .layout import shard_layout
from .memory import check_memory
from .plan import Shard, dataset_shards, sample_parameters, sample_seeds
from .provenance import now
from .resolution import ShellFractionSummary, under_resolved_message
from .simulate import simulate_batch
from .statistics import RunningMoments
from .writer import ShardWriter, sha256_of


class UnderResolvedWarning(UserWarning):
    """A split's flow keeps too much enstrophy at the grid's highest retained wavenumbers."""


@dataclass(frozen=True)
class Worker:
    """This process's share of the shards: those at positions ``≡ index (mod count)``."""

    index: int
    count: int
    source: str

    def owns(self, shard: Shard) -> bool:
        return shard.order % self.count == self.index


def _env_int(environ: Mapping[str, str], name: str) -> int:
    try:
        return int(environ[name])
    except ValueError:
        raise ParameterError(f"environment variable {name} must be an integer (got {environ[name]!r})") from None


def resolve_worker(shard: str | None, environ: Mapping[str, str] | None = None) -> Worker:
    """``--shard I/N`` if given, else torchrun's ``RANK``/``WORLD_SIZE``, else a SLURM array task."""
    environ = os.environ if environ is None else environ
    if shard is not None:
        try:
            index, count = (int(part) for part in shard.split("/"))
        except ValueError:
            raise ParameterError(f"--shard must be I/N with integers 0 <= I < N (got {shard!r})") from None
        if not 0 <= index < count:
            raise ParameterError(f"--shard must be I/N with 0 <= I < N (got {shard!r})")
        return Worker(index, count, f"--shard {index}/{count}")
    if "WORLD_SIZE" in environ and "RANK" in environ:
        rank, world = _env_int(environ, "RANK"), _env_int(environ, "WORLD_SIZE")
        # A wrong rank would silently leave shards to nobody (or generate another's twice).
        if world < 1:
            raise ParameterError(f"environment variable WORLD_SIZE must be >= 1 (got {world})")
        if not 0 <= rank < world:
            raise ParameterError(f"environment variable RANK must be in [0, WORLD_SIZE = {world}) (got {rank})")
        return Worker(rank, world, f"RANK {rank} of WORLD_SIZE {world}")
    if "SLURM_ARRAY_TASK_ID" in environ and "SLURM_ARRAY_TASK_COUNT" in environ:
        # Array task ids need not start at 0 or be consecutive (--array=1-16:3).
        first = _env_int(environ, "SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in environ else 0
        step = _env_int(environ, "SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in environ else 1
        task, count = _env_int(environ, "SLURM_ARRAY_TASK_ID"), _env_int(environ, "SLURM_ARRAY_TASK_COUNT")
        if count < 1:
            raise ParameterError(f"environment variable SLURM_ARRAY_TASK_COUNT must be >= 1 (got {count})")
        step = max(1, step)
        index, offset = divmod(task - first, step)
        if offset or not 0 <= index < count:
            ids = [first + i * step for i in range(count)] if count <= 3 else [first, first + step, "...",
                                                                               first + (count - 1) * step]
            raise ParameterError(f"environment variable SLURM_ARRAY_TASK_ID must be one of "
                                 f"{', '.join(map(str, ids))} (from SLURM_ARRAY_TASK_MIN/STEP/COUNT) (got {task})")
        return Worker(index, count, f"SLURM array task {index} of {count}")
    return Worker(0, 1, "single process")


def resolve_device(name: str, environ: Mapping[str, str] | None = None) -> torch.device:
    environ = os.environ if environ is None else environ
    if name == "cpu":
        return torch.device("cpu")
    index = None
    if name.startswith("cuda:"):
        suffix = name.removeprefix("cuda:")
        # torch.device("cuda:abc") raises a bare RuntimeError; check the form first.
        if not (suffix.isascii() and suffix.isdigit()):
            raise ParameterError(f"--device must be cpu, cuda or cuda:N with an integer N >= 0 (got {name!r})")
        index = int(suffix)
    elif name != "cuda":
        raise ParameterError(f"--device must be cpu, cuda or cuda:N (got {name!r})")
    if not torch.cuda.is_available():
        raise ParameterError(
            f"--device: {name} requested but torch sees no CUDA device (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda or 'none'}); use --device cpu"
        )
    count = torch.cuda.device_count()
    if index is not None:
        if index >= count:
            raise ParameterError(f"--device: {name} requested but torch sees {count} CUDA device(s), "
                                 f"cuda:0 to cuda:{count - 1}")
        return torch.device("cuda", index)
    if "LOCAL_RANK" in environ:
        # One GPU per torchrun process on a multi-GPU node.
        return torch.device("cuda", _env_int(environ, "LOCAL_RANK") % count)
    return torch.device("cuda")


def write_shard(config: DatasetConfig, root: Path, shard: Shard, device: torch.device, worker: Worker,
                on_batch=lambda samples: None, compile: bool = False) -> dict:
    """Simulate and write one shard; returns its record (checksum, partial statistics, resolution)."""
    split = config.split(shard.split)
    grid = config.grid(device)
    indices = list(shard.sample_indices)
    parameters = sample_parameters(config, split, indices)
    history = f"{now()}: pdesurrogate generate, shard {shard.name} ({worker.source})"
    layout = shard_layout(config, split, shard, history=history)
    writer = ShardWriter(root / shard.name, layout, indices, parameters, sample_seeds(split, indices))
    moments = {name: RunningMoments() for name in config.variables}
    shells = ShellFractionSummary()
    try:
        for start in range(0, len(indices), config.batch_size):
            batch = indices[start : start + config.batch_size]
            batch_parameters = {name: v[start : start + len(batch)] for name, v in parameters.items()}
            block = simulate_batch(config, grid, split, batch, batch_parameters, shells, compile=compile)
            writer.write(start, block)
            for v, name in enumerate(config.variables):
                moments[name].update(block[:, :, v])
            on_batch(len(batch))
        digest, size = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {
        "file": shard.name,
        "config_fingerprint": config.fingerprint,
        "sha256": digest,
        "bytes": size,
        "samples": shard.num_samples,
        "first_sample": shard.start,
        "moments": {name: m.to_dict() for name, m in moments.items()},
        "shell_fraction": shells.to_dict(),
    }


@dataclass
class GenerationResult:
    root: Path
    worker: Worker
    sample_counts: dict[str, int]
    total_shards: int
    written_shards: int = 0
    written_samples: int = 0
    skipped_shards: int = 0
    missing_shards: int = 0  # still to be generated by other processes
    seconds: float = 0.0
    manifest: dict | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in self.sample_counts.items())
        state = ("dataset complete" if self.manifest is not None
                 else f"{self.missing_shards} of {self.total_shards} shards still to be generated by other processes")
        return (f"{self.root}: {sum(self.sample_counts.values())} samples ({counts}) in {self.total_shards} shards; "
                f"this process ({self.worker.source}) wrote {self.written_samples} samples in {self.written_shards} "
                f"shards, skipped {self.skipped_shards} complete, in {self.seconds:.1f} s; {state}")


def generate(
    config: DatasetConfig | str | Path,
    out: str | Path,
    *,
    shard: str | None = None,
    device: str = "cpu",
    overwrite: bool = False,
    progress: bool = True,
    environ: Mapping[str, str] | None = None,
    threads: int | None = None,
    compile: bool = False,
) -> GenerationResult:
    """Generate this process's shards of ``config`` into ``out`` and complete the manifest if all are done.

    Everything a user can get wrong (config, ``--shard``, device, a directory holding another
    dataset) is checked before the first simulation step. ``threads`` sets torch's intra-op
    threads for this process (``None``: torch's own count, shared out among the processes that
    torchrun starts on this node, so that co-located ranks do not oversubscribe the cores).
    ``compile`` evaluates the finite-difference solvers' tendencies with ``torch.compile``
    (:mod:`data_gen.compilation`): tens of seconds once per process, then about twice as fast
    steps; the saved values equal eager ones to round-off, not bit for bit.
    """
    started = time.perf_counter()
    writable_directory(out, "--out")
    if not isinstance(config, DatasetConfig):
        config = load_config(config)
    worker = resolve_worker(shard, environ)
    torch_device = resolve_device(device, environ)
    if threads is not None and not (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1):
        raise ParameterError(f"--threads must be an integer >= 1 (got {threads!r})")
    previous_threads = torch.get_num_threads()
    environ = os.environ if environ is None else environ
    if threads is None:
        local_ranks = _env_int(environ, "LOCAL_WORLD_SIZE") if "LOCAL_WORLD_SIZE" in environ else 1
        threads = max(1, previous_threads // max(1, local_ranks))
    # Shards are simulated in batches of at most batch_size samples, never across shards.
    check_memory(config, min(config.batch_size, config.samples_per_shard), torch_device, "simulate one batch")
    torch.set_num_threads(threads)
    try:
        return _generate(config, out, worker, torch_device, overwrite, progress, started, compile)
    finally:
        torch.set_num_threads(previous_threads)


def _generate(config: DatasetConfig, out, worker: Worker, torch_device: torch.device, overwrite: bool,
              progress: bool, started: float, compile: bool = False) -> GenerationResult:
    directory = DatasetDirectory(out)
    directory.prepare(config, overwrite=overwrite)

    shards = dataset_shards(config)
    records = directory.records(config.fingerprint)
    todo, skipped = [], 0
    for s in shards:
        if not worker.owns(s):
            continue
        record, path = records.get(s.name), directory.root / s.name
        if record is not None and path.is_file() and sha256_of(path) == record["sha256"]:
            skipped += 1
        else:
            todo.append(s)

    result = GenerationResult(directory.root, worker, {s.name: s.samples for s in config.splits}, len(shards),
                              skipped_shards=skipped)
    with tqdm(total=sum(s.num_samples for s in todo), unit="sample", desc="generate", disable=not progress,
              dynamic_ncols=True) as bar:
        for s in todo:
            bar.set_postfix_str(s.name)
            record = write_shard(config, directory.root, s, torch_device, worker, on_batch=bar.update, compile=compile)
            directory.write_record(record)
            result.written_shards += 1
            result.written_samples += s.num_samples

    result.manifest = directory.complete(config, shards)
    if result.manifest is not None:
        result.manifest = record_coarse_solver_errors(directory, config, torch_device)
    records = directory.records(config.fingerprint)
    result.missing_shards = len(directory.missing_shards(shards, records))
    for split in config.splits:
        shells = ShellFractionSummary()
        for s in shards:
            if s.split == split.name and s.name in records:
                shells.merge(ShellFractionSummary.from_dict(records[s.name]["shell_fraction"]))
        if not shells.resolved:
            cutoff = config.builder.highest_retained_wavenumber(config.sim_resolution)
            message = under_resolved_message(split.name, shells, config.sim_resolution, cutoff)
            result.warnings.append(message)
            warnings.warn(message, UnderResolvedWarning, stacklevel=3)
    result.seconds = time.perf_counter() - started
    return result
