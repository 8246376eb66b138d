"""``pdesurrogate benchmark CONFIG --out DIR``: the out-of-distribution viscosity benchmark."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="benchmark config (YAML), e.g. configs/bench/ns_ood_small.yaml")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created; a rerun reuses finished trainings)")
    parser.add_argument("--shard", metavar="I/N",
                        help="train only the model × seed runs at positions ≡ I (mod N); by default taken from "
                             "torchrun (RANK/WORLD_SIZE) or a SLURM array, else all")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: aggregate the finished runs in DIR into results, figures and report")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..benchmark.config import parse_benchmark
    from ..benchmark.runner import Benchmark

    bench = Benchmark(parse_benchmark(args.config), args.out, progress=not args.no_progress)
    if args.report_only:
        bench.aggregate(allow_missing=True)
    else:
        bench.run(args.shard)
    return 0
