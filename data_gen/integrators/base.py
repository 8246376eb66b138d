"""The integrator interface: one step of size ``dt`` (a ``(batch,)`` tensor) for any equation."""

from __future__ import annotations

import torch

from ..equations.base import Equation, StabilityRegion, per_sample_view


class Integrator:
    """Advances ``equation`` by one step; ``order`` is the nominal order of accuracy in time.

    ``step`` takes an optional ``explicit0 = N(u_n)`` so that a caller that already evaluated the
    explicit terms (the stepper does, to read the CFL speed) does not pay for them twice.
    """

    name: str = ""
    order: int = 0
    # The stability region of the explicit part (R the amplification with the linear part off):
    # the largest x with |R(−s)| ≤ 1 for 0 ≤ s ≤ x (real axis: explicit diffusion) and with
    # |R(±is)| ≤ 1 (imaginary axis: advection, waves); :mod:`data_gen.stability` computes R from
    # ``step`` itself and the tests check these values against it. The stepper combines them with
    # the eigenvalue bounds each equation states. 0 on the imaginary axis: every advected mode
    # grows a little at every step, and the step must come from the growth one allows.
    real_axis_stability: float = 0.0
    imaginary_axis_stability: float = 0.0

    @classmethod
    def stability_region(cls) -> StabilityRegion:
        return StabilityRegion(real_axis=cls.real_axis_stability, imaginary_axis=cls.imaginary_axis_stability)

    def __init__(self, equation: Equation):
        self.equation = equation
        self._cache_key: torch.Tensor | None = None
        self._cache_value = None
        self._cache_source: torch.Tensor | None = None
        self._cache_version = -1

    def step(self, state: torch.Tensor, dt: torch.Tensor, explicit0: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def _coefficients(self, dt: torch.Tensor, make):
        """Step coefficients for this ``dt``, recomputed only when ``dt`` changes.

        The stepper keeps ``dt`` fixed over most of an output interval, so caching removes the
        per-stage arithmetic on the full spectrum. Nothing is cached while the linear part needs
        a gradient: a cached graph would be freed by the first backward pass.
        """
        diagonal = self.equation.linear_diagonal()
        if torch.is_grad_enabled() and diagonal is not None and diagonal.requires_grad:
            return make(dt)
        if dt is self._cache_source and dt._version == self._cache_version:
            return self._cache_value  # the stepper hands the same tensor while the steps stay
        if self._cache_key is None or self._cache_key.shape != dt.shape or not torch.equal(self._cache_key, dt):
            self._cache_key = dt.clone()
            self._cache_value = make(dt)
        self._cache_source, self._cache_version = dt, dt._version
        return self._cache_value

    def _full_rhs(self, state: torch.Tensor, explicit: torch.Tensor | None = None) -> torch.Tensor:
        if explicit is None:
            explicit = self.equation.explicit_terms(state)
        if not self.equation.has_implicit_terms:
            return explicit
        return explicit + self.equation.implicit_terms(state)


__all__ = ["Integrator", "per_sample_view"]
