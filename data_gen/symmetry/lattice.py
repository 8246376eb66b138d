"""Lattice maps of the periodic square grid and how they act on fields.

A lattice map is ``g(x) = R x + a`` with ``R`` one of the 8 rotations/reflections that map the
square lattice onto itself and ``a`` a whole number of grid cells, taken modulo the grid. On a
field sampled at ``x_i = i·L/n`` it acts exactly, by an index map (no interpolation), with the
sign rule of what the field is:

* a scalar (height, tracer, pressure): ``s'(x) = s(g⁻¹ x)``;
* a pseudo-scalar (vorticity, the vorticity forcing): ``ω'(x) = det(R) · ω(g⁻¹ x)`` — vorticity is
  the curl of a vector, ``ẑ·∇×u``, and a reflection reverses the sense of rotation;
* a vector (u, v): ``u'(x) = R · u(g⁻¹ x)``.

``sign_rule=False`` treats every field as a plain scalar: the usual mistake (flips applied to
vorticity without its sign change), kept as a negative control for augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch

from ..errors import ParameterError

# R acting on the column vector (x, y).
POINT_GROUP: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "identity": ((1, 0), (0, 1)),
    "rotate_90": ((0, -1), (1, 0)),
    "rotate_180": ((-1, 0), (0, -1)),
    "rotate_270": ((0, 1), (-1, 0)),
    "reflect_x": ((-1, 0), (0, 1)),  # x -> -x
    "reflect_y": ((1, 0), (0, -1)),  # y -> -y
    "transpose": ((0, 1), (1, 0)),  # swaps x and y
    "antitranspose": ((0, -1), (-1, 0)),  # (x, y) -> (-y, -x)
}
NAME_OF = {matrix: name for name, matrix in POINT_GROUP.items()}

# How each saved variable transforms. Imported data may bring others: they are refused by name,
# never guessed.
SCALARS = ("height", "pressure", "tracer", "density", "buoyancy")
PSEUDOSCALARS = ("vorticity", "forcing")
VECTOR_COMPONENTS = {"u": 0, "v": 1}


class SymmetryError(ParameterError):
    """A lattice map or group that cannot act as asked (one line, naming what and why)."""


def _matmul(a, b):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(2)) for j in range(2)) for i in range(2))


def _transpose(a):
    return ((a[0][0], a[1][0]), (a[0][1], a[1][1]))


@dataclass(frozen=True)
class LatticeMap:
    """``g(x) = R x + a`` on an ``n × n`` periodic grid; ``shift = (a_x, a_y)`` in cells, mod ``n``."""

    point: str  # a key of POINT_GROUP
    shift: tuple[int, int]
    n: int

    def __post_init__(self):
        if self.point not in POINT_GROUP:
            raise SymmetryError(f"lattice map: {self.point!r} is not one of {', '.join(POINT_GROUP)}")
        object.__setattr__(self, "shift", (int(self.shift[0]) % self.n, int(self.shift[1]) % self.n))

    @property
    def matrix(self):
        return POINT_GROUP[self.point]

    @property
    def det(self) -> int:
        (a, b), (c, d) = self.matrix
        return a * d - b * c

    def __str__(self) -> str:
        return f"{self.point}+({self.shift[0]},{self.shift[1]})"

    def compose(self, other: "LatticeMap") -> "LatticeMap":
        """``self ∘ other``: ``x ↦ R₁(R₂ x + a₂) + a₁``."""
        r1, r2 = self.matrix, other.matrix
        ax = r1[0][0] * other.shift[0] + r1[0][1] * other.shift[1] + self.shift[0]
        ay = r1[1][0] * other.shift[0] + r1[1][1] * other.shift[1] + self.shift[1]
        return LatticeMap(NAME_OF[_matmul(r1, r2)], (ax, ay), self.n)

    def inverse(self) -> "LatticeMap":
        """``x ↦ Rᵀ(x − a)``."""
        rt = _transpose(self.matrix)
        ax = -(rt[0][0] * self.shift[0] + rt[0][1] * self.shift[1])
        ay = -(rt[1][0] * self.shift[0] + rt[1][1] * self.shift[1])
        return LatticeMap(NAME_OF[rt], (ax, ay), self.n)

    # --- action on fields ---------------------------------------------------------------------
    def source_index(self, device=None) -> torch.Tensor:
        """Flat indices ``[j·n + i]`` of ``g⁻¹(x_ij)``: ``f'[j, i] = f.flat[source[j, i]]``."""
        return _source_index(self.point, self.shift, self.n).to(device)

    def apply(self, fields: torch.Tensor, variables: Sequence[str], sign_rule: bool = True) -> torch.Tensor:
        """``g·fields`` for ``fields (..., len(variables), n, n)`` holding ``variables`` in order."""
        n, variables = self.n, list(variables)
        if tuple(fields.shape[-2:]) != (n, n) or fields.shape[-3] != len(variables):
            raise SymmetryError(f"lattice map on an {n}×{n} grid: fields must be (..., {len(variables)}, {n}, {n}) "
                                f"for variables {variables} (got {tuple(fields.shape)})")
        moved = fields.flatten(-2)[..., self.source_index(fields.device)].unflatten(-1, (n, n))
        if not sign_rule:
            return moved
        (a, b), (c, d) = self.matrix
        if b == 0 or not any(v in VECTOR_COMPONENTS for v in variables):
            return moved * self._signs(variables, moved)
        # R swaps the axes: u' = R·u needs both components.
        if not all(v in variables for v in VECTOR_COMPONENTS):
            raise SymmetryError(f"{self.point} turns u into ±v: it needs both velocity components (got {variables})")
        others = [k for k, v in enumerate(variables) if v not in VECTOR_COMPONENTS]
        out = moved.clone()
        if others:
            out[..., others, :, :] = moved[..., others, :, :] * self._signs([variables[k] for k in others], moved)
        iu, iv = variables.index("u"), variables.index("v")
        out[..., iu, :, :] = a * moved[..., iu, :, :] + b * moved[..., iv, :, :]
        out[..., iv, :, :] = c * moved[..., iu, :, :] + d * moved[..., iv, :, :]
        return out

    def _signs(self, variables: Sequence[str], like: torch.Tensor) -> torch.Tensor:
        """``(len(variables), 1, 1)``: the factor each variable takes when ``R`` does not mix u and v."""
        signs = []
        for name in variables:
            if name in SCALARS:
                signs.append(1.0)
            elif name in PSEUDOSCALARS:
                signs.append(float(self.det))
            elif name in VECTOR_COMPONENTS:
                k = VECTOR_COMPONENTS[name]
                signs.append(float(self.matrix[k][k]))
            else:
                raise SymmetryError(f"variable {name!r}: not known to transform as a scalar ({', '.join(SCALARS)}), "
                                    f"a pseudo-scalar ({', '.join(PSEUDOSCALARS)}) or a velocity component (u, v)")
        return torch.tensor(signs, dtype=like.dtype, device=like.device).view(-1, 1, 1)


@lru_cache(maxsize=1024)  # an n² index tensor per map: 8 kB at 32²
def _source_index(point: str, shift: tuple[int, int], n: int) -> torch.Tensor:
    rt = _transpose(POINT_GROUP[point])
    j, i = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    dx, dy = i - shift[0], j - shift[1]
    si = (rt[0][0] * dx + rt[0][1] * dy) % n
    sj = (rt[1][0] * dx + rt[1][1] * dy) % n
    return (sj * n + si).reshape(-1)
