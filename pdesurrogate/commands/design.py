"""``pdesurrogate design CONFIG --out DIR``: inverse design and inverse problems, verified by the solver."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="design config (YAML), e.g. configs/design/ns_viscosity.yaml")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (design.json and figures)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..design.config import parse_design
    from ..design.runner import DesignRun

    DesignRun(parse_design(args.config), args.out, progress=not args.no_progress).run()
    return 0
