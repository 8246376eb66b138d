"""Explicit Runge–Kutta schemes for equations without a stiff linear part (finite differences)."""

from __future__ import annotations

from .base import Integrator, per_sample_view


class RK4(Integrator):
    """The classical four-stage, fourth-order Runge–Kutta scheme."""

    name = "rk4"
    order = 4
    real_axis_stability = 2.7852935634  # root of 1 − x + x²/2 − x³/6 + x⁴/24 = −1
    imaginary_axis_stability = 2 * 2**0.5

    def step(self, state, dt, explicit0=None):
        f = self._full_rhs
        h = per_sample_view(dt, state)
        k1 = f(state, explicit0)
        k2 = f(state + 0.5 * h * k1)
        k3 = f(state + 0.5 * h * k2)
        k4 = f(state + h * k3)
        return state + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


class SSPRK3(Integrator):
    """Shu–Osher strong-stability-preserving three-stage, third-order Runge–Kutta scheme."""

    name = "rk3"
    order = 3
    real_axis_stability = 2.5127453266  # root of 1 − x + x²/2 − x³/6 = −1
    imaginary_axis_stability = 3**0.5

    def step(self, state, dt, explicit0=None):
        f = self._full_rhs
        h = per_sample_view(dt, state)
        u1 = state + h * f(state, explicit0)
        u2 = 0.75 * state + 0.25 * (u1 + h * f(u1))
        return state / 3 + (2 / 3) * (u2 + h * f(u2))
