"""Every shell command in README.md and docs/ is exercised, so the documentation cannot drift.

:data:`EXERCISED` maps each documented command to how it is exercised: the test that runs the same
subcommand with tiny settings (named ``file::function``; checked to exist), or ``HERE`` when a test
in this file runs it. A command added to the documentation without an entry, or an entry whose
command left it, fails :func:`test_every_documented_command_is_listed`. Independently, every
``pdesurrogate`` command is parsed by the real command line, the Lightning ones build their
trainer, every config they name is read by its own parser, and every file they name exists.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HERE = "tests/test_documentation.py"

EXERCISED = {
    "make demo": "tests/pdesurrogate/test_quickstart.py::test_quickstart_writes_a_report_whose_every_link_exists",
    "make test": HERE,
    ".venv/bin/pdesurrogate benchmark configs/bench/ns_ood_small.yaml --out runs/bench/ns_ood_small":
        "tests/pdesurrogate/benchmark/test_benchmark.py::test_a_tiny_benchmark_writes_every_file_and_resumes",
    ".venv/bin/pdesurrogate fit --config configs/fit/ns_fno_cond_small.yaml":
        "tests/pdesurrogate/test_cli.py::test_fit_from_a_shipped_small_config_then_test_end_to_end",
    ".venv/bin/pdesurrogate fit --config configs/fit/ns_fno_cond_small.yaml --trainer.max_epochs 5 --data.batch_size 8":
        "tests/pdesurrogate/test_cli.py::test_fit_from_a_shipped_small_config_then_test_end_to_end",
    ".venv/bin/pdesurrogate test --config configs/fit/ns_fno_cond_small.yaml --ckpt_path best":
        "tests/pdesurrogate/test_cli.py::test_fit_from_a_shipped_small_config_then_test_end_to_end",
    ".venv/bin/pdesurrogate fit --config configs/fit/ns_unet.yaml --trainer.strategy ddp --trainer.devices 4": HERE,
    "srun .venv/bin/pdesurrogate fit --config configs/fit/ns_fno.yaml --trainer.strategy ddp --trainer.devices 4 "
    "--trainer.num_nodes 2": HERE,
    ".venv/bin/pdesurrogate design configs/design/ns_viscosity.yaml --out runs/design/ns_viscosity":
        "tests/pdesurrogate/design/test_design.py::"
        "test_design_command_writes_every_route_verified_by_the_solver_and_flags_leaving_the_range",
    ".venv/bin/python examples/initial_state_recovery.py --out runs/design/ns_initial_state": HERE,
    ".venv/bin/pdesurrogate active configs/active/ns_ood_small.yaml --out runs/active/ns_ood_small":
        "tests/pdesurrogate/active/test_active.py::test_a_tiny_active_run_writes_every_file_and_resumes_after_a_kill",
    ".venv/bin/pdesurrogate generate configs/data/ns_ood_small.yaml --out data/ns_ood_small":
        "tests/data_gen/test_dataset_verify.py::test_clean_dataset_passes_and_cli_exits_zero",
    ".venv/bin/pdesurrogate verify data/ns_ood_small":
        "tests/data_gen/test_dataset_verify.py::test_clean_dataset_passes_and_cli_exits_zero",
    ".venv/bin/pdesurrogate generate configs/data/ns_ood_small.yaml --out data/ns_ood_small --shard 0/2":
        "tests/data_gen/test_dataset_generation.py::test_identical_arrays_for_one_or_two_shards_and_any_batch_size",
    ".venv/bin/pdesurrogate generate configs/data/ns_ood_small.yaml --out data/ns_ood_small --shard 1/2":
        "tests/data_gen/test_dataset_generation.py::test_identical_arrays_for_one_or_two_shards_and_any_batch_size",
    ".venv/bin/torchrun --nproc_per_node 2 -m pdesurrogate generate configs/data/ns_ood_small.yaml "
    "--out data/ns_ood_small": "tests/data_gen/test_dataset_generation.py::test_worker_comes_from_shard_flag_torchrun_or_slurm",
    ".venv/bin/python benchmarks/solver_throughput.py --quick --threads 1": HERE,
    ".venv/bin/python benchmarks/generation_memory.py": HERE,
}


def documented_commands() -> dict[str, list[str]]:
    """Each command line of a ```bash block (comments dropped, continuations joined) -> documents."""
    found: dict[str, list[str]] = {}
    for document in DOCUMENTS:
        for block in re.findall(r"```bash\n(.*?)```", document.read_text(), flags=re.S):
            lines = block.replace("\\\n", " ").splitlines()
            for line in lines:
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command and not command.startswith("#"):
                    found.setdefault(" ".join(command.split()), []).append(document.name)
    return found


def test_every_documented_command_is_listed():
    documented = documented_commands()
    assert set(documented) - set(EXERCISED) == set(), "documented but not exercised"
    assert set(EXERCISED) - set(documented) == set(), "listed but no longer documented"


@pytest.mark.parametrize("command,where", sorted(EXERCISED.items()), ids=lambda x: x[:60])
def test_the_named_test_exists(command, where):
    path, _, name = where.partition("::")
    text = (ROOT / path).read_text()
    if where != HERE:
        assert re.search(rf"^def {re.escape(name)}\(", text, flags=re.M), where


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    while words and not words[0].endswith("pdesurrogate"):
        words.pop(0)  # srun, torchrun and its options, `-m` before the module
    return words[1:]


PDESURROGATE = [c for c in EXERCISED if "pdesurrogate " in c]


@pytest.mark.parametrize("command", PDESURROGATE, ids=lambda c: c[:60])
def test_every_named_file_exists_and_every_config_reads(command):
    from data_gen.dataset import load_config
    from pdesurrogate.benchmark.config import parse_benchmark
    from pdesurrogate.training.cli import check_config_file
    from pdesurrogate.active.config import parse_active
    from pdesurrogate.design.config import parse_design

    argv = _argv(command)
    for word in argv:
        if word.startswith(("configs/", "examples/", "benchmarks/")):
            assert (ROOT / word).is_file(), word
    readers = {"generate": load_config, "benchmark": parse_benchmark, "design": parse_design, "active": parse_active}
    if argv[0] in readers:
        readers[argv[0]](ROOT / argv[1])
    if "--config" in argv:
        check_config_file(ROOT / argv[argv.index("--config") + 1], "--config")


@pytest.mark.parametrize("command", [c for c in PDESURROGATE if _argv(c)[0] not in ("fit", "test")],
                         ids=lambda c: c[:60])
def test_every_argparse_command_parses(command):
    from pdesurrogate.cli import _parser

    args = _parser().parse_args(_argv(command))
    assert args.command == _argv(command)[0]


@pytest.mark.parametrize("command", [c for c in EXERCISED if "--trainer.strategy ddp" in c], ids=lambda c: c[:60])
def test_multi_device_and_multi_node_commands_build_their_trainer(command, monkeypatch, tmp_path):
    """The documented strategy, device and node settings are accepted by the Lightning CLI and give a
    trainer with that layout (on CPU processes here; on GPUs in a real run)."""
    from lightning.pytorch.strategies import DDPStrategy

    from pdesurrogate.training.cli import SurrogateCLI
    from pdesurrogate.data import PDEDataModule
    from pdesurrogate.training import SurrogateModule

    from .pdesurrogate.conftest import NAVIER_STOKES, generate

    root = generate(NAVIER_STOKES, tmp_path / "data")
    argv = _argv(command)[1:]
    monkeypatch.chdir(ROOT)
    cli = SurrogateCLI(SurrogateModule, PDEDataModule, run=False, args=[
        *argv, "--trainer.accelerator", "cpu", "--data.root", str(root), "--data.rollout_steps", "2", "--data.history", "2",
        "--model.network.init_args.modes", "4", "--trainer.default_root_dir", str(tmp_path / "run"),
        "--trainer.logger", "false"])
    trainer = cli.trainer
    assert isinstance(trainer.strategy, DDPStrategy)
    assert trainer.num_devices == 4
    assert trainer.num_nodes == (2 if "--trainer.num_nodes 2" in command else 1)


def test_make_demo_runs_the_quickstart_and_make_test_runs_the_suite_that_ci_runs():
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    assert "pdesurrogate quickstart --out demo_output" in demo
    test = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    assert "-m pytest" in test
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_example_scripts_run_and_their_configs_read():
    from pdesurrogate.active.config import parse_active
    from pdesurrogate.design.config import parse_design

    for script in sorted((ROOT / "examples").glob("*.py")):
        config = re.search(r'run_example\("(\w+)"', script.read_text()).group(1)
        parse_design(ROOT / "configs" / "design" / f"{config}.yaml")
        result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "--out" in result.stdout, (script, result.stderr)
        first = script.read_text().split('"""')[1].splitlines()[0]
        assert "CPU" in script.read_text().split('"""')[1], f"{script.name}: the docstring says how long it takes"
        assert first


def test_the_speed_and_memory_benchmarks_run_and_print_json(tmp_path):
    import json

    quick = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "solver_throughput.py"), "--quick",
                            "--threads", "1", "--repeats", "1"], capture_output=True, text=True, timeout=600)
    assert quick.returncode == 0, quick.stderr
    json.loads(quick.stdout)
    from .pdesurrogate.conftest import NAVIER_STOKES

    config = tmp_path / "tiny.yaml"
    config.write_text(NAVIER_STOKES)
    memory = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generation_memory.py"), "--config", str(config),
                             "--factor", "2"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert memory.returncode == 0, memory.stderr
    json.loads(memory.stdout)
