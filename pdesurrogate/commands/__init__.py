"""The subcommands of ``pdesurrogate``: name -> (module, one-line help).

A module is imported only when its command runs, so ``pdesurrogate generate`` does not pay for
importing Lightning. argparse subcommands expose ``add_arguments(parser)`` and ``run(args)``;
the Lightning ones expose ``run_lightning(argv)`` and let LightningCLI parse everything.
"""

_LIGHTNING = "pdesurrogate.commands.lightning"

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("pdesurrogate.commands.generate",
                 "generate a dataset from a YAML config into sharded netCDF files (resumable, shardable)"),
    "verify": ("pdesurrogate.commands.verify",
               "check a dataset: checksums, schema, NaN/Inf, sample counts, disjoint splits"),
    "import": ("pdesurrogate.commands.import_data",
               "import community data (The Well, FNO .mat/.pt files) as a dataset: splits by parameter, coarsening"),
    "export": ("pdesurrogate.commands.export", "export a dataset in a community format (the-well: HDF5)"),
    "benchmark": ("pdesurrogate.commands.benchmark",
                  "the out-of-distribution viscosity benchmark: train models × seeds, score test splits, report"),
    "design": ("pdesurrogate.commands.design",
               "inverse design and inverse problems through a surrogate, every design re-simulated by the solver"),
    "quickstart": ("pdesurrogate.commands.quickstart",
                   "the whole pipeline, small: sweep, dataset, training, OOD benchmark, viscosity inference, report"),
    "active": ("pdesurrogate.commands.active",
               "deep ensembles and active learning: choose which viscosities to simulate from ensemble disagreement"),
    "fit": (_LIGHTNING, "train a surrogate (Lightning CLI: --config configs/fit/NAME.yaml)"),
    "validate": (_LIGHTNING, "evaluate a checkpoint on the validation split (Lightning CLI)"),
    "test": (_LIGHTNING, "evaluate a checkpoint on the test splits (Lightning CLI)"),
    "predict": (_LIGHTNING, "roll a checkpoint out on the predict split (Lightning CLI)"),
}

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")
