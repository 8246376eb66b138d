"""Fast formulations equal the plain ones to round-off: the spectral tendency and CN-RK4 stage in their
folded form, the compact dealiased spectrum and its pruned transforms, the in-place stages, and the
compiled finite-difference evaluations."""

import shutil

import pytest
import torch

from data_gen import PeriodicGrid, Stepper
from data_gen.dealiased import DealiasedSpectrum
from data_gen.equations import NavierStokesFD, NavierStokesSpectral, ShallowWater
from data_gen.forcing import fno_forcing
from data_gen.initial_conditions import gaussian_random_field
from data_gen.initial_conditions.shallow_water import balanced_random
from data_gen.integrators import INTEGRATORS
from data_gen.spectral import velocity_symbols


def plain_tendency(equation: NavierStokesSpectral, state: torch.Tensor) -> torch.Tensor:
    """``F̂ − (u·∇ω)^`` written the direct way, in ``rfft2`` layout: velocity, its two products, their spectra."""
    grid = equation.grid
    state = equation.spectrum(state)
    velocity = torch.fft.irfft2(state.unsqueeze(1) * velocity_symbols(grid) * grid.dealias_mask(), s=(grid.n, grid.n))
    u, v = velocity[:, 0], velocity[:, 1]
    products_hat = torch.fft.rfft2(torch.stack((u * v, u * u - v * v), dim=1))
    kx, ky = grid.wavenumbers()
    mask = grid.dealias_mask()
    advection = (ky**2 - kx**2) * mask * products_hat[:, 0] + kx * ky * mask * products_hat[:, 1]
    return equation.spectrum(equation._forcing_hat) - advection


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-13), (torch.float32, 1e-6)])
def test_spectral_tendency_equals_the_plain_formulation(dtype, tolerance):
    grid = PeriodicGrid(32, 1.0, dtype)
    equation = NavierStokesSpectral(grid, 1e-3, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    state = equation.encode(gaussian_random_field(grid, 0, range(3)))
    fast, speed = equation.explicit_terms_and_max_speed(state)
    fast = equation.spectrum(fast)
    plain = plain_tendency(equation, state)
    assert ((fast - plain).abs().max() / plain.abs().max()).item() < tolerance
    assert torch.allclose(speed, equation.max_speed(state), rtol=10 * tolerance, atol=0)


def test_cn_rk4_stage_update_equals_the_plain_formulation():
    # u ← (1 + μL)/(1 − μL) u + γ dt h/(1 − μL), stage by stage, with the same explicit terms.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-3, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    state = equation.encode(gaussian_random_field(grid, 0, range(2)))
    dt = torch.tensor([0.01, 0.02], dtype=torch.float64)
    scheme = INTEGRATORS["cn_rk4"]
    fast = scheme(equation).step(state, dt)
    plain, h = state, None
    linear = equation.linear_diagonal()
    for k, (beta, gamma) in enumerate(zip(scheme.betas, scheme.gammas)):
        explicit = equation.explicit_terms(plain)
        h = explicit if h is None else explicit + beta * h
        mu = 0.5 * dt.reshape(-1, 1, 1) * (scheme.alphas[k + 1] - scheme.alphas[k])
        plain = ((1 + mu * linear) * plain + gamma * dt.reshape(-1, 1, 1) * h) / (1 - mu * linear)
    assert ((fast - plain).abs().max() / plain.abs().max()).item() < 1e-13


def compiled_and_eager(equation, fields, scheme):
    runs = []
    for compile in (False, True):
        stepper = Stepper(equation, 0.02, scheme=scheme, cfl=0.5, compile=compile)
        with torch.no_grad():
            runs.append(stepper(fields))
    return runs


needs_compiler = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                                    reason="torch.compile on CPU needs a C++ compiler")


@pytest.mark.slow
@needs_compiler
def test_compiled_shallow_water_equals_eager_to_round_off():
    grid = PeriodicGrid(16, 1.0, torch.float64)
    fields = balanced_random(grid, 0, range(2), coriolis=10.0, peak_wavenumber=3, rossby=0.3)
    equation = ShallowWater(grid, coriolis=10.0, viscosity=1e-4, hyperviscosity=1e-7)
    eager, compiled = compiled_and_eager(equation, fields, "rk4")
    assert (compiled - eager).abs().max().item() < 1e-13 * eager.abs().max().item()
    assert not torch.equal(eager, fields)


@pytest.mark.slow
@needs_compiler
def test_compiled_finite_difference_navier_stokes_equals_eager_to_round_off():
    grid = PeriodicGrid(16, 1.0, torch.float64)
    equation = NavierStokesFD(grid, 1e-3, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    fields = gaussian_random_field(grid, 0, range(2))
    eager, compiled = compiled_and_eager(equation, fields, "rk3")
    assert (compiled - eager).abs().max().item() < 1e-13 * eager.abs().max().item()


def test_compile_is_ignored_where_it_does_not_pay_and_under_autograd():
    grid = PeriodicGrid(16, 1.0, torch.float64)
    spectral = Stepper(NavierStokesSpectral(grid, 1e-3), 0.1, compile=True)
    assert spectral.integrator.equation is spectral.equation  # complex arithmetic: no gain
    stencil = Stepper(ShallowWater(grid, coriolis=1.0), 0.1, compile=True)
    assert stencil.integrator.equation is not stencil.equation
    # With autograd on, the eager functions run (no compilation is triggered here).
    fields = torch.stack((torch.ones(16, 16), torch.zeros(16, 16), torch.zeros(16, 16)))[None].double()
    state = stencil.equation.encode(fields)
    assert torch.equal(stencil.integrator.equation.explicit_terms(state), stencil.equation.explicit_terms(state))


@pytest.mark.parametrize("n", [24, 32])  # 3 | 24: the strict K < n/3 cutoff
def test_compact_spectrum_and_its_pruned_transforms_equal_the_full_ones(n):
    grid = PeriodicGrid(n, 1.0, torch.float64)
    modes = DealiasedSpectrum(n)
    field = gaussian_random_field(grid, 0, range(2))
    spectrum = torch.fft.rfft2(field) * grid.dealias_mask()
    compact = modes.compact(spectrum)
    assert compact.shape == (2, *modes.shape) and modes.shape == (2 * ((n - 1) // 3) + 1, (n - 1) // 3 + 1)
    assert torch.equal(modes.expand(compact), spectrum)  # nothing kept is lost, nothing else is made up
    forward = modes.from_physical(field)
    assert ((forward - compact).abs().max() / compact.abs().max()).item() < 1e-14
    symbols = torch.randn(2, *modes.shape, dtype=torch.complex128)
    for trial in range(2):  # the second call reuses the zero-padded buffers
        values = compact * (1 + trial)
        reference = torch.fft.irfft2(modes.expand(values.unsqueeze(1) * symbols), s=(n, n))
        with torch.no_grad():
            buffered = modes.to_physical(values.unsqueeze(1), symbols)
        traced = modes.to_physical(values.clone().requires_grad_().unsqueeze(1), symbols)
        assert traced.requires_grad
        for result in (buffered, traced):
            assert ((result - reference).abs().max() / reference.abs().max()).item() < 1e-14


def test_cn_rk4_in_place_stages_equal_the_graph_path_and_spare_their_inputs():
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-3, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    state = equation.encode(gaussian_random_field(grid, 0, range(2)))
    explicit0 = equation.explicit_terms(state)
    kept_state, kept_explicit0 = state.clone(), explicit0.clone()
    dt = torch.tensor([0.01, 0.02], dtype=torch.float64)
    step = INTEGRATORS["cn_rk4"](equation).step
    with torch.no_grad():
        in_place = step(state, dt, explicit0)
    untracked = step(state, dt, explicit0)  # grad mode on, but nothing to record: in place too
    traced = step(state.clone().requires_grad_(), dt, explicit0)
    assert traced.requires_grad and not untracked.requires_grad
    for result in (in_place, untracked):
        assert ((result - traced).abs().max() / traced.abs().max()).item() < 1e-13
    assert torch.equal(state, kept_state) and torch.equal(explicit0, kept_explicit0)
    # A parameter that needs a gradient (a forcing amplitude being designed) keeps its graph.
    amplitude = torch.tensor([0.1, 0.1], dtype=torch.float64, requires_grad=True)
    designed = NavierStokesSpectral(grid, 1e-3, forcing=fno_forcing(grid), forcing_amplitude=amplitude)
    INTEGRATORS["cn_rk4"](designed).step(state, dt).abs().sum().backward()
    assert amplitude.grad is not None and bool((amplitude.grad != 0).all())
