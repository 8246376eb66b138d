"""The declared groups, checked by the physics: the solver commutes with every declared lattice map
to round-off and not with maps outside the group; the elements form a group."""

from __future__ import annotations

import pytest
import torch

from data_gen.dataset import parse_config
from data_gen.simulation import Simulation
from data_gen.symmetry import LatticeMap, SymmetryError, SymmetryGroup, declared_symmetry, sample_symmetry, symmetry_record
from data_gen.symmetry.declared import manifest_symmetry

SAVED = 16

NS = """
equation: navier_stokes
solver: {solver}
scheme: {scheme}
domain_length: {length}
sim_resolution: 32
saved_resolution: {saved}
dtype: float64
time: {{t_end: 0.2, save_interval: 0.1, spinup: 0.0, cfl: 0.5}}
forcing: {forcing}
initial_condition: {{kind: gaussian_random_field}}
variables: {variables}
splits:
  train: {{viscosity: [2.0e-3], samples_per_viscosity: 1, seed: 0}}
"""

SWE = """
equation: shallow_water
solver: finite_difference
scheme: rk4
domain_length: 6.283185307179586
sim_resolution: 32
saved_resolution: 16
dtype: float64
time: {t_end: 0.2, save_interval: 0.1, spinup: 0.0, cfl: 0.5}
physics: {coriolis: 3.0, hyperviscosity: 1.0e-5}
initial_condition: {kind: balanced_random, peak_wavenumber: 3.0, rossby: 0.3}
variables: [height, u, v, vorticity]
splits:
  train: {viscosity: [5.0e-3], samples_per_viscosity: 1, seed: 0}
"""


def ns_config(forcing: str, solver: str = "spectral", length: float = 1.0, saved: int = SAVED,
              variables: str = "[vorticity]"):
    scheme = "cn_rk4" if solver == "spectral" else "rk4"
    return parse_config(NS.format(forcing=forcing, solver=solver, scheme=scheme, length=length, saved=saved,
                                  variables=variables))


def smooth_field(generator, batch: int, channels: int, n: int) -> torch.Tensor:
    """A random band-limited field (|k| <= 4) on the saved grid, with no symmetry of its own."""
    coefficients = torch.zeros(batch, channels, n, n // 2 + 1, dtype=torch.complex128)
    for ky in list(range(5)) + list(range(n - 4, n)):
        for kx in range(5):
            coefficients[..., ky, kx] = torch.complex(torch.randn(batch, channels, generator=generator, dtype=torch.float64),
                                                      torch.randn(batch, channels, generator=generator, dtype=torch.float64))
    field = torch.fft.irfft2(coefficients, s=(n, n), norm="forward")
    return field / field.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt()  # unit rms


def state(config, generator) -> torch.Tensor:
    n = config.saved_resolution
    if config.equation == "navier_stokes":
        return smooth_field(generator, 1, 1, n)
    fields = 0.03 * smooth_field(generator, 1, 3, n)
    fields[:, 0] += 1.0  # depth 1 with a small perturbation
    return fields


def commutation_errors(config, maps: list[tuple[LatticeMap, bool]], seed: int = 0) -> list[float]:
    """``‖S(g·x) − g·S(x)‖ / ‖S(x)‖`` after two saved frames for each ``(g, sign_rule)``, one batch."""
    simulation = Simulation(config, dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    x = state(config, generator)
    inputs = list(simulation.state_variables)
    outputs = list(simulation.variables)
    batch = torch.cat([x] + [g.apply(x, inputs, sign) for g, sign in maps])
    parameters = simulation.parameters(batch.shape[0], viscosity=float(config.split("train").viscosity[0]))
    frames = simulation.run(batch, parameters, 2)  # (batch, 2, variables, n, n)
    reference = frames[:1]
    errors = []
    for k, (g, sign) in enumerate(maps, start=1):
        expected = g.apply(reference, outputs, sign)
        errors.append(float((frames[k:k + 1] - expected).norm() / reference.norm()))
    return errors


def members(group: SymmetryGroup, per_coset: int = 3) -> list[LatticeMap]:
    """Every element of a group of up to 128; of a larger one every coset representative and a few
    translated elements of each coset."""
    if group.order <= 128:
        return list(group.elements())
    chosen = []
    shifts = sorted(group.translations)
    for point in group.points:
        ax, ay = group.cosets[point]
        for tx, ty in shifts[:: max(1, len(shifts) // per_coset)][:per_coset]:
            chosen.append(LatticeMap(point, (ax + tx, ay + ty), group.n))
    return chosen


CASES = {
    # name: (config, maps outside the group, expected cosets)
    "fno": (lambda: ns_config("{kind: fno, amplitude: 0.5}"),
            [LatticeMap("rotate_90", (0, 0), SAVED), LatticeMap("reflect_x", (0, 0), SAVED),
             LatticeMap("transpose", (0, 0), SAVED), LatticeMap("identity", (1, 0), SAVED)],
            {"identity": 0, "rotate_180": SAVED // 4, "transpose": SAVED // 2, "antitranspose": 3 * SAVED // 4}),
    "kolmogorov": (lambda: ns_config("{kind: kolmogorov, wavenumber: 2, amplitude: 1.0, drag: 0.1}",
                                     length=6.283185307179586),
                   [LatticeMap("rotate_90", (0, 0), SAVED), LatticeMap("reflect_x", (0, 0), SAVED),
                    LatticeMap("identity", (0, 1), SAVED)],
                   None),
    "none": (lambda: ns_config("{kind: none}"), [], None),
    "finite_difference": (lambda: ns_config("{kind: fno, amplitude: 0.5}", solver="finite_difference"),
                          [LatticeMap("rotate_90", (0, 0), SAVED)], None),
    "velocity": (lambda: ns_config("{kind: none}", variables="[vorticity, u, v]"), [], None),
    "shallow_water": (lambda: parse_config(SWE), [LatticeMap("reflect_x", (0, 0), SAVED),
                                                 LatticeMap("transpose", (0, 0), SAVED)], None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_solver_commutes_with_every_declared_element_and_not_with_others(name):
    make, outside, cosets = CASES[name]
    config = make()
    group = declared_symmetry(config)
    if cosets is not None:  # the hand derivation (FNO forcing: a₁ + a₂ ≡ 0, ¼, ½, ¾ for I, −I, S, −S)
        assert set(group.points) == set(cosets)
        for point, total in cosets.items():
            assert sum(group.cosets[point]) % SAVED == total
        assert group.order == 4 * SAVED
    for g in outside:
        assert g not in group
    inside = members(group)
    errors = commutation_errors(config, [(g, True) for g in inside] + [(g, True) for g in outside])
    assert max(errors[:len(inside)]) < 1e-10, dict(zip(map(str, inside), errors))
    assert min(errors[len(inside):], default=1.0) > 1e-3, dict(zip(map(str, outside), errors[len(inside):]))


def test_vorticity_without_its_sign_rule_is_not_a_solver_symmetry():
    """A reflection in the group, applied to vorticity as if it were a plain scalar, breaks the
    physics: the flow would turn the wrong way."""
    config = ns_config("{kind: none}")
    reflection = LatticeMap("reflect_x", (3, 0), SAVED)
    assert reflection in declared_symmetry(config)
    right, wrong = commutation_errors(config, [(reflection, True), (reflection, False)])
    assert right < 1e-10 and wrong > 1e-2


def test_groups_as_derived():
    """Kolmogorov (k = 2 on 16²): x-shifts, y-shifts by L/k; −I; axis reflections with a y-shift of
    L/(2k); no 90° rotations. Shallow water on the f-plane: the rotations, every shift."""
    kolmogorov = declared_symmetry(CASES["kolmogorov"][0]())
    assert set(kolmogorov.points) == {"identity", "rotate_180", "reflect_x", "reflect_y"}
    assert kolmogorov.translations == frozenset((x, y) for x in range(SAVED) for y in range(0, SAVED, SAVED // 2))
    for point in ("reflect_x", "reflect_y"):
        assert kolmogorov.cosets[point][1] % (SAVED // 2) == SAVED // 4
    swe = declared_symmetry(parse_config(SWE))
    assert set(swe.points) == {"identity", "rotate_90", "rotate_180", "rotate_270"} and swe.order == 4 * SAVED ** 2
    assert declared_symmetry(ns_config("{kind: none}")).order == 8 * SAVED ** 2


@pytest.mark.parametrize("name", ["fno", "kolmogorov", "shallow_water"])
def test_elements_form_a_group(name):
    group = declared_symmetry(CASES[name][0]())
    generator = torch.Generator().manual_seed(1)
    identity = LatticeMap("identity", (0, 0), group.n)
    assert identity in group
    for _ in range(200):
        g, h = group.random_element(generator), group.random_element(generator)
        assert g.compose(h) in group  # closure
        assert g.inverse() in group and g.compose(g.inverse()) == identity and g.inverse().compose(g) == identity
    # The index maps compose as the maps do: (g∘h)·f = g·(h·f), with the sign rule.
    f = smooth_field(generator, 2, 3, group.n)
    variables = ["vorticity", "u", "v"]
    g, h = LatticeMap("transpose", (3, 5), group.n), LatticeMap("rotate_90", (1, 7), group.n)
    assert torch.allclose(g.compose(h).apply(f, variables), g.apply(h.apply(f, variables), variables), atol=0, rtol=0)


def test_diagonal_modes_group_is_computed_per_sample():
    config = ns_config("""{kind: diagonal_modes, wavenumber: 1, sin_plus: {uniform: [-0.15, 0.15]},
        cos_plus: {uniform: [-0.15, 0.15]}, sin_minus: {uniform: [-0.15, 0.15]}, cos_minus: {uniform: [-0.15, 0.15]}}""")
    common = declared_symmetry(config)  # what every coefficient vector leaves invariant
    assert common.points == ("identity",) and common.translations == {(0, 0), (SAVED // 2, SAVED // 2)}
    fno_like = sample_symmetry(config, {"forcing_sin_plus": 0.1, "forcing_cos_plus": 0.1,
                                        "forcing_sin_minus": 0.0, "forcing_cos_minus": 0.0})
    assert fno_like.order == 4 * SAVED  # the FNO forcing's group, found again from its coefficients
    generic = sample_symmetry(config, {"forcing_sin_plus": 0.1, "forcing_cos_plus": -0.03,
                                       "forcing_sin_minus": 0.07, "forcing_cos_minus": 0.02})
    assert generic.translations == common.translations


def test_a_grid_that_cannot_realise_a_needed_shift_is_refused_in_one_line():
    config = ns_config("{kind: fno, amplitude: 0.5}", saved=18)  # −I needs a₁ + a₂ ≡ L/4
    with pytest.raises(SymmetryError, match=r"saved_resolution 18: .*rotate_180.*multiple of 4") as error:
        declared_symmetry(config)
    assert "\n" not in str(error.value)
    assert "multiple of 4" in symmetry_record(config)["unavailable"]


def test_manifest_record_round_trips_and_old_manifests_still_load():
    config = CASES["kolmogorov"][0]()
    group = declared_symmetry(config)
    assert manifest_symmetry({"symmetry": symmetry_record(config)}) == group
    assert manifest_symmetry({"config": config.text}) == group  # written before groups were recorded
