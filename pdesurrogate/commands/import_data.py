"""``pdesurrogate import FORMAT SOURCE... --out DIR [--config IMPORT.yaml]``: community data -> a dataset."""

from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", metavar="FORMAT", help="the-well (HDF5), fno-mat (.mat v5/v7.3) or fno-pt "
                                                          "(neuraloperator .pt dictionaries of tensors)")
    parser.add_argument("sources", metavar="SOURCE", nargs="+", help="source files (The Well: one per parameter set)")
    parser.add_argument("--out", required=True, metavar="DIR", help="new dataset directory (must not hold anything)")
    parser.add_argument("--config", metavar="IMPORT.yaml",
                        help="splits by parameter value, trajectories per file, coarsening, viscosity, licence")


def run(args: argparse.Namespace) -> int:
    from data_gen.community import import_dataset, load_import_config

    config = load_import_config(args.config)
    command = "pdesurrogate " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["import"] \
        else None
    result = import_dataset(args.format, args.sources, args.out, config, command=command)
    print(result.summary())
    return 0
