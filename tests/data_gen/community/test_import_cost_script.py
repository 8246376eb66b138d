"""The import-cost benchmark runs (on a tiny file here) and prints its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("h5py")

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "import_cost.py"


def test_the_import_cost_script_prints_json():
    result = subprocess.run([sys.executable, str(SCRIPT), "--megabytes", "3", "--repeats", "1", "--grid", "64", "32"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source_bytes"] > 2e6 and report["seconds_per_gb"]["import"] > 0
    # Importing reads, hashes, transposes and writes: never cheaper than hashing the file alone.
    assert report["seconds_per_gb"]["import"] > report["seconds_per_gb"]["sha256"]
