"""The finite-difference (Arakawa) Navier–Stokes solver: convergence, invariants, agreement with
the spectral solver, discrete incompressibility, gradients and argument checks."""

import math

import pytest
import torch

from data_gen import ParameterError, PeriodicGrid, Stepper, rollout
from data_gen.equations import NavierStokesFD, NavierStokesSpectral
from data_gen.forcing import fno_forcing
from data_gen.initial_conditions import taylor_green, taylor_green_exact
from data_gen.integrators import SSPRK3, make_integrator

from .flows import observed_orders


def low_mode_vorticity(grid: PeriodicGrid, amplitude: float = 3.0) -> torch.Tensor:
    """Smooth ``(1, n, n)`` field whose modes have different |k|, so that ψ is not ∝ ω and the
    flow is not a steady Euler solution (a field of one |k| shell would not advect at all)."""
    x, y = grid.mesh()
    k = 2 * math.pi / grid.length
    omega = torch.sin(k * x) * torch.cos(2 * k * y) + 0.7 * torch.cos(k * (x + y)) + 0.5 * torch.sin(k * y + 1.0)
    return amplitude * omega[None]


def centred_divergence(velocity: torch.Tensor, spacing: float) -> torch.Tensor:
    u, v = velocity[:, 0], velocity[:, 1]
    du_dx = (torch.roll(u, -1, -1) - torch.roll(u, 1, -1)) / (2 * spacing)
    dv_dy = (torch.roll(v, -1, -2) - torch.roll(v, 1, -2)) / (2 * spacing)
    return du_dx + dv_dy


def test_taylor_green_converges_at_second_order():
    viscosity, time = 0.05, 0.5
    errors = []
    for n in (16, 32, 64):
        grid = PeriodicGrid(n)
        # 100 RK4 steps: the time error (~(νκ²dt)⁵) is far below the O(h²) space error.
        stepper = Stepper(NavierStokesFD(grid, viscosity), time, max_dt=time / 100)
        final = stepper(taylor_green(grid))
        exact = taylor_green_exact(grid, time, viscosity)
        errors.append(float((final - exact).abs().max() / exact.abs().max()))
    orders = observed_orders(errors)
    assert all(1.9 <= p <= 2.1 for p in orders), (errors, orders)


def test_arakawa_jacobian_conserves_energy_and_enstrophy_semi_discretely():
    grid = PeriodicGrid(32)
    equation = NavierStokesFD(grid, 0.0, allow_inviscid=True)
    generator = torch.Generator().manual_seed(0)
    # The identities hold for any pair of fields, not only for ψ solving the Poisson equation.
    psi = torch.randn(3, 32, 32, dtype=torch.float64, generator=generator)
    omega = torch.randn(3, 32, 32, dtype=torch.float64, generator=generator)
    jacobian = equation.jacobian(psi, omega)
    for weight in (psi, omega, torch.ones_like(psi)):  # energy, enstrophy, circulation
        scale = (weight.abs() * jacobian.abs()).sum(dim=(-2, -1))
        assert torch.all((weight * jacobian).sum(dim=(-2, -1)).abs() <= 1e-13 * scale)


@pytest.mark.parametrize("scheme, order", [("rk4", 4), ("rk3", 3)])
def test_inviscid_drift_falls_at_the_integrator_order(scheme, order):
    grid = PeriodicGrid(32)
    equation = NavierStokesFD(grid, 0.0, allow_inviscid=True)
    initial = low_mode_vorticity(grid)

    def drifts(dt):
        frames = rollout(Stepper(equation, 0.25, scheme=scheme, cfl=1.0, max_dt=dt), initial, 8)[0]
        energy = 0.5 * (equation.streamfunction(frames) * frames).sum(dim=(-2, -1))
        enstrophy = 0.5 * (frames**2).sum(dim=(-2, -1))
        return [float((q / q[0] - 1).abs().max()) for q in (energy, enstrophy)]

    # dt = 0.01 is a Courant number |u|dt/h ≈ 0.19; by t = 2 the flow has crossed most of the domain.
    coarse, fine = drifts(0.01), drifts(0.005)
    for before, after in zip(coarse, fine):
        assert after > 1e-13  # the drift is time-stepping error, not round-off
        assert before / after >= 2 ** (order - 0.3), (scheme, coarse, fine)


def test_agrees_with_the_spectral_solver_at_second_order():
    viscosity, amplitude, time = 1e-2, 0.1, 0.5
    fine = PeriodicGrid(128)
    spectral = NavierStokesSpectral(fine, viscosity, forcing=fno_forcing(fine), forcing_amplitude=amplitude)
    reference = Stepper(spectral, time, scheme="etdrk4", max_dt=2e-3)(low_mode_vorticity(fine))
    differences = []
    for n in (16, 32, 64):
        grid = PeriodicGrid(n)
        equation = NavierStokesFD(grid, viscosity, forcing=fno_forcing(grid), forcing_amplitude=amplitude)
        final = Stepper(equation, time, max_dt=2e-3)(low_mode_vorticity(grid))
        # x_i = i·L/N: every coarse point is a point of the spectral grid.
        at_points = reference[:, :: 128 // n, :: 128 // n]
        differences.append(float((final - at_points).abs().max() / at_points.abs().max()))
    orders = observed_orders(differences)
    assert differences[-1] < 5e-3
    assert all(1.7 <= p <= 2.3 for p in orders), (differences, orders)


def test_velocity_is_discretely_divergence_free():
    grid = PeriodicGrid(32)
    equation = NavierStokesFD(grid, 1e-3)
    omega = torch.randn(2, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    velocity = equation.velocity(omega)
    divergence = centred_divergence(velocity, grid.spacing)
    scale = velocity.abs().max() / grid.spacing
    assert float(divergence.abs().max()) <= 1e-13 * float(scale)
    # And Δ_h ψ = −ω holds for the zero-mean part (the mean is a gauge of the periodic solve).
    residual = equation.laplacian(equation.streamfunction(omega)) + omega - omega.mean(dim=(-2, -1), keepdim=True)
    assert float(residual.abs().max()) <= 1e-10 * float(omega.abs().max())


def test_diffusion_time_step_is_the_schemes_real_axis_limit():
    grid = PeriodicGrid(16)
    viscosity, drag = 0.02, 0.5
    equation = NavierStokesFD(grid, viscosity, drag)
    dt = equation.time_step_limit(torch.zeros(1, dtype=torch.float64), cfl=0.5, region=SSPRK3.stability_region())
    # The checkerboard mode is the Laplacian's eigenvector for −8/h², and J(ψ, ω) = 0 for it.
    i = torch.arange(16)
    checkerboard = ((-1.0) ** (i[:, None] + i[None, :])).to(torch.float64)[None]
    rate = 8 * viscosity / grid.spacing**2 + drag
    assert float(dt) == pytest.approx(2.5127453266 / rate, rel=1e-12)
    rk3 = make_integrator("rk3", equation)
    at_limit = rk3.step(checkerboard, dt) / checkerboard
    beyond = rk3.step(checkerboard, 1.05 * dt) / checkerboard
    assert float(at_limit.abs().max()) <= 1 + 1e-9
    assert float(beyond.abs().min()) > 1.01


def test_batched_parameters_match_separate_runs():
    grid = PeriodicGrid(16)
    initial = low_mode_vorticity(grid, amplitude=1.0).expand(2, -1, -1)
    forcing = fno_forcing(grid)
    batched = Stepper(NavierStokesFD(grid, torch.tensor([0.01, 0.05], dtype=torch.float64), forcing=forcing,
                                     forcing_amplitude=torch.tensor([0.1, 0.3], dtype=torch.float64)), 0.2)(initial)
    for i, (nu, amplitude) in enumerate(((0.01, 0.1), (0.05, 0.3))):
        single = Stepper(NavierStokesFD(grid, nu, forcing=forcing, forcing_amplitude=amplitude), 0.2)(initial[i:i + 1])
        torch.testing.assert_close(batched[i:i + 1], single, rtol=0, atol=1e-13)


def test_float32_agrees_with_float64():
    results = []
    for dtype in (torch.float32, torch.float64):
        grid = PeriodicGrid(32, dtype=dtype)
        equation = NavierStokesFD(grid, 1e-2, forcing=fno_forcing(grid), forcing_amplitude=0.1)
        results.append(Stepper(equation, 0.25, max_dt=1e-2)(low_mode_vorticity(grid)))
    assert results[0].dtype == torch.float32
    assert float((results[0].double() - results[1]).abs().max() / results[1].abs().max()) < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    results = []
    for device in ("cpu", "cuda"):
        grid = PeriodicGrid(32, device=device)
        equation = NavierStokesFD(grid, torch.tensor([1e-2, 2e-2], device=device), forcing=fno_forcing(grid))
        initial = low_mode_vorticity(grid).expand(2, -1, -1)
        results.append(Stepper(equation, 0.25, max_dt=1e-2)(initial).cpu())
    torch.testing.assert_close(results[1], results[0], rtol=0, atol=1e-11)


@pytest.mark.parametrize("scheme", NavierStokesFD.schemes)
def test_gradcheck_initial_vorticity_and_parameters(scheme):
    grid = PeriodicGrid(8)
    forcing = fno_forcing(grid)
    generator = torch.Generator().manual_seed(2)
    omega = torch.randn(1, 8, 8, dtype=torch.float64, generator=generator).requires_grad_()
    viscosity = torch.tensor([0.02], dtype=torch.float64, requires_grad=True)
    drag = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)
    amplitude = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)

    def final_vorticity(omega, viscosity, drag, amplitude):
        equation = NavierStokesFD(grid, viscosity, drag, forcing=forcing, forcing_amplitude=amplitude)
        # max_dt far below the stability limit fixes the step count at 4, whatever the perturbation.
        stepper = Stepper(equation, 0.04, scheme=scheme, max_dt=0.01)
        return stepper(omega)

    assert torch.autograd.gradcheck(final_vorticity, (omega, viscosity, drag, amplitude))


@pytest.mark.parametrize(
    "build, argument",
    [
        (lambda: NavierStokesFD(PeriodicGrid(16), -1e-3), "viscosity"),
        (lambda: NavierStokesFD(PeriodicGrid(16), 0.0), "viscosity"),
        (lambda: NavierStokesFD(PeriodicGrid(16), 1e-3, drag=-0.1), "drag"),
        (lambda: NavierStokesFD(PeriodicGrid(15), 1e-3), "resolution"),
        (lambda: NavierStokesFD(PeriodicGrid(16), 1e-3, forcing=torch.zeros(8, 8)), "forcing"),
        (lambda: Stepper(NavierStokesFD(PeriodicGrid(16), 1e-3), 0.1, scheme="cn_rk4"), "scheme"),
    ],
)
def test_bad_arguments_are_refused_by_name(build, argument):
    with pytest.raises(ParameterError, match=argument):
        build()


def test_drag_alone_decays_taylor_green_exponentially():
    # ν = 0 is accepted with drag; J(ψ, ω) = 0 for Taylor–Green, so ω decays as exp(−μt) exactly.
    grid = PeriodicGrid(16)
    final = Stepper(NavierStokesFD(grid, 0.0, drag=0.5), 1.0, max_dt=0.01)(taylor_green(grid))
    expected = taylor_green_exact(grid, 1.0, viscosity=0.0, drag=0.5)
    assert float((final - expected).abs().max() / expected.abs().max()) < 1e-10
