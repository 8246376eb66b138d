"""What the two Navier–Stokes discretisations share: their physical parameters and forcing."""

from __future__ import annotations

import torch

from ..checks import batch_size_of, per_sample, require
from ..errors import ParameterError
from ..grid import PeriodicGrid
from .base import Equation


class VorticityEquation(Equation):
    """Validated per-sample ν, μ, forcing amplitude and forcing field for the vorticity equation.

    Args:
        grid: the periodic grid (its dtype and device are the simulation's).
        viscosity: ν, scalar or ``(batch,)``; ``0`` only with ``drag > 0`` or ``allow_inviscid``.
        drag: linear drag μ ≥ 0, scalar or ``(batch,)``.
        forcing: vorticity forcing ``(n, n)`` or ``(batch, n, n)`` of unit amplitude, or ``None``.
        forcing_amplitude: multiplies ``forcing``, scalar or ``(batch,)``.
        allow_inviscid: accept ``ν = μ = 0`` (conservation studies), otherwise refused.
    """

    variables = ("vorticity",)

    def __init__(
        self,
        grid: PeriodicGrid,
        viscosity,
        drag=0.0,
        forcing: torch.Tensor | None = None,
        forcing_amplitude=1.0,
        *,
        allow_inviscid: bool = False,
    ):
        self.grid = grid
        kw = dict(dtype=grid.dtype, device=grid.device)
        self.viscosity = per_sample(viscosity, "viscosity", minimum=0.0, **kw)
        self.drag = per_sample(drag, "drag", minimum=0.0, **kw)
        self.forcing_amplitude = per_sample(forcing_amplitude, "forcing_amplitude", **kw)
        self.batch_size = batch_size_of(self.viscosity, self.drag, self.forcing_amplitude)
        if not allow_inviscid:
            dissipative = (self.viscosity.detach() > 0) | (self.drag.detach() > 0)
            if not bool(dissipative.all()):
                raise ParameterError(
                    f"viscosity must be > 0 when drag is 0 (got viscosity {self.viscosity.tolist()}, "
                    f"drag {self.drag.tolist()}); pass allow_inviscid=True for an inviscid run"
                )
        self.forcing = None
        if forcing is not None:
            forcing = forcing.to(**kw)
            require(forcing.shape[-2:] == (grid.n, grid.n) and forcing.ndim in (2, 3), "forcing",
                    f"an ({grid.n}, {grid.n}) or (batch, {grid.n}, {grid.n}) field", tuple(forcing.shape))
            if forcing.ndim == 3:
                require(self.batch_size in (1, forcing.shape[0]), "forcing",
                        f"a batch of {self.batch_size} fields like the other per-sample parameters",
                        tuple(forcing.shape))
                self.batch_size = forcing.shape[0]
            self.forcing = forcing

    def encode(self, vorticity: torch.Tensor) -> torch.Tensor:
        n = self.grid.n
        require(vorticity.ndim == 3 and vorticity.shape[-2:] == (n, n), "vorticity",
                f"shaped (batch, {n}, {n})", tuple(vorticity.shape))
        return vorticity.to(self.grid.dtype)
