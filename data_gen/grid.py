"""The doubly periodic square grid and its Fourier wavenumbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .checks import check_resolution, require


@dataclass(frozen=True)
class PeriodicGrid:
    """``n × n`` points on a periodic square of side ``length``; ``x_i = i·L/n``, so ``x[0] = 0``.

    Fields are stored ``(..., y, x)``. Spectral quantities use ``rfft2`` layout ``(..., n, n//2 + 1)``:
    ``ky`` runs over the full axis, ``kx`` over the non-negative half.
    """

    n: int
    length: float = 1.0
    dtype: torch.dtype = torch.float64
    device: torch.device | str = "cpu"
    _cache: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __post_init__(self):
        check_resolution(self.n, "resolution")
        require(
            isinstance(self.length, (int, float)) and self.length > 0 and math.isfinite(self.length),
            "domain_length",
            "a finite number > 0",
            self.length,
        )
        require(self.dtype in (torch.float32, torch.float64), "dtype", "float32 or float64", self.dtype)

    @property
    def spacing(self) -> float:
        return self.length / self.n

    @property
    def complex_dtype(self) -> torch.dtype:
        return torch.complex128 if self.dtype == torch.float64 else torch.complex64

    @property
    def coordinates(self) -> torch.Tensor:
        """1-D positions ``i·L/n`` (the same for x and y)."""
        return torch.arange(self.n, dtype=self.dtype, device=self.device) * self.spacing

    def mesh(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` arrays of shape ``(n, n)`` in ``(y, x)`` layout."""
        c = self.coordinates
        y, x = torch.meshgrid(c, c, indexing="ij")
        return x, y

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def integer_wavenumbers(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer wavenumbers ``(kx, ky)`` shaped ``(1, n//2+1)`` and ``(n, 1)``."""

        return self._cached("integer_k", lambda: integer_wavenumbers(self.n, self.dtype, self.device))

    def wavenumbers(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Angular wavenumbers ``2π k / L`` shaped ``(1, n//2+1)`` and ``(n, 1)``."""
        kx, ky = self.integer_wavenumbers()
        scale = 2 * math.pi / self.length
        return kx * scale, ky * scale

    def laplacian_symbol(self) -> torch.Tensor:
        """``-|k|²``: the Fourier symbol of the Laplacian, ``(n, n//2+1)``."""
        kx, ky = self.wavenumbers()
        return self._cached("lap", lambda: -(kx**2 + ky**2))

    def dealias_mask(self) -> torch.Tensor:
        """The 2/3-rule mask ``|kx|, |ky| ≤ K`` with the largest integer ``K < n/3``.

        Symmetric in ±k (an asymmetric mask breaks the inviscid invariants). ``K < n/3`` rather
        than ``≤ n/3``: when 3 divides n, the mode ``k = n/3`` of a quadratic product aliases
        back onto ``-n/3`` and would be kept.
        """

        def make():
            kx, ky = self.integer_wavenumbers()
            cutoff = (self.n - 1) // 3
            return ((kx.abs() <= cutoff) & (ky.abs() <= cutoff)).to(self.dtype)

        return self._cached("mask", make)

    def highest_shell_mask(self, cutoff: int | None = None) -> torch.Tensor:
        """The outermost retained shell ``K-1 < |k| ≤ K`` (a resolution check).

        ``cutoff`` is ``K``, the highest wavenumber the solver retains; default: the dealiasing
        cutoff ``(n-1)//3`` of the spectral solvers (a finite-difference solver keeps more).
        """
        cutoff = (self.n - 1) // 3 if cutoff is None else cutoff
        require(isinstance(cutoff, int) and 1 <= cutoff <= self.n // 2, "cutoff",
                f"an integer in [1, {self.n // 2}]", cutoff)

        def make():
            kx, ky = self.integer_wavenumbers()
            radius = torch.sqrt(kx**2 + ky**2)
            return ((radius > cutoff - 1) & (radius <= cutoff)).to(self.dtype)

        return self._cached(("shell", cutoff), make)

    def with_resolution(self, n: int) -> "PeriodicGrid":
        return PeriodicGrid(n, self.length, self.dtype, self.device)

    def to(self, dtype: torch.dtype | None = None, device=None) -> "PeriodicGrid":
        return PeriodicGrid(self.n, self.length, dtype or self.dtype, device or self.device)


def integer_wavenumbers(n: int, dtype=torch.float64, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Integer wavenumbers ``(kx, ky)`` of an ``n × n`` ``rfft2`` layout, shaped ``(1, n//2+1)`` and ``(n, 1)``."""
    kx = torch.fft.rfftfreq(n, d=1.0 / n, dtype=dtype, device=device)
    ky = torch.fft.fftfreq(n, d=1.0 / n, dtype=dtype, device=device)
    return kx.reshape(1, -1), ky.reshape(-1, 1)


def rfft_weights(n: int, dtype, device) -> torch.Tensor:
    """Multiplicity of each ``rfft`` column in a sum over the full spectrum (Parseval)."""
    w = torch.full((n // 2 + 1,), 2.0, dtype=dtype, device=device)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w
