"""Design variables: what an optimiser changes, how it is kept within bounds, and its prior.

Every variable maps an unconstrained tensor ``z`` (what Adam, L-BFGS and the cross-entropy method
move) to a physical value. Bounded numbers go through a sigmoid, so every iterate lies inside the
bounds and no optimiser needs projections; a positive quantity that spans decades (viscosity) is
bounded in its logarithm. Fields are unbounded and carry a smoothness prior instead.

All values carry a leading batch axis, so the cross-entropy method evaluates a population in one
batched rollout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UserError


@dataclass
class Bounded:
    """``count`` numbers in ``[low, high]`` (per number), log-scaled when ``log``.

    ``names`` label the numbers in ``design.json`` and in the in-distribution check (each is a
    dataset parameter, e.g. ``viscosity`` or ``forcing_sin_plus``).
    """

    names: tuple[str, ...]
    initial: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    log: bool = False
    field: str = "design"

    def __post_init__(self):
        for name, x0, lo, hi in zip(self.names, self.initial, self.low, self.high):
            if not lo < hi:
                raise UserError(f"{self.field}.bounds: {name}: low {lo:g} must be below high {hi:g}")
            if self.log and lo <= 0:
                raise UserError(f"{self.field}.bounds: {name}: a log-scaled bound must be > 0 (got {lo:g})")
            if not lo < x0 < hi:
                raise UserError(f"{self.field}.initial: {name} = {x0:g} lies outside the bounds [{lo:g}, {hi:g}]; "
                                "give an initial guess strictly inside them")

    @property
    def size(self) -> int:
        return len(self.names)

    def _span(self, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = torch.tensor(self.low, dtype=dtype, device=device), torch.tensor(self.high, dtype=dtype, device=device)
        return (lo.log(), hi.log()) if self.log else (lo, hi)

    def initial_z(self, dtype=torch.float64, device="cpu") -> torch.Tensor:
        x0 = torch.tensor(self.initial, dtype=dtype, device=device)
        lo, hi = self._span(dtype, device)
        fraction = ((x0.log() if self.log else x0) - lo) / (hi - lo)
        return torch.logit(fraction)[None]  # (1, count)

    def value(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, count)`` physical values."""
        lo, hi = self._span(z.dtype, z.device)
        scaled = lo + (hi - lo) * torch.sigmoid(z)
        return scaled.exp() if self.log else scaled

    def prior(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)

    def describe(self, value: torch.Tensor) -> dict:
        return {name: float(v) for name, v in zip(self.names, value.reshape(-1).tolist())}


@dataclass
class Field:
    """A field on the saved grid, ``(batch, channels, n, n)``, optimised in units of ``scale``.

    The prior is a smoothness penalty: ``weight · Σ|k|²|ẑ_k|² / E`` with ``E`` the mean of the same
    sum over the training split's first frames, i.e. the H¹ seminorm relative to a typical field's,
    so the weight means the same at any resolution and amplitude.
    """

    name: str
    initial: torch.Tensor  # (1, channels, n, n) physical units
    scale: float
    prior_weight: float
    reference_gradient: float  # E: the training fields' mean Σ|k|²|f̂_k|²

    @property
    def size(self) -> int:
        return self.initial.numel()

    def initial_z(self, dtype=torch.float64, device="cpu") -> torch.Tensor:
        return (self.initial / self.scale).to(dtype=dtype, device=device)

    def value(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.scale

    def prior(self, z: torch.Tensor) -> torch.Tensor:
        return self.prior_weight * gradient_energy(self.value(z)) / self.reference_gradient

    def describe(self, value: torch.Tensor) -> dict:
        field = value.reshape(-1, *value.shape[-2:])
        return {self.name: {"shape": list(value.shape[1:]), "rms": float(field.square().mean().sqrt())}}


def gradient_energy(field: torch.Tensor) -> torch.Tensor:
    """``Σ_k |k|² |f̂_k|²`` per batch entry (integer wavenumbers; summed over channels)."""
    n = field.shape[-1]
    coefficients = torch.fft.rfft2(field, norm="forward")
    ky = torch.fft.fftfreq(n, 1 / n, dtype=field.dtype, device=field.device)
    kx = torch.fft.rfftfreq(n, 1 / n, dtype=field.dtype, device=field.device)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    weight = torch.full_like(kx, 2.0)
    weight[0] = 1.0  # the rfft half-plane counts the kx > 0 columns twice
    if n % 2 == 0:
        weight[-1] = 1.0
    energy = coefficients.abs().square() * k2 * weight
    return energy.flatten(1).sum(dim=1)


def field_statistics(field: torch.Tensor) -> dict[str, float]:
    """``rms`` of the field and ``high_wavenumber_fraction``: the share of its variance at
    ``|k| > n/4`` (where a recovered field that fits noise puts its energy)."""
    f = field.reshape(-1, *field.shape[-2:]).to(torch.float64)
    n = f.shape[-1]
    power = torch.fft.fft2(f - f.mean(dim=(-2, -1), keepdim=True), norm="forward").abs().square()
    k = torch.fft.fftfreq(n, 1 / n, dtype=torch.float64)
    radius = (k[:, None] ** 2 + k[None, :] ** 2).sqrt()
    total = power.sum()
    return {"rms": float(f.square().mean().sqrt()),
            "high_wavenumber_fraction": float(power[..., radius > n / 4].sum() / total) if total > 0 else 0.0}
