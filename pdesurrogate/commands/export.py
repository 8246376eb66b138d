"""``pdesurrogate export the-well DATASET --out DIR``: a dataset -> The Well's HDF5 layout."""

from __future__ import annotations

import argparse

EXPORT_FORMATS = ("the-well",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", metavar="FORMAT", choices=EXPORT_FORMATS, help="the-well")
    parser.add_argument("dataset", metavar="DATASET", help="a pdesurrogate dataset directory")
    parser.add_argument("--out", required=True, metavar="DIR", help="new directory for the exported files")


def run(args: argparse.Namespace) -> int:
    from data_gen.community import export_well

    print(export_well(args.dataset, args.out).summary())
    return 0
