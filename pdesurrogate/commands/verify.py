"""``pdesurrogate verify DIR``: a thin wrapper over :func:`data_gen.dataset.verify`; exit 0 only when clean."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="dataset directory written by `pdesurrogate generate`")


def run(args: argparse.Namespace) -> int:
    from data_gen.dataset import verify

    report = verify(args.dir)
    for problem in report.problems:
        print(f"problem: {problem}")
    print(report.summary())
    return 0 if report.clean else 1
