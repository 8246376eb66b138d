"""IMEX schemes: explicit Runge–Kutta for ``N``, Crank–Nicolson for the linear part ``L``."""

from __future__ import annotations

import torch

from .base import Integrator, per_sample_view


def crank_nicolson(equation, state: torch.Tensor, dt: torch.Tensor, tendency: torch.Tensor) -> torch.Tensor:
    """``(I − ½dt L)⁻¹ (u + ½dt L u + dt·tendency)``: Crank–Nicolson for ``L``, ``tendency`` explicit."""
    half = 0.5 * dt
    rhs = state + per_sample_view(half, state) * equation.implicit_terms(state) + per_sample_view(dt, state) * tendency
    return equation.implicit_solve(rhs, half)


def _tracked(*tensors: torch.Tensor | None) -> bool:
    """Whether autograd records operations on any of ``tensors``."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


class CrankNicolsonRK4(Integrator):
    """Carpenter–Kennedy 5-stage, 2N-storage RK4 with Crank–Nicolson for ``L`` in each stage.

    Stage ``k``: ``h ← N(u) + β_k h``, ``u ← (I − μ_k L)⁻¹ (u + γ_k dt h + μ_k L u)`` with
    ``μ_k = ½ dt (α_{k+1} − α_k)``. Fourth order when ``L = 0``; the Crank–Nicolson coupling makes
    it second order when the linear part matters, so ``order = 2``.
    """

    name = "cn_rk4"
    order = 2
    # R(z) = 1 + z + z²/2 + z³/6 + z⁴/24 + z⁵/200 (five stages, fourth order).
    real_axis_stability = 4.6567570663
    imaginary_axis_stability = 3.3407179864
    alphas = (
        0.0,
        1432997174477 / 9575080441755,
        2526269341429 / 6820363962896,
        2006345519317 / 3224310063776,
        2802321613138 / 2924317926251,
        1.0,
    )
    betas = (
        0.0,
        -567301805773 / 1357537059087,
        -2404267990393 / 2016746695238,
        -3550918686646 / 2091501179385,
        -1275806237668 / 842570457699,
    )
    gammas = (
        1432997174477 / 9575080441755,
        5161836677717 / 13612068292357,
        1720146321549 / 2090206949498,
        3134564353537 / 4481467310338,
        2277821191437 / 14882151754819,
    )

    def _diagonal_coefficients(self, dt):
        linear = self.equation.linear_diagonal()
        dt = per_sample_view(dt, linear)
        stages = []
        for k, gamma in enumerate(self.gammas):
            mu = 0.5 * dt * (self.alphas[k + 1] - self.alphas[k])
            inverse = 1.0 / (1.0 - mu * linear)
            # Complex, like the state, so that each stage multiplies without a dtype conversion.
            complex_dtype = torch.complex128 if linear.dtype == torch.float64 else torch.complex64
            stages.append((((1.0 + mu * linear) * inverse).to(complex_dtype), (gamma * dt * inverse).to(complex_dtype)))
        return stages

    def step(self, state, dt, explicit0=None):
        equation = self.equation
        diagonal = equation.linear_diagonal() is not None
        stages = self._coefficients(dt, self._diagonal_coefficients) if diagonal else None
        # Without a graph to keep, each stage updates h and the state in place: two passes over the
        # state per stage and no allocation. With one, every intermediate must survive for backward.
        in_place = not _tracked(state, explicit0, *(stages[0] if diagonal else ()))
        h = None
        for k, beta in enumerate(self.betas):
            explicit = explicit0 if (k == 0 and explicit0 is not None) else equation.explicit_terms(state)
            in_place = in_place and not _tracked(explicit)  # e.g. a forcing amplitude being optimised
            if h is None:
                h = explicit
            elif in_place:
                h = explicit.add_(h, alpha=beta)  # a fresh evaluation, ours to overwrite
            else:
                h = torch.add(explicit, h, alpha=beta)
            if diagonal:
                propagate, weight = stages[k]
                if in_place and k > 0:  # from stage 1 on, ``state`` is our own tensor
                    state = state.mul_(propagate).addcmul_(weight, h)
                else:
                    state = torch.addcmul(propagate * state, weight, h)
            else:
                dt_view = per_sample_view(dt, state)
                mu = 0.5 * dt * (self.alphas[k + 1] - self.alphas[k])
                rhs = state + self.gammas[k] * dt_view * h + per_sample_view(mu, state) * equation.implicit_terms(state)
                state = equation.implicit_solve(rhs, mu)
        return state


class CrankNicolsonRK2(Integrator):
    """Heun's method for ``N`` with Crank–Nicolson for ``L`` (second order).

    ``u* = (I − ½dt L)⁻¹ (u + ½dt L u + dt N(u))``;
    ``u⁺ = (I − ½dt L)⁻¹ (u + ½dt L u + ½dt (N(u) + N(u*)))``.
    """

    name = "cn_rk2"
    order = 2
    # R(z) = 1 + z + z²/2: |R(iy)|² = 1 + y⁴/4, above 1 for every y ≠ 0.
    real_axis_stability = 2.0
    imaginary_axis_stability = 0.0

    def step(self, state, dt, explicit0=None):
        n0 = explicit0 if explicit0 is not None else self.equation.explicit_terms(state)
        predictor = crank_nicolson(self.equation, state, dt, n0)
        return crank_nicolson(self.equation, state, dt, 0.5 * (n0 + self.equation.explicit_terms(predictor)))


class EulerCrankNicolson(Integrator):
    """Forward Euler for ``N``, Crank–Nicolson for ``L`` (first order).

    The scheme of the original FNO Navier–Stokes data script, kept to reproduce legacy data:
    ``u⁺ = (I − ½dt L)⁻¹ (u + ½dt L u + dt N(u))``.
    """

    name = "euler_cn"
    order = 1
    # R(z) = 1 + z: |R(iy)|² = 1 + y², above 1 for every y ≠ 0.
    real_axis_stability = 2.0
    imaginary_axis_stability = 0.0

    def step(self, state, dt, explicit0=None):
        n0 = explicit0 if explicit0 is not None else self.equation.explicit_terms(state)
        return crank_nicolson(self.equation, state, dt, n0)
