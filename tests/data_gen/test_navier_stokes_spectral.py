"""The pseudo-spectral Navier–Stokes solver: exact solutions, invariants, determinism, gradients."""

import math

import pytest
import torch

from data_gen import BlowUpError, ParameterError, PeriodicGrid, Stepper, rollout
from data_gen.equations import NavierStokesSpectral
from data_gen.forcing import fno_forcing, kolmogorov_forcing
from data_gen.initial_conditions import (
    filtered_velocity,
    gaussian_random_field,
    taylor_green,
    taylor_green_exact,
    velocity_from_vorticity,
)

from .flows import smooth_vorticity


def energy_and_enstrophy(omega, grid):
    u, v = velocity_from_vorticity(omega, grid)
    return 0.5 * (u**2 + v**2).mean(dim=(-2, -1)), 0.5 * (omega**2).mean(dim=(-2, -1))


def test_taylor_green_matches_exact_decay_to_roundoff():
    # ETDRK4 integrates the viscous decay exactly, and u·∇ω ≡ 0 for Taylor–Green.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    nu, mu = 1e-2, 0.05
    equation = NavierStokesSpectral(grid, nu, drag=mu)
    trajectory = rollout(Stepper(equation, 0.25, scheme="etdrk4"), taylor_green(grid, amplitude=1.0), 4)
    for k in range(5):
        exact = taylor_green_exact(grid, 0.25 * k, nu, mu)
        assert (trajectory[:, k] - exact).abs().max() < 1e-10


def test_inviscid_invariants_converge_at_rk4_rate():
    # ν = 0, no forcing: the Galerkin-truncated system conserves energy and enstrophy exactly, so
    # their drift is pure time-stepping error and must fall ≥ 4× (RK4: ~16×) when dt halves.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 0.0, allow_inviscid=True)
    # Scaled to max |u| ≈ 0.9 so that the time-stepping error stands well above round-off.
    w0 = 20 * gaussian_random_field(grid, split_seed=3, indices=[0], alpha=2.5, tau=7.0)
    w0 = equation.decode(equation.encode(w0))  # the dealiased field the solver evolves
    e0, z0 = energy_and_enstrophy(w0, grid)
    drifts = []
    for dt in (2e-2, 1e-2):
        w = Stepper(equation, 0.5, scheme="cn_rk4", cfl=1.0, max_dt=dt)(w0)
        e, z = energy_and_enstrophy(w, grid)
        drifts.append(((e - e0).abs() / e0).item() + ((z - z0).abs() / z0).item())
    assert drifts[0] > 0 and drifts[0] / drifts[1] >= 4.0, drifts


def test_nonlinear_term_conserves_energy_and_enstrophy_exactly():
    # The semi-discrete statement behind the previous test: Σ ψ̂* N̂ = Σ ω̂* N̂ = 0 (symmetric 2/3 mask).
    grid = PeriodicGrid(24, 1.0, torch.float64)  # 3 | 24: the strict K < n/3 cutoff matters here
    equation = NavierStokesSpectral(grid, 0.0, allow_inviscid=True)
    w = gaussian_random_field(grid, split_seed=0, indices=[0, 1], alpha=1.5, tau=2.0)
    state = equation.encode(w)
    w_hat = equation.spectrum(state)  # rfft2 layout
    assert torch.equal(w_hat, w_hat * grid.dealias_mask())  # the state holds only dealiased modes
    tendency = equation.spectrum(equation.explicit_terms(state))
    k2 = -grid.laplacian_symbol().clone()
    k2[0, 0] = 1.0
    weights = torch.full((grid.n // 2 + 1,), 2.0, dtype=torch.float64)
    weights[0] = weights[-1] = 1.0
    for field_hat in (w_hat / k2, w_hat):
        budget = (weights * (field_hat.conj() * tendency).real).sum(dim=(-2, -1))
        scale = (weights * (field_hat.abs() * tendency.abs())).sum(dim=(-2, -1))
        assert (budget.abs() / scale).max() < 1e-13


def test_velocity_is_divergence_free_to_roundoff():
    grid = PeriodicGrid(32, 1.0, torch.float64)
    equation = NavierStokesSpectral(grid, 1e-3)
    w = gaussian_random_field(grid, split_seed=1, indices=range(3))
    velocity = equation.velocity(equation.encode(w))
    kx, ky = grid.wavenumbers()
    divergence = torch.fft.irfft2(1j * kx * torch.fft.rfft2(velocity[:, 0]) + 1j * ky * torch.fft.rfft2(velocity[:, 1]))
    assert divergence.abs().max() < 1e-12 * velocity.abs().max() * grid.n


def test_higher_viscosity_decays_enstrophy_faster():
    # One batch spans the sweep: same initial field, per-sample viscosity.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    viscosities = torch.tensor([1e-4, 1e-3, 1e-2], dtype=torch.float64)
    w0 = gaussian_random_field(grid, split_seed=5, indices=[0]).expand(3, -1, -1)
    w = Stepper(NavierStokesSpectral(grid, viscosities), 1.0)(w0)
    _, enstrophy = energy_and_enstrophy(w, grid)
    assert enstrophy[0] > enstrophy[1] > enstrophy[2]


def test_samples_do_not_depend_on_their_batchmates():
    # Per-sample CFL steps: a sample evolves identically alone or beside a faster flow.
    grid = PeriodicGrid(32, 1.0, torch.float64)
    w = gaussian_random_field(grid, split_seed=7, indices=[0, 1])
    w[1] *= 4.0
    forcing = fno_forcing(grid)
    together = rollout(Stepper(NavierStokesSpectral(grid, torch.tensor([1e-3, 1e-3], dtype=torch.float64), forcing=forcing), 0.5), w, 2)
    alone = rollout(Stepper(NavierStokesSpectral(grid, 1e-3, forcing=forcing), 0.5), w[:1], 2)
    assert torch.equal(together[:1], alone)


def test_random_fields_depend_only_on_seed_and_index():
    grid = PeriodicGrid(32, 1.0, torch.float64)
    batch = gaussian_random_field(grid, split_seed=11, indices=[0, 1, 2, 3])
    single = gaussian_random_field(grid, split_seed=11, indices=[2])
    reordered = gaussian_random_field(grid, split_seed=11, indices=[3, 2, 1, 0])
    assert torch.equal(batch[2], single[0])
    assert torch.equal(batch.flip(0), reordered)
    assert not torch.equal(batch[0], gaussian_random_field(grid, split_seed=12, indices=[0])[0])
    fv = filtered_velocity(grid, 11, [0, 1])
    assert torch.equal(fv[1], filtered_velocity(grid, 11, [1])[0])


def test_gaussian_random_field_has_the_prescribed_spectrum():
    # E|ω̂_k|² = 2σ²(|k|² + τ²)^(−α) (ω̂ normalised by 1/n²), the FNO generator's variance.
    grid = PeriodicGrid(16, 1.0, torch.float64)
    alpha, tau = 2.5, 7.0
    w = gaussian_random_field(grid, split_seed=0, indices=range(2000), alpha=alpha, tau=tau)
    power = (torch.fft.rfft2(w, norm="forward").abs() ** 2).mean(0)
    expected = 2 * tau ** (2 * (alpha - 1)) * (-grid.laplacian_symbol() + tau**2) ** (-alpha)
    interior = slice(1, grid.n // 2)
    ratio = power[1:4, interior] / expected[1:4, interior]
    assert (ratio - 1).abs().max() < 0.15  # 2000 samples: ~3 % standard error per mode
    assert w.mean(dim=(-2, -1)).abs().max() < 1e-12  # zero mean mode


def test_filtered_velocity_is_scaled_and_peaked():
    grid = PeriodicGrid(64, 2 * math.pi, torch.float64)
    w = filtered_velocity(grid, 0, range(8), peak_wavenumber=6, max_velocity=1.5)
    u, v = velocity_from_vorticity(w, grid)
    assert torch.allclose(torch.sqrt(u**2 + v**2).amax(dim=(-2, -1)), torch.full((8,), 1.5, dtype=torch.float64))
    from data_gen.spectral import isotropic_spectrum

    _, e_u = isotropic_spectrum(u)
    _, e_v = isotropic_spectrum(v)
    peak = int((e_u + e_v).mean(0).argmax())
    assert abs(peak - 6) <= 1


def test_kolmogorov_forcing_is_the_curl_of_the_velocity_forcing():
    grid = PeriodicGrid(32, 2 * math.pi, torch.float64)
    _, y = grid.mesh()
    fu = torch.sin(4 * y)  # (A sin(k y 2π/L), 0) with L = 2π
    _, ky = grid.wavenumbers()
    curl = torch.fft.irfft2(-1j * ky * torch.fft.rfft2(fu), s=(32, 32))
    assert torch.allclose(kolmogorov_forcing(grid, 4), curl, atol=1e-12)


def test_forcing_balances_viscosity_in_the_steady_fno_state():
    # F = ν|k|²ω for a single Fourier mode forcing with no advection (a plane wave is steady).
    grid = PeriodicGrid(32, 1.0, torch.float64)
    nu = 0.05
    forcing = fno_forcing(grid)
    steady = forcing / (nu * 2 * (2 * math.pi) ** 2)  # |k|² = 2(2π)² for k = (1, 1)
    w = Stepper(NavierStokesSpectral(grid, nu, forcing=forcing), 0.5, scheme="etdrk4")(steady[None])
    assert (w[0] - steady).abs().max() < 1e-12 * steady.abs().max()


@pytest.mark.parametrize("scheme", NavierStokesSpectral.schemes)
def test_gradcheck_wrt_initial_vorticity_and_viscosity(scheme):
    grid = PeriodicGrid(8, 1.0, torch.float64)
    forcing = fno_forcing(grid)
    w0 = (0.5 * smooth_vorticity(grid)).requires_grad_(True)
    nu = torch.tensor([2e-2], dtype=torch.float64, requires_grad=True)

    def simulate(w, viscosity):
        equation = NavierStokesSpectral(grid, viscosity, forcing=forcing)
        return Stepper(equation, 0.03, scheme=scheme, cfl=1.0, max_dt=0.01)(w)

    # fast_mode checks a random projection of the Jacobian: the same test of the backward pass
    # at a fraction of the finite-difference evaluations.
    assert torch.autograd.gradcheck(simulate, (w0, nu), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)


def test_float32_matches_float64():
    w = smooth_vorticity(PeriodicGrid(32, 1.0, torch.float64))
    results = []
    for dtype in (torch.float32, torch.float64):
        grid = PeriodicGrid(32, 1.0, dtype)
        results.append(Stepper(NavierStokesSpectral(grid, 1e-2, forcing=fno_forcing(grid)), 0.5)(w.to(dtype)))
    assert results[0].dtype == torch.float32
    assert (results[0].double() - results[1]).abs().max() < 1e-5 * results[1].abs().max()


@pytest.mark.parametrize("scheme", NavierStokesSpectral.schemes)
def test_nan_in_one_sample_names_that_sample(scheme):
    # Every scheme, the growth-limited ones too: a NaN is a blow-up, not a step to search for.
    grid = PeriodicGrid(16, 1.0, torch.float64)
    w = smooth_vorticity(grid).repeat(3, 1, 1)
    w[1, 3, 3] = float("nan")
    with pytest.raises(BlowUpError, match=r"sample\(s\) 1$") as info:
        Stepper(NavierStokesSpectral(grid, 1e-2), 0.1, scheme=scheme)(w)
    assert info.value.samples == [1] and info.value.time == 0.0


def test_runaway_forcing_reports_a_collapsed_cfl_step():
    grid = PeriodicGrid(16, 1.0, torch.float64)
    w = smooth_vorticity(grid).repeat(2, 1, 1)
    amplitude = torch.tensor([0.0, 1e7], dtype=torch.float64)
    equation = NavierStokesSpectral(grid, 1e-2, forcing=fno_forcing(grid), forcing_amplitude=amplitude)
    with pytest.raises(BlowUpError, match="CFL step collapsed") as info:
        rollout(Stepper(equation, 0.05), w, 4)
    assert info.value.samples == [1] and 0 < info.value.time <= 0.2


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: NavierStokesSpectral(PeriodicGrid(32), 0.0), "viscosity"),
        (lambda: NavierStokesSpectral(PeriodicGrid(32), -1e-3, drag=0.1), "viscosity"),
        (lambda: NavierStokesSpectral(PeriodicGrid(32), 1e-3, drag=-0.1), "drag"),
        (lambda: PeriodicGrid(31), "resolution"),
        (lambda: PeriodicGrid(4), "resolution"),
        (lambda: PeriodicGrid(32, length=-1.0), "domain_length"),
        (lambda: Stepper(NavierStokesSpectral(PeriodicGrid(32), 1e-3), 0.1, cfl=0.0), "cfl"),
        (lambda: Stepper(NavierStokesSpectral(PeriodicGrid(32), 1e-3), 0.1, cfl=1.5), "cfl"),
        (lambda: Stepper(NavierStokesSpectral(PeriodicGrid(32), 1e-3), 0.1, scheme="rk4"), "scheme"),
        (lambda: Stepper(NavierStokesSpectral(PeriodicGrid(32), 1e-3), -1.0), "interval"),
    ],
)
def test_bad_arguments_fail_at_construction_naming_the_argument(build, name):
    with pytest.raises(ParameterError, match=rf"^{name} must be"):
        build()


def test_inviscid_without_drag_is_accepted_with_drag():
    NavierStokesSpectral(PeriodicGrid(32), 0.0, drag=0.1)


def test_one_equation_serves_several_backward_passes():
    # Inverse design reuses one solver across optimisation steps; nothing may keep a stale graph.
    grid = PeriodicGrid(16, 1.0, torch.float64)
    nu = torch.tensor([1e-2], dtype=torch.float64, requires_grad=True)
    amplitude = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    equation = NavierStokesSpectral(grid, nu, forcing=fno_forcing(grid), forcing_amplitude=amplitude)
    stepper = Stepper(equation, 0.05, cfl=1.0, max_dt=0.01)
    w0 = smooth_vorticity(grid)
    grads = []
    for _ in range(2):
        stepper(w0).pow(2).mean().backward()
        grads.append((nu.grad.clone(), amplitude.grad.clone()))
        nu.grad = amplitude.grad = None
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
    assert grads[0][0].abs() > 0 and grads[0][1].abs() > 0
