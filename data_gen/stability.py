"""Linear stability of a time integrator on an equation: amplification per step and the step it allows.

Von Neumann analysis on the test equation ``du/dt = λ_E u + λ_L u`` with ``λ_E`` an eigenvalue of
the explicit part (imaginary for advection, real for explicit diffusion) and ``λ_L`` one of the
implicit linear part. The amplification factor is obtained by running the integrator's own
``step`` on independent modes, so it is the scheme as coded, not a formula kept beside it.

Schemes whose explicit part has no stability on the imaginary axis (forward Euler, Heun) amplify
every advected mode a little at each step, whatever the step; only the implicit damping of the
linear part can compensate. For them :func:`growth_limited_step` chooses the largest step with
which no mode grows by more than :data:`ALLOWED_GROWTH` over one output interval.
"""

from __future__ import annotations

import math

import torch

from .equations.base import Equation

# Amplitude growth that a scheme without imaginary-axis stability may add to any mode over one
# output interval: far below what the physics does to a mode over that time, so the artefact is
# invisible in saved frames, yet it keeps the step within a few hundred of the CFL step.
ALLOWED_GROWTH = 1e-3
# Candidate steps: the CFL step times 2^(−j/8). A scheme that would need a step below the last
# (1/1024 of the CFL step) is refused rather than run a thousand times slower than a stable one.
_LADDER_STEPS_PER_OCTAVE = 8
SMALLEST_STEP_FRACTION = 2.0**-10


class LinearModes(Equation):
    """Independent modes ``du/dt = λ_E u + λ_L u``: the test equation of stability theory.

    Args:
        explicit: ``λ_E``, complex, shaped ``(batch, modes)``.
        implicit: ``λ_L``, real, broadcastable to ``explicit``, or ``None`` for no linear part.
    """

    def __init__(self, explicit: torch.Tensor, implicit: torch.Tensor | None = None):
        self.explicit = explicit
        self.implicit = None if implicit is None else torch.broadcast_to(implicit, explicit.shape)

    def explicit_terms(self, state):
        return self.explicit * state

    def implicit_terms(self, state):
        return torch.zeros_like(state) if self.implicit is None else self.implicit * state

    def implicit_solve(self, state, step):
        return state if self.implicit is None else state / (1 - step.reshape(-1, 1) * self.implicit)

    def linear_diagonal(self):
        return self.implicit


def amplification(integrator_class, explicit: torch.Tensor, implicit: torch.Tensor | None = None,
                  dt: torch.Tensor | None = None) -> torch.Tensor:
    """The factor ``R`` by which one step of ``integrator_class`` multiplies each mode.

    ``explicit`` and ``implicit`` are eigenvalues ``(batch, modes)`` (per unit time when ``dt`` is
    given as ``(batch,)``, else already multiplied by the step: ``dt = 1``); ``implicit=None``:
    no linear part.
    """
    explicit = explicit.to(torch.complex128 if explicit.real.dtype == torch.float64 else torch.complex64)
    real_dtype = explicit.real.dtype
    if dt is None:
        dt = torch.ones(explicit.shape[0], dtype=real_dtype, device=explicit.device)
    # No linear part is a zero one (ETDRK4 needs a diagonal to exponentiate).
    implicit = torch.zeros_like(explicit.real) if implicit is None else implicit.to(real_dtype)
    integrator = integrator_class(LinearModes(explicit, implicit))
    return integrator.step(torch.ones_like(explicit), dt.to(real_dtype))


def growth_limited_step(integrator_class, explicit: torch.Tensor, implicit: torch.Tensor, cfl_step: torch.Tensor,
                        interval: float, allowed_growth: float = ALLOWED_GROWTH) -> torch.Tensor:
    """The largest step ``≤ cfl_step`` (per sample) with which no mode grows by more than
    ``1 + allowed_growth`` over ``interval``; ``NaN`` where none down to
    :data:`SMALLEST_STEP_FRACTION` of ``cfl_step`` does.

    ``explicit`` (``(batch, modes)``, complex) and ``implicit`` (real, broadcastable) are the
    eigenvalues per unit time of the modes that bound the equation's spectrum.
    """
    batch, modes = explicit.shape
    rungs = _LADDER_STEPS_PER_OCTAVE * round(math.log2(1 / SMALLEST_STEP_FRACTION)) + 1
    fractions = 2.0 ** (-torch.arange(rungs, dtype=cfl_step.dtype, device=cfl_step.device) / _LADDER_STEPS_PER_OCTAVE)
    steps = cfl_step.reshape(batch, 1) * fractions  # (batch, rungs)
    flat = lambda t: t.reshape(batch, 1, -1).expand(batch, rungs, -1).reshape(batch * rungs, -1)  # noqa: E731
    factor = amplification(integrator_class, flat(explicit), flat(torch.broadcast_to(implicit, explicit.shape)),
                           steps.reshape(-1)).abs().amax(dim=-1).reshape(batch, rungs)
    # Growth over the interval: factor^(interval/dt) ≤ 1 + allowed, compared in logarithms.
    within = torch.log(factor) * (interval / steps) <= math.log1p(allowed_growth)
    first = torch.where(within.any(dim=1), within.to(torch.int8).argmax(dim=1), torch.full_like(within[:, 0], -1,
                                                                                                 dtype=torch.long))
    chosen = steps.gather(1, first.clamp(min=0).reshape(-1, 1)).reshape(-1)
    return torch.where(first >= 0, chosen, torch.full_like(chosen, float("nan")))


def imaginary_axis_extent(integrator_class, upper: float = 4.0) -> float:
    """The largest ``y`` with ``|R(i s)| ≤ 1`` for all ``0 ≤ s ≤ y`` (explicit part alone)."""
    return _extent(integrator_class, 1j, upper)


def real_axis_extent(integrator_class, upper: float = 6.0) -> float:
    """The largest ``x`` with ``|R(−s)| ≤ 1`` for all ``0 ≤ s ≤ x`` (explicit part alone)."""
    return _extent(integrator_class, -1.0, upper)


def _extent(integrator_class, direction: complex, upper: float, points: int = 4001, tolerance: float = 1e-12) -> float:
    """Scan ``[0, upper]`` for the first unstable point, then bisect the bracket to round-off."""

    def unstable(s: torch.Tensor) -> torch.Tensor:
        z = (direction * s.to(torch.complex128)).reshape(1, -1)
        return amplification(integrator_class, z).abs().reshape(-1) > 1 + tolerance

    s = torch.linspace(0, upper, points, dtype=torch.float64)
    above = unstable(s)
    if not bool(above.any()):
        return upper
    first = int(above.to(torch.int8).argmax())
    low, high = float(s[first - 1]), float(s[first])
    for _ in range(50):
        middle = 0.5 * (low + high)
        if bool(unstable(torch.tensor([middle], dtype=torch.float64))):
            high = middle
        else:
            low = middle
    return low
