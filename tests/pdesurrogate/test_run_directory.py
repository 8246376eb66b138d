"""The run-directory kernel every workflow writes its --out through: stamp, atomic writes, lock."""

from __future__ import annotations

import json
import threading

import pytest

from pdesurrogate.errors import UserError
from pdesurrogate.run_directory import RunDirectory, exclusive_lock, first_difference, write_json

CONFIG = "models: [a.yaml, b.yaml]\nbudget: {epochs: 2}\nseeds: 3\n"


def test_a_new_directory_is_stamped_and_the_same_run_resumes(tmp_path):
    run = RunDirectory(tmp_path / "out", "benchmark")
    assert run.claim(CONFIG, {"fast": False}) is False
    stamp = json.loads((tmp_path / "out" / "run.json").read_text())
    assert stamp["workflow"] == "benchmark" and stamp["config"] == CONFIG and stamp["options"] == {"fast": False}
    # the same settings written otherwise (a comment, another layout) are the same config
    assert RunDirectory(tmp_path / "out", "benchmark").claim("# again\n" + CONFIG.replace("{epochs: 2}", "\n  epochs: 2"),
                                                             {"fast": False}) is True


@pytest.mark.parametrize("config, options, workflow, named", [
    (CONFIG.replace("epochs: 2", "epochs: 3"), {"fast": False}, "benchmark", "budget.epochs: 2 there, 3 here"),
    (CONFIG.replace("b.yaml", "c.yaml"), {"fast": False}, "benchmark", "models[1]: 'b.yaml' there, 'c.yaml' here"),
    (CONFIG, {"fast": True}, "benchmark", "fast: False there, True here"),
    (CONFIG, {"fast": False}, "active", "holds a benchmark run, not a active run"),
])
def test_another_run_is_refused_by_its_first_difference(tmp_path, config, options, workflow, named):
    RunDirectory(tmp_path, "benchmark").claim(CONFIG, {"fast": False})
    before = (tmp_path / "run.json").read_bytes()
    with pytest.raises(UserError, match="--out") as error:
        RunDirectory(tmp_path, workflow).claim(config, options)
    assert named in str(error.value)
    assert (tmp_path / "run.json").read_bytes() == before


def test_a_directory_with_files_but_no_stamp_is_refused_and_untouched(tmp_path):
    (tmp_path / "results.csv").write_text("model\n")
    with pytest.raises(UserError, match=r"not empty \(results.csv\) and holds no pdesurrogate run"):
        RunDirectory(tmp_path, "benchmark").claim(CONFIG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_a_corrupt_stamp_is_named(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(UserError, match="run.json is not a run stamp"):
        RunDirectory(tmp_path, "design").claim(CONFIG)


def test_require_names_the_missing_run(tmp_path):
    with pytest.raises(UserError, match="holds no design run"):
        RunDirectory(tmp_path, "design").claim(CONFIG, create=False)
    assert list(tmp_path.iterdir()) == []


def test_first_difference_walks_mappings_and_lists():
    assert first_difference({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) is None
    assert first_difference({"a": {"b": [1, 3]}}, {"a": {"b": [1, 2]}}) == "a.b[1]: 2 there, 3 here"
    assert first_difference({"a": 1}, {"a": 1, "z": 0}) == "z: 0 there, None here"


def test_concurrent_writers_of_one_file_never_collide(tmp_path):
    """Writers sharing one temporary name (the old `.tmp`) rename each other's file away."""
    path, errors = tmp_path / "results.json", []

    def writer(k: int) -> None:
        try:
            for i in range(150):
                write_json(path, {"writer": k, "i": i, "pad": "x" * 2000})
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 149  # whole, and the last write of some writer
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left behind


def test_the_lock_excludes_a_second_holder(tmp_path):
    order = []
    with exclusive_lock(tmp_path / "lock"):
        other = threading.Thread(target=lambda: _hold(tmp_path / "lock", order))
        other.start()
        other.join(timeout=0.3)
        order.append("first released")
    other.join()
    assert order == ["first released", "second held"]


def _hold(path, order):
    with exclusive_lock(path):
        order.append("second held")
