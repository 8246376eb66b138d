"""``manifest.json``: the record of a complete dataset (config, provenance, shards, resolution check)."""

from __future__ import annotations

from ..symmetry import symmetry_record
from .config import DatasetConfig
from .plan import Shard
from .provenance import now, package_version, source_revision
from .resolution import UNDER_RESOLVED_THRESHOLD, ShellFractionSummary

FORMAT = "pdesurrogate-dataset/1"
MANIFEST = "manifest.json"
STATS = "stats.json"
GENERATION = ".generation"


def assemble_manifest(config: DatasetConfig, shards: list[Shard], records: dict[str, dict], started: str | None) -> dict:
    """The manifest of ``config``'s dataset from every shard's record (``records``: shard name -> record)."""
    manifest = {
        "format": FORMAT,
        "title": config.title,
        "config": config.text,
        "config_fingerprint": config.fingerprint,
        "resolved_config": config.resolved,
        "package": {"name": "pdesurrogate", "version": package_version()},
        "git": source_revision(),
        "generation_started": started,
        "created": now(),
        "variables": list(config.variables),
        "sample_counts": {split.name: split.samples for split in config.splits},
        # The lattice maps the equations and forcing are invariant under (docs/symmetry.md).
        "symmetry": symmetry_record(config),
        "splits": {},
    }
    cutoff = config.builder.highest_retained_wavenumber(config.sim_resolution)
    for split in config.splits:
        split_shards = [s for s in shards if s.split == split.name]
        shells = ShellFractionSummary()
        entries = []
        for shard in split_shards:
            record = records[shard.name]
            shells.merge(ShellFractionSummary.from_dict(record["shell_fraction"]))
            entries.append({k: record[k] for k in ("file", "sha256", "bytes", "samples", "first_sample",
                                                   "moments", "shell_fraction")})
        manifest["splits"][split.name] = {
            "samples": split.samples,
            "seed": split.seed,
            "resolution_check": {
                "quantity": "fraction of enstrophy in the highest retained wavenumber shell",
                "highest_retained_wavenumber": cutoff,
                "shell": f"{cutoff - 1} < |k| <= {cutoff} (integer wavenumbers of the simulated grid)",
                "max": shells.maximum,
                "mean": shells.mean,
                "threshold": UNDER_RESOLVED_THRESHOLD,
                "resolved": shells.resolved,
            },
            "shards": entries,
        }
    return manifest
