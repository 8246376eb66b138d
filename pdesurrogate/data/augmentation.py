"""Symmetry augmentation: each training window moved by a random lattice map, history and target
together, so that the pair stays a trajectory of the same equations.

``declared`` draws from the dataset's declared group (``manifest.json`` ``symmetry``; for a
``diagonal_modes`` forcing, each sample's own group) and applies the sign rule (vorticity a
pseudo-scalar, velocity a vector): every augmented window is a true solver trajectory. The
per-sample parameters are left as they are, which is their exact transformation: viscosity, drag
and forcing amplitude are scalars, and every element of the group maps the forcing (and so its
coefficients) to itself.

Two deliberately wrong variants are kept as negative controls:

* ``unsigned``: the declared group, but every field moved like a plain scalar (a reflection
  without the sign change of vorticity: the flow of the augmented pair turns the wrong way);
* ``lattice``: all 8 rotations/reflections and every shift with the right sign rule, ignoring the
  forcing (the 90° rotations a forced flow does not have, as general-purpose augmentation does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from data_gen.symmetry import POINT_GROUP, LatticeMap, SymmetryGroup, sample_symmetry
from data_gen.symmetry.declared import manifest_config, manifest_symmetry

from .windows import TrajectoryWindows

AUGMENTATIONS = ("none", "declared", "unsigned", "lattice")


def lattice_group(n: int) -> SymmetryGroup:
    """Every lattice map of the ``n × n`` grid: the group of the unforced equations."""
    return SymmetryGroup(n, frozenset((x, y) for x in range(n) for y in range(n)), {p: (0, 0) for p in POINT_GROUP})


def sample_groups(manifest: dict, parameters: dict, n: int) -> Callable[[int], SymmetryGroup]:
    """``sample index -> its group``: the declared one, or each sample's own for ``diagonal_modes``
    (``parameters``: the split's per-sample values; a coefficient not swept is the config's constant)."""
    config = manifest_config(manifest)
    if config is None or config.equation != "navier_stokes" or config.sections["forcing"]["kind"] != "diagonal_modes":
        group = manifest_symmetry(manifest)
        return lambda sample: group
    cache: dict[int, SymmetryGroup] = {}

    def group_of(sample: int) -> SymmetryGroup:
        if sample not in cache:
            values = {name: float(parameters[name][sample]) if name in parameters else law.value
                      for name, (_, law) in config.sampled.items()}
            cache[sample] = sample_symmetry(config, values, n)
        return cache[sample]

    return group_of


class SymmetryAugmented(Dataset):
    """``windows`` with every item moved by a lattice map drawn afresh each time it is read.

    Draws use torch's global generator, which Lightning seeds (per worker too)."""

    def __init__(self, windows: TrajectoryWindows, variables: Sequence[str], kind: str,
                 group_of_sample: Callable[[int], SymmetryGroup], n: int):
        if kind not in AUGMENTATIONS[1:]:
            raise ValueError(f"augmentation must be one of {AUGMENTATIONS[1:]} (got {kind!r})")
        self.windows, self.variables, self.kind = windows, list(variables), kind
        self.group_of_sample = group_of_sample if kind != "lattice" else (lambda sample, g=lattice_group(n): g)

    def __len__(self) -> int:
        return len(self.windows)

    def draw(self, index: int) -> LatticeMap:
        return self.group_of_sample(index // self.windows.windows_per_sample).random_element()

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.windows[index]
        g = self.draw(index)
        sign_rule = self.kind != "unsigned"
        return {**item, "history": g.apply(item["history"], self.variables, sign_rule),
                "target": g.apply(item["target"], self.variables, sign_rule)}
