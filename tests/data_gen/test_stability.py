"""Stability per scheme: amplification against theory, stated extents, and the step each scheme gets."""

import math

import pytest
import torch

from data_gen import PeriodicGrid, Stepper, rollout
from data_gen.equations import NavierStokesSpectral
from data_gen.errors import ParameterError
from data_gen.forcing import fno_forcing
from data_gen.initial_conditions import gaussian_random_field
from data_gen.integrators import INTEGRATORS
from data_gen.stability import (
    ALLOWED_GROWTH, LinearModes, amplification, growth_limited_step, imaginary_axis_extent, real_axis_extent,
)

# Stability functions of the explicit parts, from the Butcher tableaux (R(z) = Σ z^j/j! to the
# order, plus the fifth-stage term z⁵/200 of Carpenter–Kennedy's five-stage RK4).
POLYNOMIALS = {
    "rk4": (1, 1, 1 / 2, 1 / 6, 1 / 24),
    "etdrk4": (1, 1, 1 / 2, 1 / 6, 1 / 24),
    "cn_rk4": (1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 200),
    "rk3": (1, 1, 1 / 2, 1 / 6),
    "cn_rk2": (1, 1, 1 / 2),
    "euler_cn": (1, 1),
}
EIGENVALUES = torch.tensor([[0.3j, 1.5j, 2.5j, -0.7, -2.0, -1 + 1j, -0.2 + 2.9j]], dtype=torch.complex128)


@pytest.mark.parametrize("scheme", sorted(POLYNOMIALS))
def test_amplification_of_the_explicit_part_is_the_stability_polynomial(scheme):
    measured = amplification(INTEGRATORS[scheme], EIGENVALUES, torch.zeros(1, 1, dtype=torch.float64))
    theory = sum(c * EIGENVALUES**j for j, c in enumerate(POLYNOMIALS[scheme]))
    assert torch.allclose(measured, theory, rtol=0, atol=1e-13)


def test_amplification_with_crank_nicolson_damping_matches_the_closed_forms():
    # With a = (1 − x/2)/(1 + x/2), b = 1/(1 + x/2) for the implicit eigenvalue −x:
    # Euler–CN  R = a + z b;   Heun–CN  R = a + z b² + z² b²/2 (the predictor's CN factor enters twice).
    x = torch.tensor([[0.0, 0.1, 1.0, 3.0, 10.0, 0.5, 2.0]], dtype=torch.float64)
    z = EIGENVALUES
    a, b = (1 - x / 2) / (1 + x / 2), 1 / (1 + x / 2)
    euler = amplification(INTEGRATORS["euler_cn"], z, -x)
    heun = amplification(INTEGRATORS["cn_rk2"], z, -x)
    assert torch.allclose(euler, a + z * b, rtol=0, atol=1e-13)
    assert torch.allclose(heun, a + z * b**2 + z**2 * b**2 / 2, rtol=0, atol=1e-13)
    # ETDRK4 integrates the linear part exactly: without explicit terms R = e^{−x}.
    exact = amplification(INTEGRATORS["etdrk4"], torch.zeros_like(z), -x)
    assert torch.allclose(exact, torch.exp(-x).to(exact.dtype), rtol=1e-13, atol=0)


@pytest.mark.parametrize("scheme", sorted(INTEGRATORS))
def test_stated_stability_extents_are_where_the_amplification_reaches_one(scheme):
    integrator = INTEGRATORS[scheme]
    assert abs(real_axis_extent(integrator) - integrator.real_axis_stability) < 1e-4
    if integrator.imaginary_axis_stability == 0:
        # |R(iy)|² = 1 + y⁴/4 (Heun) or 1 + y² (Euler): growth at any step, measured at y = 0.1.
        y = 0.1
        growth = amplification(integrator, torch.tensor([[1j * y]], dtype=torch.complex128)).abs().item() ** 2 - 1
        assert growth == pytest.approx(y**4 / 4 if scheme == "cn_rk2" else y**2, rel=1e-10)
        assert imaginary_axis_extent(integrator) < 2e-3
    else:
        assert abs(imaginary_axis_extent(integrator) - integrator.imaginary_axis_stability) < 1e-4


def test_growth_limited_step_keeps_growth_within_the_allowance_and_is_the_largest_that_does():
    interval = 1.0
    speed = torch.tensor([0.5, 2.0], dtype=torch.float64)
    k = torch.linspace(2 * math.pi, 2 * math.pi * 30, 64, dtype=torch.float64)
    explicit = 1j * speed[:, None] * k
    implicit = -(1e-4 * k**2).expand(2, -1)
    cfl_step = torch.tensor([0.01, 0.0025], dtype=torch.float64)
    for scheme in ("euler_cn", "cn_rk2"):
        step = growth_limited_step(INTEGRATORS[scheme], explicit, implicit, cfl_step, interval)

        def growth(dt):
            factor = amplification(INTEGRATORS[scheme], explicit, implicit, dt).abs().amax(dim=1)
            return factor ** (interval / dt)

        assert bool((step < cfl_step).all())
        assert bool((growth(step) <= 1 + ALLOWED_GROWTH).all()), scheme
        # One rung up the ladder (2^(1/8) larger) the allowance is exceeded.
        assert bool((growth(step * 2 ** (1 / 8)) > 1 + ALLOWED_GROWTH).all()), scheme


def test_linear_modes_run_the_schemes_own_step():
    # The stepper's step through LinearModes equals multiplying by the amplification factor.
    explicit = torch.tensor([[2j, 0.5j]], dtype=torch.complex128)
    implicit = torch.tensor([[-1.0, -0.1]], dtype=torch.float64)
    equation = LinearModes(explicit, implicit)
    state = torch.tensor([[1.0 + 0.5j, -2.0]], dtype=torch.complex128)
    dt = torch.tensor([0.1], dtype=torch.float64)
    for name in ("cn_rk4", "cn_rk2", "euler_cn", "etdrk4"):
        stepped = INTEGRATORS[name](equation).step(state, dt)
        factor = amplification(INTEGRATORS[name], explicit, implicit, dt)
        assert torch.allclose(stepped, factor * state, rtol=0, atol=1e-15), name


def test_spectral_cfl_ceiling_comes_from_the_imaginary_extent():
    grid = PeriodicGrid(64, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-3)
    per_cfl = math.sqrt(2) * 2 * math.pi * 21 / 64  # |k|_max Δ at the 2/3-rule corner
    assert equation.advective_eigenvalue_per_cfl == pytest.approx(per_cfl)
    assert equation.max_cfl(INTEGRATORS["etdrk4"].stability_region()) == pytest.approx(2 * math.sqrt(2) / per_cfl)
    assert equation.max_cfl(INTEGRATORS["cn_rk4"].stability_region()) == 1.0  # 3.34 > 2.92: capped at 1
    with pytest.raises(ParameterError, match=r"^cfl must be in \(0, 0.97\] for the etdrk4"):
        Stepper(equation, 1.0, scheme="etdrk4", cfl=0.99)


def under_resolved_rms(scheme: str) -> tuple[float, int]:
    """The issue's case: 64², ν = 1e-5, FNO forcing, cfl 0.5, rms vorticity at t = 10."""
    grid = PeriodicGrid(64, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-5, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    stepper = Stepper(equation, 1.0, scheme=scheme, cfl=0.5)
    trajectory = rollout(stepper, gaussian_random_field(grid, 0, [0]), 10, include_initial=False)
    return trajectory[0, -1].std().item(), stepper.substeps


@pytest.fixture
def one_thread():
    # Thousands of small 64² steps: on a shared CPU, thread hand-offs would cost more than the work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_under_resolved_flow_stays_bounded_for_every_scheme(one_thread):
    # Before the scheme-aware step, cn_rk2 reached rms 3.79 (a growing grid-scale mode) and
    # euler_cn blew up at t ≈ 5 while cn_rk4 gave 0.972. Now the two schemes without
    # imaginary-axis stability take smaller steps and agree with the stable ones.
    reference, reference_steps = under_resolved_rms("cn_rk4")
    assert reference == pytest.approx(0.9724, abs=1e-4)
    for scheme in ("etdrk4", "cn_rk2", "euler_cn"):
        rms, steps = under_resolved_rms(scheme)
        assert rms == pytest.approx(reference, rel=1e-3), scheme
        if scheme != "etdrk4":
            assert steps > reference_steps, scheme


def test_scheme_without_imaginary_stability_is_refused_when_its_step_would_be_tiny():
    grid = PeriodicGrid(64, 1.0, torch.float64)
    stepper = Stepper(NavierStokesSpectral(grid, 1e-5), 1.0, scheme="euler_cn")
    fast = 100 * gaussian_random_field(grid, 0, [0])
    with pytest.raises(ParameterError, match=r"^scheme must be one stable for advection \(cn_rk4, etdrk4\)"):
        stepper.check_first_step(fast)
    Stepper(NavierStokesSpectral(grid, 1e-5), 1.0, scheme="cn_rk4").check_first_step(fast)


def test_growth_limited_steps_of_a_sample_do_not_depend_on_its_batchmates(one_thread):
    grid = PeriodicGrid(32, 1.0, torch.float64)
    w0 = gaussian_random_field(grid, 0, [0, 1])
    w0 = w0 * torch.tensor([1.0, 5.0], dtype=torch.float64).reshape(2, 1, 1)  # a faster batchmate
    viscosity = torch.tensor([1e-4, 2e-4], dtype=torch.float64)
    batched = rollout(Stepper(NavierStokesSpectral(grid, viscosity), 0.5, scheme="cn_rk2"), w0, 3)
    alone = rollout(Stepper(NavierStokesSpectral(grid, viscosity[:1]), 0.5, scheme="cn_rk2"), w0[:1], 3)
    assert torch.equal(batched[:1], alone)
