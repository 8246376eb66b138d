"""The benchmark's equivariance section: each trained model's equivariance error under the probe
lattice maps (inside and outside the dataset's declared group), next to the solver's own.

Measured on the first :data:`SAMPLES` trajectories of the in-distribution split and of the first
out-of-distribution split, from the scoring window's context: one model step, and the mean over
the scored rollout (``E_g`` of :mod:`pdesurrogate.evaluation.equivariance`, averaged over samples,
frames and variables). Rows go to ``equivariance.csv`` (``model, seed, split, map, in_group,
horizon, value``), the table and a figure into the report.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import torch

from data_gen.dataset.config import parse_settings
from data_gen.simulation import Simulation
from data_gen.symmetry import SymmetryError, manifest_symmetry

from ..evaluation.equivariance import equivariance_errors, probe_maps, solver_rollout
from ..evaluation.scoring import ScoringWindow, context, trajectories
from ..run_directory import write_atomically, write_text

SAMPLES = 4
COLUMNS = ("model", "seed", "split", "map", "in_group", "horizon", "value")


def _first_samples(reader, split: str, variables):
    info = reader.split(split, "split")
    samples, fields = next(trajectories(info, variables, batch=SAMPLES))
    return info, samples, fields


def _rows(rollout, fields, parameters, history: int, future: int, window: ScoringWindow, steps: int, variables,
          probes, model: str, seed, split: str) -> list[tuple]:
    """One rollout per map: its first model step (``future`` frames) and its scored frames."""
    start = context(fields, history, window)
    errors = equivariance_errors(rollout, start, parameters, [g for g, _ in probes], variables, steps)
    rows = []
    for g, member in probes:
        for horizon, frames in (("one_step", errors[g][:, :future]), ("rollout", errors[g][:, :window.horizon])):
            rows.append((model, seed, split, str(g), int(member), horizon, float(frames.mean())))
    return rows


def equivariance_splits(config) -> list[str]:
    """The in-distribution split and the first out-of-distribution one the benchmark scores."""
    ood = [s for s in config.splits if s.startswith("test_ood")]
    return [s for s in config.splits if s == config.id_split] + ood[:1]


def model_rows(module, reader, splits, window: ScoringWindow, model: str, seed) -> list[tuple]:
    """The equivariance rows of one trained model (none if the dataset declares no group)."""
    try:
        group = manifest_symmetry(reader.manifest)
    except SymmetryError:
        return []
    network = module.network
    variables = list(network.variables)
    probes = probe_maps(group)
    device = next(module.parameters()).device
    steps = math.ceil(window.horizon / network.future)

    def rollout(history, parameters, n):
        parameters = parameters.to(device) if parameters is not None else None
        return module.rollout_physical(history.to(device), parameters, n).cpu()

    rows = []
    for split in splits:
        info, samples, fields = _first_samples(reader, split, variables)
        parameters = None
        if network.conditioning:
            parameters = torch.from_numpy(np.stack([info.parameters[p][samples] for p in network.conditioning],
                                                   axis=-1).astype(np.float32))
        rows += _rows(rollout, fields, parameters, network.history, network.future, window, steps, variables, probes,
                      model, seed, split)
    return rows


def solver_rows(reader, splits, window: ScoringWindow, variables) -> list[tuple]:
    """The dataset's own solver (its config, at its precision) under the same probe maps."""
    try:
        group = manifest_symmetry(reader.manifest)
    except SymmetryError:
        return []
    config = parse_settings(reader.manifest["config"], "manifest.json config")
    simulation = Simulation(config)
    if not set(simulation.state_variables) <= set(variables):
        return []  # the solver starts from its full state, which the models' variables do not hold
    rows = []
    for split in splits:
        info, samples, fields = _first_samples(reader, split, list(variables))
        viscosity = torch.from_numpy(info.parameters["viscosity"][samples].astype(np.float64))[:, None]
        rollout = solver_rollout(simulation, ["viscosity"], list(variables))
        rows += _rows(rollout, fields.double(), viscosity, 1, 1, window, window.horizon, list(variables),
                      probe_maps(group), "solver", None, split)
    return rows


def write_rows(path: Path, rows: list[tuple]) -> None:
    text = io.StringIO()  # map names hold commas: "rotate_180+(0,8)"
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    write_text(path, text.getvalue())


def read_rows(path: Path) -> list[tuple]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [(r["model"], r["seed"], r["split"], r["map"], int(r["in_group"]), r["horizon"], float(r["value"]))
                for r in csv.DictReader(handle)]


def report_section(out: Path, rows: list[tuple]) -> list[str]:
    """The markdown section (and ``figures/equivariance.png``): mean over seeds per model and map."""
    if not rows:
        return []
    models = list(dict.fromkeys(r[0] for r in rows if r[0] != "solver")) + ["solver"]
    splits = list(dict.fromkeys(r[2] for r in rows))
    maps = list(dict.fromkeys((r[3], r[4]) for r in rows))
    table: dict[tuple, list[float]] = {}
    for model, _, split, g, _, horizon, value in rows:
        table.setdefault((model, split, g, horizon), []).append(value)
    mean = {k: float(np.mean(v)) for k, v in table.items()}
    lines = ["## Equivariance", "",
             f"E_g = ‖F(g·x) − g·F(x)‖ / ‖F(x) − mean‖ on the first {SAMPLES} trajectories of each split, from the "
             "scoring window's context; mean over samples, variables, seeds and (rollout) the scored frames. "
             "`in group` maps are symmetries of the dataset's equations and forcing, where the solver's value is "
             "round-off; outside the group the solver's value is how much the forcing breaks that map, which a "
             "model should reproduce.", ""]
    for split in splits:
        for horizon in ("one_step", "rollout"):
            lines += [f"**{split}, {horizon.replace('_', ' ')}**", "",
                      "| map | in group | " + " | ".join(models) + " |",
                      "|---|---|" + "---|" * len(models)]
            for g, member in maps:
                cells = [f"{mean[(m, split, g, horizon)]:.2e}" if (m, split, g, horizon) in mean else "–"
                         for m in models]
                lines.append(f"| {g} | {'yes' if member else 'no'} | " + " | ".join(cells) + " |")
            lines.append("")
    figure = _figure(out, mean, models, splits[0], maps)
    if figure:
        lines += [f"![equivariance]({figure})", ""]
    return lines


def _figure(out: Path, mean, models, split: str, maps) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(maps)) + 2.5, 3.6))
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        values = [max(mean.get((model, split, g, "rollout"), np.nan), 1e-17) for g, _ in maps]
        ax.bar(np.arange(len(maps)) + k * width, values, width, label=model)
    ax.set_xticks(np.arange(len(maps)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{g}{'' if member else ' ✗'}" for g, member in maps], rotation=30, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel(f"equivariance error ({split}, rollout)")
    ax.set_title("✗: outside the declared group", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = out / "figures" / "equivariance.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: fig.savefig(temporary, format="png", dpi=120))
    plt.close(fig)
    return "figures/equivariance.png"
