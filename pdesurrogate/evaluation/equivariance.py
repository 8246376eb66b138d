"""Equivariance error: how far a model (or the solver) is from commuting with a lattice map.

For a map ``F`` from history frames to predicted frames and a lattice map ``g`` (acting on fields
with the sign rule of each variable, :class:`data_gen.symmetry.LatticeMap`), per sample, predicted
frame ``t`` and variable::

    E_g(t) = ‖F(g·x)_t − g·F(x)_t‖ / ‖F(x)_t − mean F(x)_t‖

(norms over the grid; the mean is the spatial one, so that a variable with a large mean such as
shallow-water depth is measured against its deviations). ``F`` is one model step or the whole
autoregressive rollout: over a rollout, ``t`` runs over its frames and a model that is equivariant
only approximately drifts apart from its own transformed rollout. For ``g`` in the declared group
the solver's own value is round-off; for ``g`` outside it the solver's value says how much the
forcing breaks that symmetry, which a model should match, not undercut (a model can be too
symmetric: exactly equivariant under a map the physics lacks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from data_gen.symmetry import POINT_GROUP, LatticeMap, SymmetryGroup

# fields (batch, history, variables, y, x), parameters (batch, P) or None, steps -> (batch, frames, variables, y, x)
Rollout = Callable[[torch.Tensor, "torch.Tensor | None", int], torch.Tensor]


def relative_deviation_norm(difference: torch.Tensor, reference: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``‖difference‖ / ‖reference − mean reference‖`` over the last two (grid) axes."""
    spread = reference - reference.mean(dim=(-2, -1), keepdim=True)
    return difference.flatten(-2).norm(dim=-1) / spread.flatten(-2).norm(dim=-1).clamp_min(eps)


@torch.no_grad()
def equivariance_errors(rollout: Rollout, history: torch.Tensor, parameters: torch.Tensor | None,
                        maps: Sequence[LatticeMap], variables: Sequence[str], steps: int,
                        sign_rule: bool = True) -> dict[LatticeMap, torch.Tensor]:
    """``{g: E_g (batch, frames, variables)}`` for each map, from one rollout of ``steps`` model
    steps of the input and of every transformed input together, in one batch (parameters are
    invariant scalars here)."""
    batch = history.shape[0]
    inputs = torch.cat([history] + [g.apply(history, variables, sign_rule) for g in maps])
    repeated = parameters.repeat(len(maps) + 1, *([1] * (parameters.ndim - 1))) if parameters is not None else None
    outputs = rollout(inputs, repeated, steps)
    reference = outputs[:batch]
    return {g: relative_deviation_norm(outputs[(k + 1) * batch:(k + 2) * batch]
                                       - g.apply(reference, variables, sign_rule), reference)
            for k, g in enumerate(maps)}


def probe_maps(group: SymmetryGroup) -> list[tuple[LatticeMap, bool]]:
    """``(map, in the group)`` for every point-group element (its coset representative when the
    group has it, else the map with no shift), plus a translation of the group and one outside it."""
    n = group.n
    probes = []
    for point in POINT_GROUP:
        if point in group.cosets:
            probes.append((LatticeMap(point, group.cosets[point], n), True))
        else:
            probes.append((LatticeMap(point, (0, 0), n), False))
    shifts = sorted(s for s in group.translations if s != (0, 0))
    if shifts:
        probes.append((LatticeMap("identity", shifts[0], n), True))
    outside = [(x, y) for x in range(n) for y in range(n) if (x, y) not in group.translations]
    if outside:
        probes.append((LatticeMap("identity", min(outside, key=lambda s: (s[0] + s[1], s)), n), False))
    return [(g, member) for g, member in probes if not (g.point == "identity" and g.shift == (0, 0))]


def solver_rollout(simulation, parameter_names: Sequence[str], variables: Sequence[str]) -> Rollout:
    """The dataset's own solver as a :data:`Rollout` from the last history frame (a
    :class:`data_gen.simulation.Simulation`; its state variables must be among ``variables``)."""
    index = [list(variables).index(v) for v in simulation.state_variables]
    order = [list(simulation.variables).index(v) for v in variables]

    def run(history: torch.Tensor, parameters: torch.Tensor | None, steps: int) -> torch.Tensor:
        given = {name: parameters[:, k] for k, name in enumerate(parameter_names)} if parameters is not None else {}
        start = history[:, -1, index].to(simulation.grid.dtype)
        frames = simulation.run(start, simulation.parameters(history.shape[0], **given), steps)
        return frames[:, :, order].to(history.dtype)

    return run
