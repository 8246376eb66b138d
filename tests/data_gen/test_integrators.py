"""Integrators: observed temporal order, exact linear amplification, φ-functions."""

import math

import pytest
import torch

from data_gen import PeriodicGrid, Stepper
from data_gen.equations import NavierStokesSpectral
from data_gen.forcing import fno_forcing
from data_gen.integrators import INTEGRATORS, phi_functions
from data_gen.initial_conditions import taylor_green

from .flows import self_convergence_orders, smooth_vorticity


@pytest.mark.parametrize("scheme", ["cn_rk4", "cn_rk2", "euler_cn", "etdrk4"])
def test_temporal_order_on_smooth_forced_flow(scheme):
    # Self-convergence: successive differences at dt, dt/2, dt/4, dt/8 shrink by 2^order.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-2, forcing=fno_forcing(grid), forcing_amplitude=1.0)
    orders = self_convergence_orders(equation, scheme, smooth_vorticity(grid))
    nominal = INTEGRATORS[scheme].order
    assert all(abs(p - nominal) < 0.3 for p in orders), (scheme, orders)


def test_cn_rk4_is_fourth_order_without_linear_part():
    # With ν = μ = 0 the Crank–Nicolson factors are 1 and the Carpenter–Kennedy RK4 remains.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 0.0, forcing=fno_forcing(grid), allow_inviscid=True)
    orders = self_convergence_orders(equation, "cn_rk4", smooth_vorticity(grid), steps=(0.04, 0.02, 0.01))
    assert abs(orders[0] - 4) < 0.3, orders


@pytest.mark.parametrize("scheme", ["cn_rk4", "cn_rk2", "euler_cn"])
def test_crank_nicolson_amplification_on_taylor_green(scheme):
    # Taylor–Green has u·∇ω ≡ 0, so each scheme reduces to its linear amplification factor:
    # a product of Crank–Nicolson factors (1 + μL)/(1 − μL) whose sub-steps sum to dt.
    grid = PeriodicGrid(16, 1.0, torch.float64)
    nu, dt, steps = 0.05, 0.01, 10
    equation = NavierStokesSpectral(grid, nu)
    w0 = taylor_green(grid)
    w = Stepper(equation, dt * steps, scheme=scheme, cfl=1.0, max_dt=dt)(w0)
    lam = -2 * nu * (2 * math.pi) ** 2
    if scheme == "cn_rk4":
        alphas = INTEGRATORS["cn_rk4"].alphas
        factor = 1.0
        for a0, a1 in zip(alphas, alphas[1:]):
            mu = 0.5 * dt * (a1 - a0)
            factor *= (1 + mu * lam) / (1 - mu * lam)
    else:
        factor = (1 + 0.5 * dt * lam) / (1 - 0.5 * dt * lam)
    assert torch.allclose(w, w0 * factor**steps, rtol=0, atol=1e-12 * w0.abs().max())


def test_phi_functions_match_closed_forms_and_limits():
    z = torch.tensor([-30.0, -2.0, -0.9, -1e-3, -1e-9, 0.0, 0.5, 2.0], dtype=torch.float64)
    p1, p2, p3 = phi_functions(z)
    big = z.abs() > 0.5
    zb = z[big]
    assert torch.allclose(p1[big], (torch.exp(zb) - 1) / zb, rtol=1e-12)
    assert torch.allclose(p2[big], (torch.exp(zb) - 1 - zb) / zb**2, rtol=1e-12)
    assert torch.allclose(p3[big], (torch.exp(zb) - 1 - zb - zb**2 / 2) / zb**3, rtol=1e-10)
    # φ_k(0) = 1/k!, and the series is smooth through 0.
    zero = z == 0
    assert p1[zero].item() == 1.0 and p2[zero].item() == 0.5 and abs(p3[zero].item() - 1 / 6) < 1e-16
    # Gradient of φ₁ at 0 is 1/2! — finite, no NaN leaking from the unused closed form.
    zz = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    phi_functions(zz)[0].sum().backward()
    assert abs(zz.grad.item() - 0.5) < 1e-14


def test_zero_length_step_is_the_identity():
    # The stepper parks finished samples with dt = 0; every scheme must leave them bit-identical.
    grid = PeriodicGrid(16, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-2, forcing=fno_forcing(grid))
    state = equation.encode(smooth_vorticity(grid))
    for name in NavierStokesSpectral.schemes:
        after = INTEGRATORS[name](equation).step(state, torch.zeros(1, dtype=torch.float64))
        assert torch.equal(after, state), name


@pytest.mark.parametrize("scheme", ["rk4", "rk3"])
def test_explicit_schemes_temporal_order(scheme):
    from data_gen.equations import NavierStokesFD

    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesFD(grid, 1e-2, forcing=fno_forcing(grid), forcing_amplitude=1.0)
    orders = self_convergence_orders(equation, scheme, smooth_vorticity(grid))
    assert all(abs(p - INTEGRATORS[scheme].order) < 0.3 for p in orders), (scheme, orders)
