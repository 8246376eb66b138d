"""The 2/3-rule truncated spectrum, stored without its zeros, and the transforms that skip them.

A pseudo-spectral solver that dealiases keeps only the modes ``|kx|, |ky| ≤ K`` (``K < n/3``) of
the ``rfft2`` layout ``(..., n, n//2 + 1)``: rows ``ky = 0 … K, −K … −1`` and columns
``kx = 0 … K``. Stored compactly, ``(..., 2K + 1, K + 1)``, every elementwise operation on the
state (the velocity symbols, the tendency, each Runge–Kutta stage) touches about 45 % of the full
layout. The transforms prune too: a 2-D inverse transform is a complex transform along ``y`` followed
by a real one along ``x``, and the first needs only the ``K + 1`` non-zero columns; the forward
transform mirrors it. That is about a sixth of the transform work: 10–20 % less transform time on
one CPU thread, about even on two, where MKL's 2-D plans share out better than the 1-D calls
(``benchmarks/solver_throughput.py`` reports both floors).

The transforms follow ``torch.fft``'s "backward" normalisation, like ``rfft2``/``irfft2``.
"""

from __future__ import annotations

import torch

from .checks import require


class DealiasedSpectrum:
    """Compact storage of the modes an ``n × n`` spectral solver keeps under the 2/3 rule."""

    def __init__(self, n: int):
        self.n = n
        self.cutoff = k = (n - 1) // 3  # K: the largest integer below n/3 (as PeriodicGrid.dealias_mask)
        self.shape = (2 * k + 1, k + 1)
        # The two row blocks, as (rows of the compact layout, rows of the rfft2 layout):
        # ky = 0 … K, then ky = −K … −1.
        self.blocks = ((slice(0, k + 1), slice(0, k + 1)), (slice(k + 1, 2 * k + 1), slice(n - k, n)))
        # Zero-padded buffers for the inverse transform, keyed by the operands' shapes, dtype and
        # device: only the kept rows (columns) are ever written, so the zeros between them stay.
        # (One solver, one thread: the buffers are not shared safely between threads.)
        self._buffers: dict[tuple, tuple] = {}

    # --- layout ----------------------------------------------------------------------------
    def compact(self, spectrum: torch.Tensor) -> torch.Tensor:
        """``(..., n, n//2+1)`` (``rfft2`` layout) or ``(..., n, K+1)`` → ``(..., 2K+1, K+1)``."""
        n, k = self.n, self.cutoff
        require(spectrum.shape[-2] == n and spectrum.shape[-1] in (k + 1, n // 2 + 1), "spectrum",
                f"shaped (..., {n}, {n // 2 + 1}) or (..., {n}, {k + 1})", tuple(spectrum.shape))
        return self._gather(spectrum[..., : k + 1])

    def _gather(self, columns: torch.Tensor) -> torch.Tensor:
        """The kept rows of ``(..., n, K+1)``, contiguous."""
        (_, top), (_, bottom) = self.blocks
        return torch.cat((columns[..., top, :], columns[..., bottom, :]), dim=-2)

    def expand(self, compact: torch.Tensor) -> torch.Tensor:
        """The ``rfft2`` layout ``(..., n, n//2+1)`` of a compact spectrum, zeros elsewhere."""
        return torch.nn.functional.pad(self._rows_padded(compact), (0, self.n // 2 - self.cutoff))

    def _rows_padded(self, compact: torch.Tensor) -> torch.Tensor:
        """``(..., 2K+1, K+1)`` → ``(..., n, K+1)``: the kept rows in place, zeros between them."""
        k = self.cutoff
        zeros = compact.new_zeros(*compact.shape[:-2], self.n - 2 * k - 1, compact.shape[-1])
        return torch.cat((compact[..., : k + 1, :], zeros, compact[..., k + 1 :, :]), dim=-2)

    # --- transforms ------------------------------------------------------------------------
    def to_physical(self, compact: torch.Tensor, symbols: torch.Tensor) -> torch.Tensor:
        """``irfft2`` of the expanded ``compact × symbols`` (both compact, broadcastable).

        Without autograd the product is written straight into kept zero-padded buffers: the
        symbols cost no pass of their own, and neither does the padding.
        """
        n, k = self.n, self.cutoff
        if torch.is_grad_enabled() and (compact.requires_grad or symbols.requires_grad):
            padded = self._rows_padded(compact * symbols)
            return torch.fft.irfft(torch.fft.ifft(padded, dim=-2), n=n, dim=-1)
        rows, targets, columns, kept_columns = self._buffer(compact, symbols)
        for (kept, _), target in zip(self.blocks, targets):
            torch.mul(compact[..., kept, :], symbols[..., kept, :], out=target)
        torch.fft.ifft(rows, dim=-2, out=kept_columns)
        return torch.fft.irfft(columns, n=n, dim=-1)

    def columns_of(self, field: torch.Tensor) -> torch.Tensor:
        """``rfft2(field)`` on the kept columns and every row, ``(..., n, K+1)``."""
        return torch.fft.fft(torch.fft.rfft(field, dim=-1)[..., : self.cutoff + 1], dim=-2)

    def from_physical(self, field: torch.Tensor) -> torch.Tensor:
        """The compact spectrum ``(..., 2K+1, K+1)`` of a real field ``(..., n, n)`` (``rfft2``'s values).

        Gathered into a contiguous tensor: the products that follow run faster on it than on
        the two row blocks in place (measured: the gather pays for itself).
        """
        return self._gather(self.columns_of(field))

    def _buffer(self, compact: torch.Tensor, symbols: torch.Tensor) -> tuple:
        """The zero-padded ``(..., n, K+1)`` buffer with views of its two row blocks, and the
        ``(..., n, n//2+1)`` one with a view of its kept columns, for this product's shape."""
        key = (compact.shape, symbols.shape, compact.dtype, compact.device)
        if key not in self._buffers:
            if len(self._buffers) >= 8:  # a long-lived solver sees few shapes; bound it anyway
                self._buffers.clear()
            leading = torch.broadcast_shapes(compact.shape, symbols.shape)[:-2]
            options = dict(dtype=compact.dtype, device=compact.device)
            rows = torch.zeros(*leading, self.n, self.cutoff + 1, **options)
            columns = torch.zeros(*leading, self.n, self.n // 2 + 1, **options)
            targets = tuple(rows[..., full, :] for _, full in self.blocks)
            self._buffers[key] = rows, targets, columns, columns[..., : self.cutoff + 1]
        return self._buffers[key]
