"""``pdesurrogate quickstart --out DIR [--fast]``: the toolkit's main job, small, in one command."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_output", metavar="DIR",
                        help="output directory (default demo_output; a rerun reuses finished stages)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny data and models: every stage in under 2 minutes on a CPU (numbers mean little)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..quickstart import quickstart

    quickstart(args.out, fast=args.fast, progress=not args.no_progress)
    return 0
