"""A config cannot make the generator allocate more memory than the machine has: the estimate comes first."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
import yaml

from data_gen.dataset import generate
from data_gen.dataset.config import ConfigError, parse_config
from data_gen.dataset.memory import WORKING_FIELDS, simulation_bytes
from data_gen.errors import ParameterError
from pdesurrogate.cli import main

from .conftest import tiny_config


def test_estimate_counts_working_fields_and_the_saved_batch():
    config = parse_config(yaml.safe_dump(tiny_config()))
    n, saved, frames = 16, 8, 3  # t_end 1.0 saved every 0.5: frames at 0, 0.5, 1
    per_sample = n * n * 8 * WORKING_FIELDS["navier_stokes"] + frames * 2 * saved * saved * 4  # float64; vorticity, u
    assert simulation_bytes(config, 1) == per_sample
    assert simulation_bytes(config, 5) == 5 * per_sample


PEAK_AFTER = """
import resource, sys
from pdesurrogate.cli import main
code = main(sys.argv[1:]) if len(sys.argv) > 1 else 0
print(f"peak_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def peak_kib(*argv: str) -> tuple[int, int, str]:
    """``(exit code, peak resident KiB, stderr)`` of ``pdesurrogate ARGV`` in a fresh process: the
    peak of this test process would include every earlier test's."""
    done = subprocess.run([sys.executable, "-c", PEAK_AFTER, *argv], capture_output=True, text=True, timeout=300)
    peak = int(re.search(r"peak_kib=(\d+)", done.stderr).group(1))
    return done.returncode, peak, done.stderr


def test_a_huge_grid_is_refused_before_the_config_check_allocates(tmp_path):
    config = tmp_path / "huge.yaml"
    config.write_text(yaml.safe_dump(tiny_config(sim_resolution=100000)))
    _, imports_only, _ = peak_kib()
    code, refusing, err = peak_kib("generate", str(config), "--out", str(tmp_path / "out"))
    assert code == 2
    # One 100000² float64 field is 80 GB: the refusal took nothing near one beyond the imports.
    assert refusing - imports_only < 200 * 1024
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: sim_resolution: 100000² in float64") and "GiB" in line and "available" in line
    assert not (tmp_path / "out").exists()


def test_a_batch_that_does_not_fit_the_device_is_refused_before_simulating(tmp_path, monkeypatch):
    config = parse_config(yaml.safe_dump(tiny_config()))
    needed = simulation_bytes(config, min(config.batch_size, config.samples_per_shard))
    monkeypatch.setattr("data_gen.dataset.memory.available_bytes", lambda device: needed - 1)
    with pytest.raises(ParameterError, match=r"with 2 sample\(s\) at once needs .* to simulate one batch"):
        generate(config, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr("data_gen.dataset.memory.available_bytes", lambda device: needed)
    assert generate(config, tmp_path / "out", progress=False).written_samples == sum(s.samples for s in config.splits)


def test_the_config_check_uses_the_same_estimate(monkeypatch):
    monkeypatch.setattr("data_gen.dataset.memory.available_bytes", lambda device: 1)
    with pytest.raises(ConfigError, match="to check the config"):
        parse_config(yaml.safe_dump(tiny_config()))
    assert torch.get_default_dtype() == torch.float32  # nothing global was changed on the way
