"""The subcommands of ``pdesurrogate``: one ``register`` call each; a module is imported when its command runs."""

from ..cli import register

register("generate", "pdesurrogate.commands.generate",
         "generate a dataset from a YAML config into sharded netCDF files (resumable, shardable)")
register("verify", "pdesurrogate.commands.verify",
         "check a dataset: checksums, schema, NaN/Inf, sample counts, disjoint splits")
