"""A source file as the importers see it: trajectories on a uniform periodic grid, in (time, y, x).

Every reader (The Well, FNO ``.mat``, ``.pt``) turns its file into a :class:`SourceFile`: metadata
read and checked without touching field values, and a ``read(trajectory)`` that returns one
trajectory's fields already transposed into pdesurrogate's ``(time, y, x)`` order. Reading one
trajectory at a time bounds memory by the largest trajectory, whatever the file's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SourceError

# Deflate (zlib, gzip: what HDF5 and MATLAB compress with) cannot shrink data by more than about
# 1032:1, so a declared array more than this many times larger than its file is not in the file.
MAX_COMPRESSION_RATIO = 1032


@dataclass
class SourceFile:
    path: Path
    trajectories: int
    times: np.ndarray  # (time,) float64
    x: np.ndarray  # (nx,) positions of the saved values
    y: np.ndarray  # (ny,)
    variables: dict[str, tuple[str, str]]  # name -> (long_name, units), in channel order
    read: Callable[[int], dict[str, np.ndarray]]  # trajectory -> {variable: (time, y, x) float32}
    parameters: dict[str, float] = field(default_factory=dict)  # the file's simulation parameters
    attributes: dict = field(default_factory=dict)  # dataset_name, equation, forcing, ...
    seeds: np.ndarray | None = None  # per-trajectory seeds, when the file records them
    split: str | None = None  # the split a pdesurrogate export put these trajectories in
    skipped: list[str] = field(default_factory=list)  # fields not imported, and why
    close: Callable[[], None] = lambda: None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.y), len(self.x)

    @property
    def domain_lengths(self) -> tuple[float, float]:
        """``(Ly, Lx)``: a periodic axis of ``n`` points spaced ``d`` apart is ``n·d`` long."""
        return tuple(periodic_length(c) for c in (self.y, self.x))


def periodic_length(positions: np.ndarray) -> float:
    if len(positions) < 2:
        return 1.0
    return float(len(positions) * (positions[1] - positions[0]))


def check_uniform(path: Path, name: str, positions: np.ndarray) -> np.ndarray:
    """Positions of a uniform grid (strictly increasing, equally spaced), else one line."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1)
    if positions.size < 2 or not np.all(np.isfinite(positions)):
        raise SourceError(f"{path.name}: {name} must hold at least 2 finite positions (got {positions.size})")
    steps = np.diff(positions)
    if not (steps > 0).all() or np.ptp(steps) > 1e-6 * abs(steps.mean()):
        raise SourceError(f"{path.name}: {name} is not a uniformly spaced, increasing grid; only uniform periodic "
                          "grids can be imported")
    return positions


def check_declared(path: Path, name: str, shape: tuple[int, ...], itemsize: int, stored_bytes: int | None = None,
                   compressed: bool = True) -> None:
    """Refuse an array whose declared size cannot be in the file, before anything is allocated for it.

    Uncompressed data needs its full size on disk; compressed data at least 1/1032 of it (the
    deflate bound). ``stored_bytes`` is what the container says it stored (HDF5), else the file size.
    """
    declared = math.prod(int(n) for n in shape) * itemsize
    available = path.stat().st_size if stored_bytes is None else stored_bytes
    bound = available * (MAX_COMPRESSION_RATIO if compressed else 1)
    if declared > bound:
        raise SourceError(f"{path.name}: {name} declares shape {tuple(int(n) for n in shape)} "
                          f"({declared / 2**20:.1f} MiB), which cannot fit in the "
                          f"{available / 2**20:.3g} MiB stored for it: the file is truncated or its header is corrupt")


def expect_shape(path: Path, name: str, shape: tuple[int, ...], expected: tuple[int, ...], meaning: str) -> None:
    if tuple(shape) != tuple(expected):
        raise SourceError(f"{path.name}: {name} has shape {tuple(shape)}, expected {meaning} = {tuple(expected)}")
