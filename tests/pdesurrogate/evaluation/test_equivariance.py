"""The equivariance error: zero for an exactly equivariant map, a hand value for a known
non-equivariant one, and the solver's own value inside and outside its declared group."""

from __future__ import annotations

import math

import torch

from data_gen.dataset import parse_config
from data_gen.simulation import Simulation
from data_gen.symmetry import POINT_GROUP, LatticeMap, declared_symmetry
from pdesurrogate.evaluation.equivariance import equivariance_errors, probe_maps, solver_rollout

N = 16
VARIABLES = ["vorticity", "u", "v"]


def laplacian(a: torch.Tensor) -> torch.Tensor:
    return (torch.roll(a, 1, -1) + torch.roll(a, -1, -1) + torch.roll(a, 1, -2) + torch.roll(a, -1, -2) - 4 * a)


def d(a: torch.Tensor, axis: int) -> torch.Tensor:
    """Central difference along x (axis -1) or y (axis -2)."""
    return (torch.roll(a, -1, axis) - torch.roll(a, 1, axis)) / 2


def equivariant_rollout(history, parameters, steps):
    """Vorticity, velocity: ω ← tanh ω + Δω/10 + (∂x v − ∂y u)/3, u ← u + Δu/10 − ∂y ω/5,
    v ← v + Δv/10 + ∂x ω/5 (lattice stencils): a curl is a pseudo-scalar and ∇⊥ω a vector, so it
    commutes with every lattice map when ω and (u, v) take their sign rule, and not otherwise."""
    frames, x = [], history[:, -1]
    for _ in range(steps):
        w, u, v = x.unbind(dim=1)
        x = torch.stack((torch.tanh(w) + 0.1 * laplacian(w) + (d(v, -1) - d(u, -2)) / 3,
                         u + 0.1 * laplacian(u) - d(w, -2) / 5, v + 0.1 * laplacian(v) + d(w, -1) / 5), dim=1)
        frames.append(x)
    return torch.stack(frames, dim=1)


def test_zero_for_an_exactly_equivariant_map():
    history = torch.randn(3, 2, 3, N, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    maps = [LatticeMap(p, (3, 11), N) for p in POINT_GROUP]
    errors = equivariance_errors(equivariant_rollout, history, None, maps, VARIABLES, steps=3)
    for g, error in errors.items():
        assert error.shape == (3, 3, 3)
        assert float(error.max()) < 1e-13, g
    # The same map with vorticity treated as a plain scalar is not equivariant under a reflection.
    reflect = LatticeMap("reflect_x", (0, 0), N)
    wrong = equivariance_errors(equivariant_rollout, history, None, [reflect], VARIABLES, 1, sign_rule=False)
    assert float(wrong[reflect][..., 0].min()) > 0.05  # vorticity (u happens to commute with x -> -x)


def test_hand_value_for_a_fixed_additive_pattern():
    """F(ω) = ω + β with β = B cos(2πx/L): under the half-period shift g, g·β = −β, so after t steps
    F^t(g·ω) − g·F^t(ω) = 2tβ and, with ω = A sin(4πy/L) orthogonal to β,
    E(t) = 2tB / √(A² + t²B²)."""
    A, B = 1.0, 0.5
    x = torch.arange(N, dtype=torch.float64) / N
    beta = B * torch.cos(2 * math.pi * x)[None, :].expand(N, N)
    omega = A * torch.sin(4 * math.pi * x)[:, None].expand(N, N)

    def rollout(history, parameters, steps):
        frames, w = [], history[:, -1]
        for _ in range(steps):
            w = w + beta
            frames.append(w)
        return torch.stack(frames, dim=1)

    g = LatticeMap("identity", (N // 2, 0), N)
    errors = equivariance_errors(rollout, omega.reshape(1, 1, 1, N, N), None, [g], ["vorticity"], steps=3)[g]
    expected = torch.tensor([2 * t * B / math.sqrt(A ** 2 + t ** 2 * B ** 2) for t in (1, 2, 3)], dtype=torch.float64)
    assert torch.allclose(errors[0, :, 0], expected, rtol=1e-12)


def test_solver_value_is_round_off_inside_the_group_and_not_outside():
    config = parse_config(f"""
equation: navier_stokes
scheme: cn_rk4
sim_resolution: 32
saved_resolution: {N}
dtype: float64
initial_condition: {{kind: gaussian_random_field}}
time: {{t_end: 0.2, save_interval: 0.1, cfl: 0.5}}
forcing: {{kind: fno, amplitude: 0.5}}
splits:
  train: {{viscosity: [2.0e-3], samples_per_viscosity: 1, seed: 0}}
""")
    simulation = Simulation(config, dtype=torch.float64)
    group = declared_symmetry(config)
    probes = probe_maps(group)
    assert sum(member for _, member in probes) == 4  # −I, S, −S and one translation
    assert len(probes) == 9
    generator = torch.Generator().manual_seed(2)
    history = torch.fft.irfft2(torch.randn(1, 1, 1, N, N // 2 + 1, dtype=torch.complex128, generator=generator)
                               * (torch.arange(N // 2 + 1) < 4), s=(N, N))
    history = history / history.std()
    rollout = solver_rollout(simulation, ["viscosity"], ["vorticity"])
    viscosity = torch.full((1, 1), 2e-3, dtype=torch.float64)
    errors = equivariance_errors(rollout, history, viscosity, [g for g, _ in probes], ["vorticity"], steps=2)
    for g, member in probes:
        assert (float(errors[g].max()) < 1e-10) == member, (g, float(errors[g].max()))
