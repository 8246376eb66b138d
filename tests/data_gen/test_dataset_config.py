"""Dataset config validation: every class of mistake fails before simulation, naming its key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from data_gen.dataset import ConfigError, load_config, parse_config
from data_gen.equations.shallow_water import ShallowWater
from pdesurrogate.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "data"

BASE = {
    "equation": "navier_stokes",
    "solver": "spectral",
    "sim_resolution": 32,
    "saved_resolution": 16,
    "time": {"t_end": 2.0, "save_interval": 0.5},
    "forcing": {"kind": "fno", "amplitude": 0.1},
    "initial_condition": {"kind": "gaussian_random_field", "alpha": 2.5, "tau": 7.0},
    "splits": {
        "train": {"viscosity": [1.0e-3, 5.0e-4], "samples_per_viscosity": 2, "seed": 0},
        "test_ood": {"viscosity": [2.5e-4, 1.0e-4], "samples_per_viscosity": 2, "seed": 3},
    },
}


def config_with(edit) -> str:
    raw = copy.deepcopy(BASE)
    edit(raw)
    return yaml.safe_dump(raw, sort_keys=False)


def set_path(path: str, value):
    def edit(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


def delete_path(path: str):
    def edit(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        del node[last]

    return edit


def rename_key(path: str, new: str):
    def edit(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[new] = node.pop(last)

    return edit


MISTAKES = [
    # unknown keys, with the nearest valid key suggested
    (rename_key("sim_resolution", "sim_resoluton"), "sim_resoluton: unknown key; did you mean 'sim_resolution'?"),
    (rename_key("splits.train.seed", "sed"), "splits.train.sed: unknown key; did you mean 'seed'?"),
    (set_path("time.spin_up", 1.0), "time.spin_up: unknown key; did you mean 'spinup'?"),
    (set_path("forcing.kind", "fn0"), "forcing.kind: must be one of fno, kolmogorov, none, diagonal_modes (got 'fn0'); did you mean 'fno'?"),
    (set_path("forcing.wavenumber", 4), "forcing.wavenumber: unknown key"),  # fno takes no wavenumber
    # wrong types
    (set_path("sim_resolution", "64x"), "sim_resolution: must be an integer"),
    (set_path("batch_size", 2.5), "batch_size: must be an integer"),
    (set_path("time", [2.0, 0.5]), "time: must be a mapping"),
    (set_path("splits.train.viscosity", "low"), "splits.train.viscosity: must be a number"),
    (set_path("dtype", "float16"), "dtype: must be one of float32, float64"),
    # out-of-range values
    (set_path("splits.test_ood.viscosity", [2.5e-4, -1.0e-4]), "splits.test_ood.viscosity[1]: must be > 0"),
    (set_path("splits.test_ood.viscosity", 0.0), "splits.test_ood.viscosity: must be > 0"),
    (set_path("saved_resolution", 64), "saved_resolution: must be <= sim_resolution = 32"),
    (set_path("sim_resolution", 33), "sim_resolution: must be an even integer"),
    (set_path("time.save_interval", 0.3), "time.save_interval: must divide t_end"),
    (set_path("time.cfl", 1.5), "time.cfl: must be <= 1"),
    (set_path("forcing.drag", -0.1), "forcing.drag: must be >= 0"),
    (set_path("splits.train.viscosity", {"log_uniform": [1.0e-3, 1.0e-4]}), "splits.train.viscosity.log_uniform: needs low < high"),
    # overlapping seeds between splits
    (set_path("splits.test_ood.seed", 0), "splits.test_ood.seed: is 0, the same as splits.train.seed"),
    # structure
    (delete_path("splits.train"), "splits.train: is required"),
    (delete_path("splits.train.samples_per_viscosity"), "splits.train.samples_per_viscosity: is required"),
    (set_path("splits.train.viscosity", {"log_uniform": [1.0e-4, 1.0e-3]}), "splits.train.samples_per_viscosity: goes with a list"),
    (set_path("equation", "euler"), "equation: must be one of"),
    # values only the solver can judge, still caught before any simulation
    (set_path("forcing", {"kind": "kolmogorov", "wavenumber": 12}), "forcing.wavenumber must be an integer in [1, 9]"),
    (set_path("initial_condition", {"kind": "filtered_velocity", "peak_wavenumber": 20.0}),
     "initial_condition.peak_wavenumber must be in (0, 10.67)"),
]


@pytest.mark.parametrize("edit, message", MISTAKES, ids=[m for _, m in MISTAKES])
def test_each_mistake_fails_with_one_line_naming_the_key(edit, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(edit))
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_shallow_water_parameters_are_validated_by_name():
    swe = {
        "equation": "shallow_water", "sim_resolution": 32, "time": {"t_end": 1.0, "save_interval": 0.5},
        "physics": {"gravity": 10.0},
        "initial_condition": {"kind": "balanced_random", "rossby": 0.2, "peak_wavenumber": 3.0},
        "splits": {"train": {"viscosity": [1.0e-3], "samples_per_viscosity": 1, "seed": 0}},
    }
    with pytest.raises(ConfigError, match=r"^physics\.coriolis: is required"):
        parse_config(yaml.safe_dump(swe))
    swe["physics"]["coriolis"] = {"uniform": [5.0, 10.0]}
    config = parse_config(yaml.safe_dump(swe))
    assert set(config.sampled) == {"coriolis", "gravity", "mean_depth", "hyperviscosity", "drag"}
    swe["physics"]["mean_depth"] = -1.0
    with pytest.raises(ConfigError, match=r"^physics\.mean_depth: must be > 0"):
        parse_config(yaml.safe_dump(swe))
    swe["physics"]["mean_depth"] = 1.0
    swe["forcing"] = {"kind": "fno"}
    with pytest.raises(ConfigError, match=r"^forcing: is not used by equation shallow_water"):
        parse_config(yaml.safe_dump(swe))


def test_a_cfl_above_the_schemes_ceiling_is_blamed_on_time_cfl():
    # SSP-RK3 keeps the C-grid's gravity waves stable only up to CFL ≈ 0.6; the mistake is in
    # time.cfl, whichever split is built first.
    swe = {
        "equation": "shallow_water", "scheme": "rk3", "sim_resolution": 32,
        "time": {"t_end": 1.0, "save_interval": 0.5, "cfl": 0.8},
        "physics": {"coriolis": 3.0},
        "initial_condition": {"kind": "balanced_random", "rossby": 0.2, "peak_wavenumber": 3.0},
        "splits": {"train": {"viscosity": [1.0e-3], "samples_per_viscosity": 1, "seed": 0}},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(swe))
    message = str(caught.value)
    assert message.startswith("time.cfl: must be in (0, 0.6") and "\n" not in message
    assert message.endswith("for the rk3 scheme on ShallowWater (got 0.8)")
    swe["time"]["cfl"] = 0.6
    assert parse_config(yaml.safe_dump(swe)).time.cfl == 0.6


def test_float32_geostrophic_jet_is_built_and_balanced_to_float32_round_off():
    # Newton's balance solve runs in float64; the jet is then rounded to the simulation dtype.
    swe = {
        "equation": "shallow_water", "sim_resolution": 32, "dtype": "float32",
        "time": {"t_end": 1.0, "save_interval": 0.5},
        "physics": {"coriolis": 3.0},
        "initial_condition": {"kind": "geostrophic_jet", "jet_speed": 0.5},
        "splits": {"train": {"viscosity": [1.0e-3], "samples_per_viscosity": 1, "seed": 0}},
    }
    config = parse_config(yaml.safe_dump(swe))
    grid = config.grid()
    parameters = {name: torch.tensor([law.value], dtype=torch.float32) for name, (_, law) in config.sampled.items()}
    parameters["viscosity"] = torch.tensor([0.0], dtype=torch.float32)
    jet = config.builder.initial_fields(grid, config.sections, 0, [0], parameters)
    assert jet.dtype == torch.float32
    equation = ShallowWater(grid, coriolis=3.0)
    tendency = equation.explicit_terms(equation.encode(jet))
    # Rounding h to float32 costs ~eps·H in the pressure gradient g ∂y h, i.e. ~eps·gH/Δ in ∂v/∂t
    # (here 21 f U); a float32 solve stopped at float32 precision would leave far more.
    eps = torch.finfo(torch.float32).eps
    assert float(tendency[:, 2].abs().max()) < 4 * eps * 1.0 * 1.0 / grid.spacing
    assert float(tendency[:, 1].abs().max()) < 4 * eps * 1.0 * 1.0 / grid.spacing


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        parse_config("equation: navier_stokes\n  bad: [\n")


def test_exponent_without_dot_is_read_as_the_number_meant():
    # YAML 1.1 reads `1e-3` as a string; configs are read with YAML 1.2's floats, so it is 0.001.
    text = config_with(lambda raw: None).replace("0.001", "1e-3")
    assert "1e-3" in text
    assert parse_config(text).splits[0].viscosity[0] == 1e-3


@pytest.mark.parametrize("written, message", [
    ('"1e-3"', "must be a number (a number, not a quoted string) (got '1e-3')"),
    (".nan", "must be a finite number"),
    ("-.inf", "must be a finite number"),
])
def test_one_number_rule_a_quoted_or_non_finite_number_is_refused(written, message):
    text = config_with(lambda raw: None).replace("0.001", written, 1)
    with pytest.raises(ConfigError, match="splits.train.viscosity") as error:
        parse_config(text)
    assert message in str(error.value)


def test_fingerprint_ignores_comments_and_batch_size_but_not_physics():
    reference = parse_config(config_with(lambda raw: None)).fingerprint
    assert parse_config("# a comment\n" + config_with(set_path("batch_size", 1))).fingerprint == reference
    assert parse_config(config_with(set_path("forcing.amplitude", 0.2))).fingerprint != reference


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert config.saved_resolution <= config.sim_resolution
    assert "train" in [s.name for s in config.splits]


def test_cli_prints_one_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_with(set_path("splits.test_ood.viscosity", [2.5e-4, -1.0e-4])))
    assert main(["generate", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: splits.test_ood.viscosity[1]: must be > 0 (got -0.0001)"]
    assert not (tmp_path / "out").exists()  # nothing created before validation passed


def test_scheme_without_imaginary_axis_stability_is_refused_for_a_fast_flow_and_accepted_otherwise():
    def fast_euler(raw):
        raw["scheme"] = "euler_cn"
        raw["sim_resolution"] = 64
        raw["initial_condition"]["sigma"] = 2000.0  # ~100× the FNO amplitude: a fast flow
        raw["splits"]["test_ood"]["viscosity"] = [1.0e-5]

    with pytest.raises(ConfigError, match=r"^scheme: must be one stable for advection \(cn_rk4, etdrk4\)"):
        parse_config(config_with(fast_euler))
    # At the FNO amplitude the same scheme runs, with a growth-limited step.
    assert parse_config(config_with(set_path("scheme", "euler_cn"))).scheme == "euler_cn"
