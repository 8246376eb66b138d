"""Rotating shallow water on the C-grid: invariants, exact steady states, the discrete dispersion
relation, symmetries, differentiability and the refusal of bad parameters."""

import math

import numpy as np
import pytest
import torch

from data_gen import BlowUpError, ParameterError, PeriodicGrid, Stepper
from data_gen.equations import ShallowWater
from data_gen.equations.shallow_water import ROTATIONAL_SCHEMES
from data_gen.initial_conditions.shallow_water import balanced_random, geostrophic_jet, gravity_wave

SCHEMES = ("arakawa_lamb", "sadourny_energy")


def grid(n=32, dtype=torch.float64):
    return PeriodicGrid(n, 1.0, dtype)


def turbulent_start(g, coriolis=10.0, samples=(0, 1)):
    return balanced_random(g, 7, list(samples), coriolis=coriolis, peak_wavenumber=3, rossby=0.3)


# --- invariants ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", SCHEMES)
def test_semi_discrete_energy_and_enstrophy_budgets(scheme):
    # dQ/dt = ⟨∂Q/∂fields, tendency⟩ on a rough random state: the C-grid conserves mass and energy
    # exactly (both schemes) and potential enstrophy exactly (Arakawa–Lamb only).
    torch.manual_seed(0)
    g = grid(16)
    eq = ShallowWater(g, coriolis=torch.tensor([3.0, -2.0]), rotational_scheme=scheme)
    fields = 0.1 * torch.randn(2, 3, 16, 16, dtype=torch.float64)
    fields[:, 0] += 1.0
    fields.requires_grad_(True)
    tendency = eq.explicit_terms(eq.encode(fields)).detach()
    rates = {}
    for name, invariant in (("mass", eq.mass), ("energy", eq.energy), ("enstrophy", eq.potential_enstrophy)):
        value = invariant(fields)
        (grad,) = torch.autograd.grad(value.sum(), fields)
        rates[name] = ((grad * tendency).sum(dim=(1, 2, 3)) / value.detach()).abs().max().item()
    assert rates["mass"] < 1e-14 and rates["energy"] < 1e-13
    if scheme == "arakawa_lamb":
        assert rates["enstrophy"] < 1e-13
    else:
        assert rates["enstrophy"] > 1e-3  # Sadourny's energy scheme does not conserve it


def test_mass_is_conserved_to_round_off():
    g = grid(32)
    eq = ShallowWater(g, coriolis=10.0, viscosity=1e-3, hyperviscosity=1e-7, drag=0.05)
    fields = turbulent_start(g)
    stepper = Stepper(eq, 0.5, cfl=0.8)
    mass0 = eq.mass(fields)
    for _ in range(10):
        fields = stepper(fields)
    assert stepper.substeps > 250
    assert ((eq.mass(fields) - mass0) / mass0).abs().max() < 1e-12


@pytest.mark.parametrize("scheme, observed_at_least", [("rk4", 3.8), ("rk3", 2.8)])
def test_energy_drift_falls_at_the_scheme_order(scheme, observed_at_least):
    # With ν = μ = 0 the space discretisation conserves energy, so the drift is the integrator's.
    # (RK4 shows ≈ 5: its amplification factor errs in modulus only at O(dt⁶) per step.)
    g = grid(32)
    eq = ShallowWater(g, coriolis=10.0)
    fields = turbulent_start(g)
    energy0 = eq.energy(fields)
    drifts = []
    for dt in (0.01, 0.005):
        end = Stepper(eq, 0.4, scheme=scheme, cfl=eq_max_cfl(scheme), max_dt=dt)(fields)
        drifts.append(((eq.energy(end) - energy0) / energy0).abs().max().item())
    assert math.log2(drifts[0] / drifts[1]) > observed_at_least, drifts


def eq_max_cfl(scheme):
    from data_gen.integrators import INTEGRATORS

    return ShallowWater(grid(8), coriolis=1.0).max_cfl(INTEGRATORS[scheme].stability_region())


# --- exact solutions ----------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", SCHEMES)
def test_unperturbed_geostrophic_jet_is_steady(scheme):
    # Tolerance: every field changes by < 1e-12 × the jet speed over ~190 RK4 steps (2 time
    # units, 3 jet crossing times), with f of both signs in one batch.
    g = grid(32)
    coriolis = torch.tensor([10.0, -5.0])
    jet = geostrophic_jet(g, coriolis=coriolis, jet_speed=0.3, jet_width=0.1, rotational_scheme=scheme)
    eq = ShallowWater(g, coriolis=coriolis, rotational_scheme=scheme)
    end = Stepper(eq, 2.0, cfl=0.5)(jet)
    assert (jet[:, 0].amax() - jet[:, 0].amin()) > 0.1  # a strong jet: h varies by > 10 % of H
    assert (end - jet).abs().max() < 1e-12 * 0.3


@pytest.mark.parametrize("coriolis", [0.0, 20.0])
def test_inertia_gravity_frequency_matches_the_c_grid_dispersion_relation(coriolis):
    # ω² = f² cos²(kΔ/2) cos²(lΔ/2) + (4gH/Δ²)(sin²(kΔ/2) + sin²(lΔ/2)) on the C-grid; for the
    # larger wavenumbers it differs from the continuum ω² = f² + gH|κ|² by far more than 1 %.
    n = 32
    g = grid(n)
    eq = ShallowWater(g, coriolis=coriolis)
    dx = g.spacing
    for wavenumber in [(1, 0), (3, 2), (8, 0), (5, -5)]:
        k, l = (2 * math.pi * m for m in wavenumber)
        discrete = math.sqrt(coriolis**2 * (math.cos(k * dx / 2) * math.cos(l * dx / 2)) ** 2
                             + 4 / dx**2 * (math.sin(k * dx / 2) ** 2 + math.sin(l * dx / 2) ** 2))
        continuum = math.sqrt(coriolis**2 + k**2 + l**2)
        period = 2 * math.pi / discrete
        stepper = Stepper(eq, period / 8, cfl=0.5)
        fields = gravity_wave(g, wavenumber, 1e-7, coriolis=coriolis)
        phases = []
        for _ in range(9):
            coeff = torch.fft.fft2(fields[0, 0] - 1.0)[wavenumber[1] % n, wavenumber[0]]
            phases.append(math.atan2(coeff.imag.item(), coeff.real.item()))
            fields = stepper(fields)
        times = np.arange(9) * period / 8
        measured = -np.polyfit(times, np.unwrap(phases), 1)[0]
        assert abs(measured / discrete - 1) < 0.01, (wavenumber, measured, discrete)
        if wavenumber[0] ** 2 + wavenumber[1] ** 2 > 40:
            assert abs(continuum / discrete - 1) > 0.03


# --- symmetries ------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", SCHEMES)
def test_rest_stays_at_rest(scheme):
    g = grid(16)
    eq = ShallowWater(g, coriolis=torch.tensor([7.0, -3.0]), gravity=9.81, mean_depth=2.0,
                      viscosity=1e-3, hyperviscosity=1e-7, drag=0.1, rotational_scheme=scheme)
    rest = torch.zeros(2, 3, 16, 16, dtype=torch.float64)
    rest[:, 0] = 2.0
    assert torch.equal(Stepper(eq, 0.3)(rest), rest)


def mirror_x(fields):
    # x → −x maps centres i → −i and x-faces i + ½ → −i − ½ (index −i − 1), and flips u.
    h, u, v = fields.unbind(1)
    centre = lambda a: torch.roll(torch.flip(a, [-1]), 1, -1)  # noqa: E731
    return torch.stack((centre(h), -torch.flip(u, [-1]), centre(v)), dim=1)


def mirror_y(fields):
    h, u, v = fields.unbind(1)
    centre = lambda a: torch.roll(torch.flip(a, [-2]), 1, -2)  # noqa: E731
    return torch.stack((centre(h), centre(u), -torch.flip(v, [-2])), dim=1)


def transpose(fields):
    h, u, v = fields.unbind(1)
    return torch.stack((h.mT, v.mT, u.mT), dim=1)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_symmetric_bump_stays_symmetric_without_rotation(scheme):
    g = grid(32)
    x, y = g.mesh()
    radius2 = (x - 0.5) ** 2 + (y - 0.5) ** 2  # centred on the cell centre (16, 16)
    fields = torch.zeros(1, 3, 32, 32, dtype=torch.float64)
    fields[:, 0] = 1.0 + 0.2 * torch.exp(-radius2 / 0.01)
    for mirror in (mirror_x, mirror_y, transpose):
        assert torch.equal(mirror(fields), fields)
    eq = ShallowWater(g, coriolis=0.0, viscosity=1e-4, rotational_scheme=scheme)
    end = Stepper(eq, 0.5, cfl=0.8)(fields)
    assert (end - fields).abs().max() > 1e-2  # the bump has spread
    for mirror in (mirror_x, mirror_y, transpose):
        assert (mirror(end) - end).abs().max() < 1e-13


# --- differentiability ---------------------------------------------------------------------------
def test_gradcheck_through_a_few_steps():
    g = grid(8)
    torch.manual_seed(1)
    start = 0.05 * torch.randn(1, 3, 8, 8, dtype=torch.float64)
    start[:, 0] += 1.0
    start.requires_grad_(True)
    viscosity = torch.tensor([2e-3], dtype=torch.float64, requires_grad=True)

    def three_steps(fields, nu):
        eq = ShallowWater(g, coriolis=4.0, viscosity=nu, hyperviscosity=1e-7)
        return Stepper(eq, 0.03, cfl=0.5, max_dt=0.01)(fields)

    # fast_mode checks random directions of the Jacobian: the full 193-column check takes ~17 s.
    assert torch.autograd.gradcheck(three_steps, (start, viscosity), eps=1e-6, atol=1e-7, fast_mode=True)


@pytest.mark.parametrize("scheme", ShallowWater.schemes)
@pytest.mark.parametrize("rotational_scheme", ROTATIONAL_SCHEMES)
def test_gradcheck_wrt_fields_and_every_per_sample_parameter(scheme, rotational_scheme):
    # Two samples with different values, so a gradient that leaked across the batch would show.
    g = grid(8)
    torch.manual_seed(2)
    start = 0.05 * torch.randn(2, 3, 8, 8, dtype=torch.float64)
    start[:, 0] += 1.0
    start.requires_grad_(True)
    values = dict(coriolis=[4.0, -2.0], gravity=[1.0, 1.5], mean_depth=[1.0, 1.2], viscosity=[2e-3, 1e-3],
                  hyperviscosity=[1e-5, 2e-5], drag=[0.1, 0.05])
    parameters = tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values.values())

    def steps(fields, *parameters):
        eq = ShallowWater(g, **dict(zip(values, parameters)), rotational_scheme=rotational_scheme)
        # max_dt far below the CFL step fixes the step count at 3, whatever the perturbation.
        return Stepper(eq, 0.03, scheme=scheme, cfl=0.5, max_dt=0.01)(fields)

    assert torch.autograd.gradcheck(steps, (start, *parameters), eps=1e-6, atol=1e-7, fast_mode=True)


def test_float32_tracks_float64():
    # The state holds h − H, so float32 keeps ~7 digits of the height perturbation, not of H.
    fields = turbulent_start(grid(32))
    runs = []
    for dtype in (torch.float64, torch.float32):
        eq = ShallowWater(grid(32, dtype), coriolis=10.0, viscosity=1e-4)
        end = Stepper(eq, 0.5, cfl=0.5)(fields.to(dtype))
        assert end.dtype == dtype
        runs.append(end.double())
    assert (runs[1] - runs[0]).abs().max() < 1e-5 * runs[0][:, 1:].abs().max()


# --- output points, initial conditions, errors ------------------------------------------------------
def test_outputs_are_interpolated_to_the_cell_centres():
    # One Fourier mode placed on the C-grid: after to_output, u and v equal the mode at x_i = i·L/n,
    # and the vorticity equals the C-grid curl of that mode (ζ = −S_x A sin for v = A cos(κ·x)).
    n = 16
    g = grid(n)
    x, y = g.mesh()
    dx = g.spacing
    k, l = 2 * math.pi * 3, 2 * math.pi * 2
    fields = torch.stack((1 + 0.1 * torch.cos(k * x + l * y),
                          torch.cos(k * (x + dx / 2) + l * y),
                          0.5 * torch.cos(k * x + l * (y + dx / 2))))[None]
    out = ShallowWater(g, coriolis=1.0).to_output(fields)[0]
    sx, sy = 2 * math.sin(k * dx / 2) / dx, 2 * math.sin(l * dx / 2) / dx
    expected = torch.stack((fields[0, 0], torch.cos(k * x + l * y), 0.5 * torch.cos(k * x + l * y),
                            (-sx * 0.5 + sy) * torch.sin(k * x + l * y)))
    assert torch.allclose(out, expected, rtol=0, atol=1e-12)
    assert ShallowWater.output_variables == ("height", "u", "v", "vorticity")


def test_balanced_random_is_balanced_reproducible_and_scaled():
    g = grid(32)
    fields = balanced_random(g, 3, [0, 1, 2], coriolis=torch.tensor([5.0, -5.0, 8.0]), peak_wavenumber=4,
                             rossby=0.2)
    alone = balanced_random(g, 3, [2], coriolis=8.0, peak_wavenumber=4, rossby=0.2)
    assert torch.equal(fields[2:], alone)  # sample i depends only on (seed, i)
    eq = ShallowWater(g, coriolis=torch.tensor([5.0, -5.0, 8.0]))
    vorticity = eq.vorticity(fields)
    rms = vorticity.pow(2).mean(dim=(-2, -1)).sqrt()  # the circulation, so the mean, is zero
    assert torch.allclose(rms / eq.coriolis.abs(), torch.full((3,), 0.2, dtype=torch.float64))
    assert (eq.divergence(fields).abs().max() < 1e-12 * vorticity.abs().max())
    assert torch.allclose(fields[:, 0].mean(dim=(-2, -1)), torch.ones(3, dtype=torch.float64))
    # Linear geostrophic balance on the discrete operators: the tendency is quadratic in the
    # amplitude (the Coriolis and pressure terms, each linear in it, cancel to round-off).
    eq = ShallowWater(g, coriolis=5.0)
    tendencies = [eq.explicit_terms(eq.encode(balanced_random(g, 3, [0], coriolis=5.0, peak_wavenumber=4,
                                                                amplitude=a))).abs().max() for a in (1e-6, 1e-5)]
    assert 90 < tendencies[1] / tendencies[0] < 110


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"mean_depth": 0.0}, "mean_depth"),
        ({"mean_depth": -1.0}, "mean_depth"),
        ({"gravity": 0.0}, "gravity"),
        ({"viscosity": -1e-3}, "viscosity"),
        ({"hyperviscosity": torch.tensor([1e-7, -1e-7])}, "hyperviscosity"),
        ({"drag": -0.1}, "drag"),
        ({"coriolis": float("nan")}, "coriolis"),
        ({"rotational_scheme": "enstrophy"}, "rotational_scheme"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(kwargs, field):
    arguments = {"coriolis": 1.0, **kwargs}
    with pytest.raises(ParameterError, match=field):
        ShallowWater(grid(16), **arguments)


def test_cfl_beyond_the_scheme_is_refused_and_negative_f_is_accepted():
    eq = ShallowWater(grid(16), coriolis=-3.0)
    Stepper(eq, 0.1, scheme="rk4", cfl=1.0)
    with pytest.raises(ParameterError, match="cfl"):
        Stepper(eq, 0.1, scheme="rk3", cfl=0.7)


def test_the_refused_cfl_is_where_grid_scale_waves_grow():
    # SSP-RK3 is stable on the imaginary axis up to √3; the fastest C-grid gravity wave has
    # ω dt = 2√2 · CFL, so round-off noise on a flat surface stays put at CFL 0.6 (the limit
    # refused above it) and grows at 0.7, which the Stepper refuses (set past the check here).
    torch.manual_seed(0)
    still = torch.zeros(1, 3, 16, 16, dtype=torch.float64)
    still[:, 0] = 1.0
    noisy = still + 1e-10 * torch.randn_like(still)
    eq = ShallowWater(grid(16), coriolis=0.0)
    growth = {}
    for cfl in (0.6, 0.7):
        stepper = Stepper(eq, 10.0, scheme="rk3", cfl=0.6)
        stepper.cfl = cfl
        end = stepper(noisy)
        growth[cfl] = ((end - still).abs().max() / (noisy - still).abs().max()).item()
    assert growth[0.6] < 2 and growth[0.7] > 1e3, growth


def test_negative_depth_stops_with_the_sample_and_time():
    g = grid(16)
    fields = torch.zeros(3, 3, 16, 16, dtype=torch.float64)
    fields[:, 0] = 1.0
    fields[1, 0, 4:8, 4:8] = -0.2
    with pytest.raises(BlowUpError, match="negative depth") as error:
        Stepper(ShallowWater(g, coriolis=1.0), 0.05)(fields)
    assert error.value.samples == [1] and error.value.time == 0.0  # caught before the first step
