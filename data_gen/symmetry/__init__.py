"""Symmetry: lattice maps of the periodic grid, finite groups of them, and each dataset's declared group."""

from .declared import declared_symmetry, forcing_group, manifest_symmetry, sample_symmetry, stabiliser, symmetry_record
from .group import SymmetryGroup
from .lattice import POINT_GROUP, LatticeMap, SymmetryError

__all__ = ["POINT_GROUP", "LatticeMap", "SymmetryError", "SymmetryGroup", "declared_symmetry", "forcing_group", "manifest_symmetry",
           "sample_symmetry", "stabiliser", "symmetry_record"]
