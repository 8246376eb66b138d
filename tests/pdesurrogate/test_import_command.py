"""``pdesurrogate import`` and ``export`` from the command line: a dataset on success, one line on error."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("h5py")

from pdesurrogate.cli import main  # noqa: E402
from tests.data_gen.community.formats import write_well  # noqa: E402


def test_import_verify_export_and_one_line_errors(tmp_path, capsys):
    files = [str(write_well(tmp_path / f"shear_{re:g}.hdf5", reynolds=re)) for re in (1e4, 1e5)]
    config = tmp_path / "import.yaml"
    config.write_text("splits:\n  train: {where: {Reynolds: 10000}}\n  test_ood: {where: {Reynolds: 100000}}\n"
                      "licence: CC-BY-4.0\n")
    assert main(["import", "the-well", *files, "--out", str(tmp_path / "ds"), "--config", str(config)]) == 0
    assert "6 samples (train 3, test_ood 3)" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "ds")]) == 0
    assert main(["export", "the-well", str(tmp_path / "ds"), "--out", str(tmp_path / "well")]) == 0
    assert "2 file(s)" in capsys.readouterr().out
    capsys.readouterr()

    for argv, fragment in (
            (["import", "the-well", files[0], "--out", str(tmp_path / "ds")], "is not empty"),
            (["import", "zarr", files[0], "--out", str(tmp_path / "z")], "accepted: the-well, fno-mat, fno-pt"),
            (["import", "the-well", files[0], "--out", str(tmp_path / "c"), "--config", str(tmp_path / "no.yaml")],
             "no.yaml does not exist"),
            (["import", "fno-mat", files[0], "--out", str(tmp_path / "m")], "not a MATLAB .mat file"),
            (["export", "the-well", str(tmp_path), "--out", str(tmp_path / "e")], "no readable manifest.json")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err, err


def test_a_missing_optional_library_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    (tmp_path / "a.hdf5").write_bytes(b"")
    assert main(["import", "the-well", str(tmp_path / "a.hdf5"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs the Python package 'h5py'" in err and "pdesurrogate[community]" in err and err.count("\n") == 1
