"""``pdesurrogate generate CONFIG --out DIR``: a thin wrapper over :func:`data_gen.dataset.generate`."""

from __future__ import annotations

import argparse
import sys
import warnings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="dataset config (YAML), e.g. configs/data/ns_ood_small.yaml")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset directory (created; resumed if it exists)")
    parser.add_argument("--shard", metavar="I/N",
                        help="generate only the shards at positions ≡ I (mod N); by default taken from torchrun "
                             "(RANK/WORLD_SIZE) or a SLURM array, else all shards")
    parser.add_argument("--device", default="cpu", metavar="cpu|cuda", help="where to simulate (default: cpu)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a dataset that DIR holds from a different config (same config: resume)")
    parser.add_argument("--threads", type=int, default=None, metavar="K",
                        help="torch threads per process on CPU (default: torch's, divided among the ranks that "
                             "torchrun starts on this node; with several --shard processes on one machine, keep "
                             "processes × K ≤ cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the finite-difference tendencies (shallow water, finite-difference "
                             "Navier-Stokes): ~2x faster steps after tens of seconds of compilation; values equal "
                             "to round-off, not bit for bit")


def run(args: argparse.Namespace) -> int:
    from data_gen.allocator import keep_freed_memory
    from data_gen.dataset import UnderResolvedWarning, generate

    keep_freed_memory()  # the stepper's buffers are reused instead of page-faulted afresh at every stage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnderResolvedWarning)  # printed below as one line each
        result = generate(args.config, args.out, shard=args.shard, device=args.device, overwrite=args.overwrite,
                          progress=not args.no_progress, threads=args.threads, compile=args.compile)
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    print(result.summary())
    return 0
