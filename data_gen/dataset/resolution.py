"""The resolution check: how much enstrophy sits in the highest wavenumber shell a solver retains.

A resolved flow's enstrophy spectrum falls off steeply before the highest wavenumber K the solver
keeps (the dealiasing cutoff ``(n−1)//3`` of the spectral solver, ``n/2 − 1`` for the finite
difference ones, which drop no modes), so the outermost retained shell ``K−1 < |k| ≤ K`` holds a
negligible fraction of it; energy piling up there means the viscous range is cut off and the grid
is too coarse. The threshold below was calibrated on the spectral solver's FNO-forced flow at
ν = 1e-4: against a run on a 2× finer grid, a 32² run (fraction 1.5e-3) was off by 2–4 % in L2
within 15 time units, a 48² run (1.8e-4) by ~1 %, and a 64² run (4.8e-5) by < 0.1 %. Above 1e-4
the data's own error rivals a good surrogate's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..grid import PeriodicGrid, rfft_weights

UNDER_RESOLVED_THRESHOLD = 1e-4


def highest_shell_enstrophy_fraction(vorticity: torch.Tensor, grid: PeriodicGrid, cutoff: int) -> torch.Tensor:
    """Fraction of ``Σ|ω̂_k|²`` in the shell ``cutoff−1 < |k| ≤ cutoff``, per sample:
    ``(batch, n, n) -> (batch,)``."""
    coeffs = torch.fft.rfft2(vorticity, norm="forward")
    power = coeffs.real**2 + coeffs.imag**2
    power = power * rfft_weights(grid.n, power.dtype, power.device)
    total = power.sum(dim=(-2, -1))
    shell = (power * grid.highest_shell_mask(cutoff).to(power.dtype)).sum(dim=(-2, -1))
    # A field at rest is perfectly resolved.
    return torch.where(total > 0, shell / total.clamp(min=torch.finfo(total.dtype).tiny), torch.zeros_like(total))


@dataclass
class ShellFractionSummary:
    """Largest and mean fraction over every saved frame of every sample seen."""

    maximum: float = 0.0
    total: float = 0.0
    frames: int = 0

    def update(self, fractions: torch.Tensor) -> None:
        fractions = fractions.detach().double().cpu()
        self.maximum = max(self.maximum, float(fractions.max()))
        self.total += float(fractions.sum())
        self.frames += fractions.numel()

    def merge(self, other: "ShellFractionSummary") -> None:
        self.maximum = max(self.maximum, other.maximum)
        self.total += other.total
        self.frames += other.frames

    @property
    def mean(self) -> float:
        return self.total / self.frames if self.frames else 0.0

    @property
    def resolved(self) -> bool:
        return self.maximum <= UNDER_RESOLVED_THRESHOLD

    def to_dict(self) -> dict:
        return {"max": self.maximum, "total": self.total, "frames": self.frames}

    @classmethod
    def from_dict(cls, d: dict) -> "ShellFractionSummary":
        return cls(float(d["max"]), float(d["total"]), int(d["frames"]))


def under_resolved_message(split: str, summary: ShellFractionSummary, sim_resolution: int, cutoff: int) -> str:
    return (
        f"split '{split}' looks under-resolved: up to {summary.maximum:.2e} of the enstrophy sits in the "
        f"highest retained wavenumber shell {cutoff - 1} < |k| <= {cutoff} (threshold "
        f"{UNDER_RESOLVED_THRESHOLD:.0e}); use a finer grid, e.g. sim_resolution: {2 * sim_resolution}"
    )
