"""Community data formats: import The Well and the FNO Navier–Stokes files, export to The Well.

``import_dataset`` turns source files into an ordinary pdesurrogate dataset (CF shards, manifest
with the sources' names, sizes and sha256, licence and citation, ``stats.json``, ``DATASET.md``);
``export_well`` writes a dataset in The Well's HDF5 layout. h5py (HDF5, .mat v7.3) and scipy
(.mat v5) are optional: ``pip install 'pdesurrogate[community]'``.
"""

from __future__ import annotations

from pathlib import Path

from .config import ImportConfig, load_import_config, parse_import_config
from .errors import SourceError
from .export import ExportResult, export_well
from .plan import ImportPlan, plan_import
from .write import ImportResult, write_import

FORMATS = ("the-well", "fno-mat", "fno-pt")


def open_source(fmt: str, path: Path, config: ImportConfig):
    if fmt == "the-well":
        from .well import open_well

        return open_well(path)
    from .fno import open_mat, open_pt

    return (open_mat if fmt == "fno-mat" else open_pt)(path, config.saved_interval)


def import_dataset(fmt: str, sources: list[str | Path], out: str | Path, config: ImportConfig | None = None,
                   command: str | None = None) -> ImportResult:
    """Import ``sources`` (files of format ``fmt``) into a new dataset directory ``out``."""
    if fmt not in FORMATS:
        raise SourceError(f"FORMAT: {fmt!r} is not an import format; accepted: {', '.join(FORMATS)}")
    config = config or ImportConfig()
    opened = []
    try:
        for path in sources:
            opened.append(open_source(fmt, Path(path), config))
        plan = plan_import(opened, config)
        command = command or f"pdesurrogate import {fmt} {' '.join(str(p) for p in sources)} --out {out}"
        return write_import(plan, config, fmt, out, command)
    finally:
        for source in opened:
            source.close()


__all__ = ["ExportResult", "FORMATS", "ImportConfig", "ImportPlan", "ImportResult", "SourceError", "export_well",
           "import_dataset", "load_import_config", "parse_import_config", "plan_import"]
