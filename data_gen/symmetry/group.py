"""Finite groups of lattice maps: a translation subgroup ``T`` and one coset ``(R, a_R) T`` per
point-group element ``R`` that occurs.

Every element is ``x ↦ R x + a_R + t`` with ``t ∈ T``. Stored compactly (generators of ``T`` and
one representative per coset), so an unforced 64² dataset's 32 768 elements are a few numbers in
the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from .lattice import POINT_GROUP, LatticeMap, SymmetryError


def translation_closure(generators: list[tuple[int, int]], n: int) -> frozenset[tuple[int, int]]:
    """The subgroup of ``Z_n²`` the shifts ``generators`` generate."""
    group = {(0, 0)}
    frontier = [(0, 0)]
    while frontier:
        sx, sy = frontier.pop()
        for gx, gy in generators:
            nxt = ((sx + gx) % n, (sy + gy) % n)
            if nxt not in group:
                group.add(nxt)
                frontier.append(nxt)
    return frozenset(group)


def translation_generators(shifts: frozenset[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    """A short list of shifts generating the subgroup ``shifts`` (greedy, smallest first)."""
    generators: list[tuple[int, int]] = []
    reached = translation_closure([], n)
    for shift in sorted(shifts, key=lambda s: (min(s[0], n - s[0]) + min(s[1], n - s[1]), s)):
        if shift not in reached:
            generators.append(shift)
            reached = translation_closure(generators, n)
            if reached == shifts:
                break
    if reached != shifts:
        raise AssertionError("the shifts given are not a subgroup of Z_n²")
    return generators


@dataclass(frozen=True)
class SymmetryGroup:
    """A finite group of lattice maps of the ``n × n`` grid.

    ``cosets`` maps each point-group element present to one representative shift; ``translations``
    is the subgroup ``T`` of pure shifts (cells, mod ``n``).
    """

    n: int
    translations: frozenset[tuple[int, int]]
    cosets: dict[str, tuple[int, int]]

    @property
    def order(self) -> int:
        return len(self.cosets) * len(self.translations)

    @property
    def points(self) -> tuple[str, ...]:
        return tuple(name for name in POINT_GROUP if name in self.cosets)

    def representatives(self) -> list[LatticeMap]:
        """One element per point-group element: what a model that already commutes with every
        translation of ``T`` needs to average over."""
        return [LatticeMap(p, self.cosets[p], self.n) for p in self.points]

    def elements(self) -> Iterator[LatticeMap]:
        for point in self.points:
            ax, ay = self.cosets[point]
            for tx, ty in sorted(self.translations):
                yield LatticeMap(point, (ax + tx, ay + ty), self.n)

    def __contains__(self, g: LatticeMap) -> bool:
        if g.n != self.n or g.point not in self.cosets:
            return False
        ax, ay = self.cosets[g.point]
        return ((g.shift[0] - ax) % self.n, (g.shift[1] - ay) % self.n) in self.translations

    def random_element(self, generator: torch.Generator | None = None) -> LatticeMap:
        """A uniformly drawn element."""
        points = self.points
        shifts = sorted(self.translations)
        p = points[int(torch.randint(len(points), (1,), generator=generator))]
        tx, ty = shifts[int(torch.randint(len(shifts), (1,), generator=generator))]
        ax, ay = self.cosets[p]
        return LatticeMap(p, (ax + tx, ay + ty), self.n)

    def intersection(self, other: "SymmetryGroup") -> "SymmetryGroup":
        """The elements in both (a subgroup of each)."""
        if other.n != self.n:
            raise SymmetryError(f"symmetry groups of a {self.n}² and a {other.n}² grid have no common elements")
        translations = self.translations & other.translations
        cosets = {}
        for point in self.points:
            if point not in other.cosets:
                continue
            for g in (LatticeMap(point, (self.cosets[point][0] + tx, self.cosets[point][1] + ty), self.n)
                      for tx, ty in sorted(self.translations)):
                if g in other:
                    cosets[point] = g.shift
                    break
        return SymmetryGroup(self.n, translations, cosets)

    # --- the manifest record ------------------------------------------------------------------
    def to_record(self) -> dict:
        return {
            "grid": self.n,
            "order": self.order,
            "points": list(self.points),
            "cosets": {p: list(self.cosets[p]) for p in self.points},
            "translations": {"count": len(self.translations),
                             "generators": [list(g) for g in translation_generators(self.translations, self.n)]},
        }

    @classmethod
    def from_record(cls, record: dict, field: str = "symmetry") -> "SymmetryGroup":
        try:
            n = int(record["grid"])
            translations = translation_closure([(int(x), int(y)) for x, y in record["translations"]["generators"]], n)
            cosets = {str(p): (int(s[0]) % n, int(s[1]) % n) for p, s in record["cosets"].items()}
        except (KeyError, TypeError, ValueError) as error:
            raise SymmetryError(f"{field}: not a symmetry-group record ({error!r})") from None
        unknown = [p for p in cosets if p not in POINT_GROUP]
        if unknown:
            raise SymmetryError(f"{field}: unknown point-group elements {unknown} (accepted: {', '.join(POINT_GROUP)})")
        return cls(n, translations, cosets)
