"""Exponential time differencing: the diagonal linear part is integrated exactly."""

from __future__ import annotations

import math

import torch

from ..errors import ParameterError
from .base import Integrator, per_sample_view

_SERIES_RADIUS = 1.0
_SERIES_TERMS = 20


def phi_functions(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``φ₁, φ₂, φ₃`` with ``φ_k(z) = Σ_j z^j/(j+k)!``, accurate for all real or complex ``z``.

    The closed forms (``φ₁ = (e^z − 1)/z`` …) cancel catastrophically near 0, so a Taylor series is
    used for ``|z| < 1``. The closed form is evaluated at a safe point there so that its NaN cannot
    leak into gradients through ``torch.where``.
    """
    small = z.abs() < _SERIES_RADIUS
    zs = torch.where(small, torch.ones_like(z), z)
    ez = torch.exp(zs)
    closed = (
        (ez - 1) / zs,
        (ez - 1 - zs) / zs**2,
        (ez - 1 - zs - zs**2 / 2) / zs**3,
    )
    zt = torch.where(small, z, torch.zeros_like(z))
    series = []
    for k in (1, 2, 3):
        total = torch.zeros_like(z)
        for j in reversed(range(_SERIES_TERMS)):
            total = total * zt + 1.0 / math.factorial(j + k)
        series.append(total)
    return tuple(torch.where(small, s, c) for s, c in zip(series, closed))


class ETDRK4(Integrator):
    """Cox–Matthews ETDRK4 (fourth order), coefficients from φ-functions (Kassam–Trefethen).

    Needs a linear part that is diagonal in the state's representation (spectral equations).
    """

    name = "etdrk4"
    order = 4
    # With the linear part off, Cox–Matthews reduces to the classical RK4 (c = u + h N(b)).
    real_axis_stability = 2.7852935634
    imaginary_axis_stability = 2 * 2**0.5

    def __init__(self, equation):
        super().__init__(equation)
        if equation.linear_diagonal() is None:
            raise ParameterError(
                f"scheme etdrk4 needs an equation with a diagonal linear part; "
                f"{type(equation).__name__} accepts {', '.join(equation.schemes)}"
            )

    def _make(self, dt):
        linear = self.equation.linear_diagonal()
        h = per_sample_view(dt, linear)
        z = h * linear
        half1, _, _ = phi_functions(z / 2)
        p1, p2, p3 = phi_functions(z)
        return dict(
            e=torch.exp(z),
            e_half=torch.exp(z / 2),
            q=0.5 * h * half1,
            f1=h * (p1 - 3 * p2 + 4 * p3),
            f2=h * (p2 - 2 * p3),
            f3=h * (4 * p3 - p2),
        )

    def step(self, state, dt, explicit0=None):
        c = self._coefficients(dt, self._make)
        n = self.equation.explicit_terms
        nu = explicit0 if explicit0 is not None else n(state)
        a = c["e_half"] * state + c["q"] * nu
        na = n(a)
        b = c["e_half"] * state + c["q"] * na
        nb = n(b)
        cc = c["e_half"] * a + c["q"] * (2 * nb - nu)
        nc = n(cc)
        return c["e"] * state + c["f1"] * nu + 2 * c["f2"] * (na + nb) + c["f3"] * nc
