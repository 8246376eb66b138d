"""``pdesurrogate active CONFIG --out DIR``: deep ensembles and active learning of viscosities."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="active-learning config (YAML), e.g. configs/active/ns_ood_small.yaml")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created; a rerun resumes: finished rounds are never redone)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..active.config import parse_active
    from ..active.loop import ActiveLearning

    ActiveLearning(parse_active(args.config), args.out, progress=not args.no_progress).run()
    return 0
