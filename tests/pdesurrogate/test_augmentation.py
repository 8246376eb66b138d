"""Symmetry augmentation keeps input and target consistent: an augmented pair is a solver
trajectory exactly as much as the stored pair is; the negative controls are not."""

from __future__ import annotations

import pytest
import torch

from data_gen.simulation import Simulation
from data_gen.symmetry.declared import manifest_config, manifest_symmetry
from pdesurrogate.data import PDEDataModule
from pdesurrogate.errors import UserError


def solver_residual(simulation, item, viscosity: float) -> float:
    """``‖S(x) − y‖ / ‖y‖``: the solver run one saved frame from the window's last input frame."""
    start = item["history"][-1:].to(torch.float64)  # (1, variables, n, n)
    predicted = simulation.run(start, simulation.parameters(1, viscosity=viscosity), 1)[0, 0]
    target = item["target"][0].to(torch.float64)
    return float((predicted - target).norm() / target.norm())


def augmented_items(dm: PDEDataModule, indices):
    """``(window index, lattice map drawn, augmented item)``; the map is drawn again under the same seed."""
    dataset = dm.train_dataloader().dataset
    for index in indices:
        torch.manual_seed(1000 + index)
        g = dataset.draw(index)
        torch.manual_seed(1000 + index)
        yield index, g, dataset[index], dataset.windows[index]


def test_augmented_pairs_are_solver_trajectories_and_the_controls_are_not(ns_dataset):
    config = manifest_config(PDEDataModule(str(ns_dataset), ["vorticity"]).reader.manifest)
    simulation = Simulation(config, dtype=torch.float64)
    indices = range(0, 72, 5)
    results = {}
    for kind in ("declared", "unsigned", "lattice"):
        dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=1, future=1, augmentation=kind, batch_size=4)
        group = manifest_symmetry(dm.reader.manifest)
        viscosity = dm.train.parameters["viscosity"]
        per_sample = dm.train_dataloader().dataset.windows.windows_per_sample
        for index, g, item, stored in augmented_items(dm, indices):
            nu = float(viscosity[index // per_sample])
            ratio = solver_residual(simulation, item, nu) / solver_residual(simulation, stored, nu)
            results.setdefault(kind, []).append((g, ratio, g in group))
    for g, ratio, member in results["declared"]:
        assert member and abs(ratio - 1) < 1e-4, (g, ratio)  # S(g·x) − g·y = g·(S(x) − y)
    unsigned = [(g, ratio) for g, ratio, _ in results["unsigned"] if g.det == -1]
    assert unsigned and min(r for _, r in unsigned) > 5, unsigned  # reflections without the sign change
    outside = [(g, ratio) for g, ratio, member in results["lattice"] if not member]
    assert outside and min(r for _, r in outside) > 5, outside


def test_train_samples_and_augmentation_are_checked(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, train_samples=3)
    assert len(dm.train_dataloader().dataset) == 3 * dm.train_dataloader().dataset.windows_per_sample
    with pytest.raises(UserError, match=r"data.train_samples must be an integer in \[1, 8\]"):
        PDEDataModule(str(ns_dataset), ["vorticity"], train_samples=9)
    with pytest.raises(UserError, match="data.augmentation must be one of none, declared, unsigned, lattice"):
        PDEDataModule(str(ns_dataset), ["vorticity"], augmentation="flips")
