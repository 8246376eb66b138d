"""The subcommands of ``pdesurrogate``: one ``register`` call each; a module is imported when its command runs."""

from ..cli import register

register("generate", "pdesurrogate.commands.generate",
         "generate a dataset from a YAML config into sharded netCDF files (resumable, shardable)")
register("verify", "pdesurrogate.commands.verify",
         "check a dataset: checksums, schema, NaN/Inf, sample counts, disjoint splits")

# Lightning subcommands: LightningCLI parses their arguments (see pdesurrogate.commands.lightning).
_LIGHTNING = "pdesurrogate.commands.lightning"
register("fit", _LIGHTNING, "train a surrogate (Lightning CLI: --config configs/fit/NAME.yaml)")
register("validate", _LIGHTNING, "evaluate a checkpoint on the validation split (Lightning CLI)")
register("test", _LIGHTNING, "evaluate a checkpoint on the test splits (Lightning CLI)")
register("predict", _LIGHTNING, "roll a checkpoint out on the predict split (Lightning CLI)")
