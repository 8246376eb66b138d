"""How much room a surrogate has on a dataset: its own solver's error on the saved grid, per split.

When a dataset is complete, the generator runs the dataset's solver on the *saved* grid
(:class:`~data_gen.coarse_solver.CoarseSolver`) from the first saved frame (``t = 0``) of every
sample over the next :data:`STANDARD_HORIZON` saved frames (fewer if the trajectories are shorter),
and records per split in ``manifest.json`` (``splits.<split>.coarse_solver``) the relative L2 error
of every saved variable against the saved truth,
``‖(pred − μ) − (true − μ)‖ / ‖true − μ‖`` per sample and frame, ``μ`` the variable's training-split
mean (as the benchmark scores it: shallow-water height on its deviation from the mean depth), then
averaged over samples and frames. A near-zero value says the saved grid resolves the flow and a
surrogate must be very accurate to be worth using; a value of order one says the grid does not, and a
surrogate has work to do. A sample whose run blows up is counted in ``diverged`` and left out of the
means.
"""

from __future__ import annotations

import json
import math

import netCDF4
import numpy as np
import torch

from ..errors import ParameterError
from .atomic import write_json
from .config import DatasetConfig

STANDARD_HORIZON = 8
"""Saved frames after ``t = 0`` over which the recorded coarse-solver error is averaged."""


def _relative_l2(prediction: np.ndarray, truth: np.ndarray, mean: float) -> np.ndarray:
    """``(sample, frame)`` relative L2 of ``(sample, frame, y, x)`` fields, on deviations from ``mean``."""
    difference = np.sqrt(((prediction - truth) ** 2).sum(axis=(-2, -1)))
    norm = np.sqrt(((truth - mean) ** 2).sum(axis=(-2, -1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return difference / norm


def coarse_solver_errors(config: DatasetConfig, root, manifest: dict, stats: dict, device="cpu") -> dict:
    """``split -> record`` of the coarse solver's error (see the module docstring); every split gets
    ``{"available": False, "reason": ...}`` when the dataset has no solver to run on its saved grid."""
    # Imported here: data_gen.coarse_solver builds on data_gen.dataset, which imports this module.
    from ..coarse_solver import CoarseSolver  # noqa: PLC0415

    try:
        solver = CoarseSolver(config, device=device)
    except ParameterError as error:
        return {split.name: {"available": False, "reason": str(error)} for split in config.splits}
    horizon = min(STANDARD_HORIZON, config.time.num_intervals)
    variables = list(config.variables)
    means = {v: float(stats["variables"][v]["mean"]) for v in variables}
    state = [variables.index(v) for v in solver.state_variables]
    records = {}
    for split in config.splits:
        errors, diverged, samples = {v: [] for v in variables}, 0, 0
        for entry in manifest["splits"][split.name]["shards"]:
            with netCDF4.Dataset(root / entry["file"]) as nc:
                nc.set_auto_mask(False)
                fields = np.stack([np.asarray(nc.variables[v][:, : horizon + 1], np.float64) for v in variables], 2)
                per_sample = {name: np.asarray(nc.variables[name][:], np.float64)
                              for name in ["viscosity", *config.sampled] if name in nc.variables}
            parameters = solver.parameters(per_sample)
            start = torch.from_numpy(fields[:, 0, state]).to(solver.dtype)
            prediction = solver.rollout_or_nan(start, parameters, horizon).double().cpu().numpy()
            finite = np.isfinite(prediction).all(axis=(1, 2, 3, 4))
            diverged += int((~finite).sum())
            samples += len(finite)
            for c, v in enumerate(variables):
                error = _relative_l2(prediction[finite, :, c], fields[finite, 1:, c], means[v])
                errors[v].append(error)
        per_variable = {}
        for v in variables:
            values = np.concatenate(errors[v]) if errors[v] else np.zeros((0, horizon))
            # None, not NaN, where every sample diverged: manifest.json stays strict JSON.
            per_variable[v] = {"mean": _finite(values.mean()) if values.size else None,
                               "per_frame": [_finite(x) for x in values.mean(0)] if values.size else [],
                               "sample_max": _finite(values.mean(1).max()) if values.size else None}
        records[split.name] = {
            "available": True, "grid": config.saved_resolution, "start_frame": 0, "horizon": horizon,
            "metric": "rel_l2 on deviations from the training mean; mean over samples, then frames",
            "samples": samples, "diverged": diverged, "rel_l2": per_variable}
    return records


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def record_coarse_solver_errors(directory, config: DatasetConfig, device="cpu") -> dict:
    """Add ``coarse_solver`` to every split of a complete dataset's manifest that lacks it (a dataset
    written before this record existed gets it when ``generate`` is run on it again); returns the
    manifest."""
    with directory.lock():
        manifest = directory.read_manifest()
        if all("coarse_solver" in entry for entry in manifest["splits"].values()):
            return manifest
        stats = json.loads(directory.stats_path.read_text(encoding="utf-8"))
        with torch.no_grad():
            records = coarse_solver_errors(config, directory.root, manifest, stats, device)
        for name, record in records.items():
            manifest["splits"][name]["coarse_solver"] = record
        write_json(directory.manifest_path, manifest)
        return manifest
