"""What an equation gives a time integrator.

An equation splits ``∂u/∂t = N(u) + L u`` into explicit terms ``N`` and an implicit linear part
``L`` with its solve ``(I - s L)^{-1}``; integrators in :mod:`data_gen.integrators` combine these
and never look inside. Physical parameters are per-sample ``(batch,)`` tensors (size-1 broadcasts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..grid import PeriodicGrid


@dataclass(frozen=True)
class StabilityRegion:
    """How far a scheme's explicit stability region reaches along the two axes an equation's
    eigenvalues lie on: the real axis (explicit diffusion, drag) and the imaginary axis (advection,
    waves), in units of ``|λ|·dt``. A scheme states it; an equation turns it into a time step, so
    neither needs to know the other's class."""

    real_axis: float
    imaginary_axis: float



def per_sample_view(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape ``(batch,)`` values to broadcast against a state ``(batch, ...)``."""
    return values.reshape(-1, *([1] * (like.ndim - 1)))


class Equation:
    """Base class. Subclasses set ``schemes`` (the integrators that suit them, first the default)."""

    grid: PeriodicGrid
    schemes: tuple[str, ...] = ()
    # Names of the quantities the state holds, in order, once decoded to physical fields.
    variables: tuple[str, ...] = ()
    # Whether torch.compile of the explicit evaluation pays (real elementwise work that fuses);
    # see data_gen.compilation.
    compiles_well: bool = False

    # --- representation -------------------------------------------------------------------
    def encode(self, fields: torch.Tensor) -> torch.Tensor:
        """Physical fields → the state the integrator advances (identity unless spectral)."""
        return fields

    def decode(self, state: torch.Tensor) -> torch.Tensor:
        return state

    # --- the right-hand side ---------------------------------------------------------------
    def explicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def explicit_terms_and_max_speed(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``N(u)`` and the per-sample maximum signal speed; spectral equations share the FFTs."""
        return self.explicit_terms(state), self.max_speed(state)

    def implicit_terms(self, state: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(state)

    @property
    def has_implicit_terms(self) -> bool:
        """Whether ``L`` is there at all (explicit schemes then skip adding ``L u = 0``)."""
        return self.linear_diagonal() is not None or type(self).implicit_terms is not Equation.implicit_terms

    def implicit_solve(self, state: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Solve ``(I - step·L) y = state`` for ``y``; ``step`` is ``(batch,)``."""
        return state

    def linear_diagonal(self) -> torch.Tensor | None:
        """``L`` as a broadcastable diagonal, when it is diagonal in this representation."""
        return None

    # --- time step control -----------------------------------------------------------------
    def max_speed(self, state: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # The largest |Im λ|·dt of the explicit part per unit CFL number: the advective (or wave)
    # eigenvalue bound of the discretisation in the units of ``time_step_limit``.
    advective_eigenvalue_per_cfl: float = 0.0

    def max_cfl(self, region: StabilityRegion) -> float:
        """The largest CFL number a scheme with stability ``region`` keeps stable here.

        Where the fastest explicit eigenvalue reaches the edge of the scheme's imaginary-axis
        stability, never above 1 (beyond it accuracy fails first). A scheme with no imaginary-axis
        stability is not bounded here: its step comes from :meth:`stability_modes` instead.
        """
        reach, per_cfl = region.imaginary_axis, self.advective_eigenvalue_per_cfl
        if reach == 0 or per_cfl == 0:
            return 1.0
        return min(1.0, reach / per_cfl)

    def stability_modes(self, max_speed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Eigenvalues per unit time of modes that bound this equation's linearised spectrum:
        ``(explicit, implicit)``, complex and real, ``(batch, modes)``; ``None`` if not modelled.

        The stepper asks for them only for schemes without imaginary-axis stability, where
        the implicit damping of each mode decides whether it grows.
        """
        return None

    def time_step_limit(self, max_speed: torch.Tensor, cfl: float, region: StabilityRegion) -> torch.Tensor:
        """Largest stable ``dt`` per sample for the given CFL number and scheme stability region."""
        return cfl * self.grid.spacing / max_speed

    def invalid_samples(self, state: torch.Tensor) -> tuple[torch.Tensor, str]:
        """A ``(batch,)`` mask of non-physical samples and why (default: NaN/Inf)."""
        finite = torch.isfinite(state.detach()).reshape(state.shape[0], -1).all(dim=1)
        return ~finite, "non-finite values"
