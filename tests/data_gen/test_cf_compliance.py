"""Shards pass the IOOS compliance checker's CF 1.10 suite with no error (skipped without it).

Before this check existed the checker found 2 errors on every shard (`time`: no standard_name
"time", no "<unit> since <epoch>" units). The 2 warnings left come from its reading an `axis: X/Y`
coordinate with nondimensional units as a longitude/latitude; CF has no standard name for a
nondimensional position, so they stay (a dataset in metres gets projection_x/y_coordinate and none).
"""

from __future__ import annotations

import pytest
import yaml

checker = pytest.importorskip("compliance_checker.runner")

from data_gen.dataset import generate  # noqa: E402

from .conftest import tiny_config  # noqa: E402


def cf_issues(path) -> dict[str, list[str]]:
    """Failing CF 1.10 checks of one file: ``{"errors": [...], "warnings": [...]}`` by check name."""
    from compliance_checker.base import BaseCheck

    suite = checker.CheckSuite()
    suite.load_all_available_checkers()
    results, failures = suite.run_all(suite.load_dataset(str(path)), ["cf:1.10"], skip_checks=[])["cf:1.10"]
    assert not failures, failures  # a check that crashed
    issues = {"errors": [], "warnings": []}
    for result in results:
        value = result.value
        failed = value[0] < value[1] if isinstance(value, tuple) else not value
        if failed:
            issues["errors" if result.weight == BaseCheck.HIGH else "warnings"].append(result.name)
    return issues


def test_generated_and_imported_shards_have_no_cf_errors(tmp_path, one_thread):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config()))
    generate(config, tmp_path / "gen", progress=False)
    issues = cf_issues(tmp_path / "gen" / "train" / "shard-00000.nc")
    assert issues == {"errors": [], "warnings": ["§4.1 Latitude Coordinate", "§4.2 Longitude Coordinate"]}

    pytest.importorskip("h5py")
    from data_gen.community import import_dataset

    from .community.formats import write_well

    import_dataset("the-well", [write_well(tmp_path / "shear.hdf5")], tmp_path / "imported")
    assert cf_issues(tmp_path / "imported" / "train" / "shard-00000.nc")["errors"] == []
