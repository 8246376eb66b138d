"""Spectral truncation of a doubly periodic field to a coarser, possibly non-square grid."""

from __future__ import annotations

import numpy as np
import torch

from .errors import SourceError


def truncate(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(..., ny, nx)`` -> ``(..., my, mx)`` keeping the modes ``|ky| < my/2``, ``|kx| < mx/2``.

    The same rule as :func:`data_gen.spectral.spectral_truncate`, per axis: a field whose spectrum
    already fits is reproduced exactly at the coarse points, nothing is aliased, and the coarse
    Nyquist modes (not representable symmetrically) are dropped. Computed in float64.
    """
    ny, nx = field.shape[-2:]
    my, mx = shape
    if (my, mx) == (ny, nx):
        return field
    if my > ny or mx > nx:
        raise SourceError(f"import config resolution: {list(shape)} is finer than the source grid [{ny}, {nx}]; "
                          "coarsening only")
    coeffs = torch.fft.rfft2(torch.from_numpy(np.asarray(field, dtype=np.float64)), norm="forward")
    hy, hx = my // 2, mx // 2
    kept = torch.zeros(*field.shape[:-2], my, hx + 1, dtype=coeffs.dtype)
    kept[..., :hy, :hx] = coeffs[..., :hy, :hx]
    kept[..., my - hy + 1:, :hx] = coeffs[..., ny - hy + 1:, :hx]
    return torch.fft.irfft2(kept, s=(my, mx), norm="forward").numpy().astype(field.dtype, copy=False)


def coarse_positions(positions: np.ndarray, n: int) -> np.ndarray:
    """Points ``x_0 + i·L/n`` of the coarse grid over the same periodic length ``L``."""
    length = len(positions) * (positions[1] - positions[0])
    return positions[0] + np.arange(n, dtype=np.float64) * (length / n)
