"""The dataset directory's bookkeeping: whose config it holds, which shards are done, completion.

Several processes (``--shard I/N``, torchrun ranks, SLURM array tasks) may fill one directory at
once, so nothing here is read-modify-write on a shared file:

- each finished shard gets its own record file ``.generation/records/<split>.shard-XXXXX.json``
  (its checksum, sample count, partial statistics and resolution check), written atomically;
- the config check at start and the manifest at the end run under an exclusive ``flock`` on
  ``.generation/lock``, and every JSON file is written to a temporary name and renamed;
- whichever process sees all shards recorded writes ``stats.json`` and then ``manifest.json``
  (its presence marks a complete dataset), and folds the records into the manifest.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from .atomic import atomic_write_text, write_json
from .card import CARD, write_card
from .config import DatasetConfig
from .fingerprint import data_settings
from .locking import exclusive_lock
from .manifest import GENERATION, MANIFEST, STATS, assemble_manifest
from .plan import Shard
from .provenance import now
from .statistics import train_statistics


def _differences(old, new, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) | set(new), key=str)
                for d in _differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    return [] if old == new else [path or "config"]


class DatasetDirectory:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.generation = self.root / GENERATION
        self.records_dir = self.generation / "records"
        self.manifest_path = self.root / MANIFEST
        self.stats_path = self.root / STATS

    # --- reading ----------------------------------------------------------------------------
    def read_manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None

    def stored_settings(self) -> dict | None:
        """``{"resolved": ..., "fingerprint": ...}`` of the config this directory was started with."""
        try:
            return json.loads((self.generation / "config.json").read_text())
        except (OSError, ValueError):
            manifest = self.read_manifest()
            if manifest and "resolved_config" in manifest:
                return {"resolved": manifest["resolved_config"], "fingerprint": manifest["config_fingerprint"],
                        "started": manifest.get("generation_started")}
        return None

    def records(self, fingerprint: str) -> dict[str, dict]:
        """Shard name -> record, from the manifest and the record files (newer) of this config."""
        # Record files first, manifest second: a process completing the dataset writes the manifest
        # before it deletes the record files, so one of the two reads sees every record.
        from_files = {}
        if self.records_dir.is_dir():
            for path in self.records_dir.glob("*.json"):
                try:
                    record = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue  # unreadable or vanished: the shard is simply redone
                if record.get("config_fingerprint") == fingerprint:
                    from_files[record["file"]] = record
        records = {}
        manifest = self.read_manifest()
        if manifest and manifest.get("config_fingerprint") == fingerprint:
            for split in manifest.get("splits", {}).values():
                records.update({shard["file"]: shard for shard in split.get("shards", [])})
        records.update(from_files)
        return records

    # --- locking and preparing --------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        self.generation.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.generation / "lock"):
            yield

    def prepare(self, config: DatasetConfig, overwrite: bool = False) -> None:
        """Claim the directory for ``config``: refuse another config's dataset unless ``overwrite``.

        With the same config this is a resume, even with ``overwrite``: then every rank of a
        distributed run may pass the same flags without wiping its peers' shards.
        """
        if not overwrite and self.root.is_dir() and self.stored_settings() is None:
            # Checked before taking the lock, which would leave a .generation/ behind.
            foreign = sorted(p.name for p in self.root.iterdir() if p.name != GENERATION)
            if foreign:
                raise FileExistsError(
                    f"{self.root} is not empty and holds no pdesurrogate dataset ({', '.join(foreign[:5])}"
                    f"{' …' if len(foreign) > 5 else ''}); choose an empty --out or pass --overwrite"
                )
        with self.lock():
            stored = self.stored_settings()
            if stored is not None and stored["fingerprint"] != config.fingerprint:
                if not overwrite:
                    changed = _differences(data_settings(stored["resolved"]), data_settings(config.resolved))
                    raise FileExistsError(
                        f"{self.root} holds a dataset generated from a different config (differs in "
                        f"{', '.join(changed[:6])}{' …' if len(changed) > 6 else ''}); pass --overwrite to replace "
                        "it, or choose another --out"
                    )
                self._clear(stored["resolved"])
                stored = None
            if stored is None:
                atomic_write_text(self.generation / "config.yaml", config.text)
                write_json(self.generation / "config.json",
                           {"resolved": config.resolved, "fingerprint": config.fingerprint, "started": now()})

    def _clear(self, resolved: dict) -> None:
        """Remove what a previous dataset wrote here (and nothing else a user may have put here)."""
        for path in (self.manifest_path, self.stats_path, self.root / CARD):
            path.unlink(missing_ok=True)
        for split in resolved.get("splits", {}):
            directory = self.root / split
            if directory.is_dir():
                for pattern in ("shard-*.nc", "shard-*.nc.tmp"):
                    for path in directory.glob(pattern):
                        path.unlink()
                with contextlib.suppress(OSError):
                    directory.rmdir()
        shutil.rmtree(self.records_dir, ignore_errors=True)
        for name in ("config.yaml", "config.json"):
            (self.generation / name).unlink(missing_ok=True)

    # --- recording and completing -------------------------------------------------------------
    def pending_records(self) -> list[Path]:
        """Record files not yet folded into the manifest."""
        return sorted(self.records_dir.glob("*.json")) if self.records_dir.is_dir() else []

    def write_record(self, record: dict) -> None:
        self.records_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.records_dir / (record["file"].replace("/", ".") + ".json"), record)

    def missing_shards(self, shards: list[Shard], records: dict[str, dict]) -> list[Shard]:
        """Shards without a record, or whose file is gone or has the wrong size (checksums: verify)."""
        missing = []
        for shard in shards:
            record = records.get(shard.name)
            path = self.root / shard.name
            if record is None or not path.is_file() or path.stat().st_size != record["bytes"]:
                missing.append(shard)
        return missing

    def complete(self, config: DatasetConfig, shards: list[Shard]) -> dict | None:
        """Write ``stats.json`` and ``manifest.json`` if every shard is recorded; returns the manifest."""
        with self.lock():
            records = self.records(config.fingerprint)
            if self.missing_shards(shards, records):
                return None
            existing = self.read_manifest()
            if (existing and existing.get("config_fingerprint") == config.fingerprint and not self.pending_records()
                    and self.stats_path.is_file()):
                return existing  # already complete: leave it (and its creation time) as it is
            stored = self.stored_settings() or {}
            manifest = assemble_manifest(config, shards, records, started=stored.get("started"))
            stats = train_statistics(config, records, shards)
            write_json(self.stats_path, stats)
            write_card(self.root, manifest, stats)  # before the manifest, whose presence marks completion
            write_json(self.manifest_path, manifest)
            # The manifest now holds every record; drop the per-shard files (and the in-progress
            # config, which the manifest supersedes).
            shutil.rmtree(self.records_dir, ignore_errors=True)
            (self.generation / "config.yaml").unlink(missing_ok=True)
            (self.generation / "config.json").unlink(missing_ok=True)
            return manifest
