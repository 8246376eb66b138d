"""An FNO made exactly equivariant under a dataset's symmetry group by averaging over it.

``F̄(x) = 1/|P| Σ_R g_R⁻¹ · F(g_R · x, f)`` over one element ``g_R = (R, a_R)`` per point-group
element ``R`` of the group (its coset representatives). The inner FNO has no grid-position
channels, so it commutes with every shift of the grid; the forcing, which is what breaks the
translations, is given to it as an input field ``f`` (unit rms), which every element of the group
leaves invariant. Together: for any group element ``h``, ``F̄(h·x) = h·F̄(x)`` to round-off — for
all ``|P|·|T|`` elements while evaluating the network only ``|P|`` times (at most 8).

Conditioning on per-sample scalars (viscosity, drag, amplitude) keeps this exact: they are
invariant and enter through channel-wise FiLM. The wrapper expects the normalised fields to
transform like the physical ones, so the module normalises pseudo-scalars and velocity
components without a mean shift and the two components with one scale
(:func:`pdesurrogate.data.normalisation.symmetric_statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from einops import rearrange

from data_gen.symmetry import POINT_GROUP, SymmetryError, forcing_group, stabiliser
from data_gen.symmetry.declared import ROTATIONS, unit_patterns

from ..layers import ChannelMLP
from .base import ArchitectureError
from .fno import FNO

FORCING_KINDS = ("none", "fno", "kolmogorov")


class GroupAveragedFNO(FNO):
    """:class:`FNO` averaged over the symmetry group of the data's equations and forcing.

    Args:
        forcing: the dataset config's ``forcing`` section (``{kind: fno}``, ``{kind: kolmogorov,
            wavenumber: 4}``, ``{kind: none}``); a per-sample ``diagonal_modes`` forcing is refused.
        reflections: whether the equations allow reflections (``false`` for the f-plane shallow
            water, whose Coriolis term a reflection reverses).
        (the rest as in :class:`FNO`, without ``grid_embedding``, which would break the translations.)
    """

    equivariant = True  # the module normalises with symmetric statistics

    def __init__(
        self,
        variables: Sequence[str],
        history: int,
        future: int,
        conditioning: Sequence[str] = (),
        resolution: int | None = None,
        forcing: dict | None = None,
        reflections: bool = True,
        hidden_channels: int = 64,
        layers: int = 4,
        modes: int = 16,
        lifting_channels: int = 128,
        projection_channels: int = 128,
        skip: Literal["linear", "identity"] = "linear",
        channel_mlp: bool = False,
        channel_mlp_expansion: float = 0.5,
        embedding_dim: int = 64,
        log_parameters: Sequence[str] = ("viscosity",),
    ):
        forcing = dict(forcing or {"kind": "none"})
        if forcing.get("kind") not in FORCING_KINDS:
            raise ArchitectureError("forcing", f"must be a forcing section with kind one of {', '.join(FORCING_KINDS)} "
                                               f"(a per-sample forcing has no single group; got {forcing!r})")
        super().__init__(variables, history, future, conditioning, resolution, hidden_channels, layers, modes,
                         lifting_channels, projection_channels, skip, channel_mlp, channel_mlp_expansion,
                         grid_embedding="none", domain_padding=0.0, embedding_dim=embedding_dim,
                         log_parameters=log_parameters)
        self.save_hyperparameters()
        for fixed in ("grid_embedding", "domain_padding"):  # not arguments of this class
            self.hparams.pop(fixed, None)
        self.forcing, self.reflections = forcing, bool(reflections)
        self.forced = forcing["kind"] != "none"
        if self.forced:  # one more input channel: the forcing field
            self.lifting = ChannelMLP(self.in_channels + 1, hidden_channels, lifting_channels)
        self._groups: dict[int, tuple] = {}
        if resolution is not None:
            self._group(resolution)  # refuse a grid that cannot realise the group now, not mid-training

    @property
    def points(self) -> tuple[str, ...]:
        return tuple(POINT_GROUP) if self.reflections else ROTATIONS

    def _group(self, n: int):
        """``(group, forcing field (n, n) or None)`` on an ``n`` grid."""
        if n not in self._groups:
            try:
                if self.forced:
                    group = forcing_group(self.forcing, n, self.points)
                    pattern = unit_patterns(self.forcing, n)[0]
                    pattern = (pattern / pattern.pow(2).mean().sqrt()).to(torch.float32)
                else:
                    group, pattern = stabiliser(None, n, self.points), None
            except SymmetryError as error:
                raise ArchitectureError("forcing", f"on a {n}² grid: {error}") from None
            self._groups[n] = (group, pattern)
        return self._groups[n]

    def group(self, n: int):
        """The symmetry group the model is exactly equivariant under on an ``n`` grid."""
        return self._group(n)[0]

    def forward_channels(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        n = x.shape[-1]
        group, pattern = self._group(n)
        fields = rearrange(x, "b (t c) y x -> b t c y x", c=len(self.variables))
        total = 0
        representatives = group.representatives()
        for g in representatives:
            moved = rearrange(g.apply(fields, self.variables), "b t c y x -> b (t c) y x")
            if pattern is not None:
                moved = torch.cat((moved, pattern.to(moved).expand(moved.shape[0], 1, n, n)), dim=1)
            out = super().forward_channels(moved, embedding)
            out = rearrange(out, "b (t c) y x -> b t c y x", c=len(self.variables))
            total = total + g.inverse().apply(out, self.variables)
        return rearrange(total / len(representatives), "b t c y x -> b (t c) y x")
