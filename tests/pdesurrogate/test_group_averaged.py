"""The group-averaged FNO is exactly equivariant under its group, untrained, and not under maps
outside it; its checkpoint is a state_dict and allowlisted hyper-parameters."""

from __future__ import annotations

import pytest
import torch

from data_gen.symmetry import LatticeMap
from pdesurrogate.data.normalisation import symmetric_statistics
from pdesurrogate.evaluation.equivariance import equivariance_errors
from pdesurrogate.models import FNO, GroupAveragedFNO
from pdesurrogate.models.base import ArchitectureError

N = 16
SMALL = dict(hidden_channels=8, layers=2, modes=5, lifting_channels=8, projection_channels=8)


def rollout_of(model):
    def run(history, parameters, steps):
        frames, x = [], history
        for _ in range(steps):
            y = model(x, parameters)
            frames.append(y)
            x = torch.cat((x[:, y.shape[1]:], y), dim=1)
        return torch.cat(frames, dim=1)
    return run


@pytest.mark.parametrize("forcing, reflections, variables, outside", [
    ({"kind": "fno"}, True, ["vorticity"], [LatticeMap("rotate_90", (0, 0), N), LatticeMap("identity", (1, 0), N)]),
    ({"kind": "kolmogorov", "wavenumber": 2}, True, ["vorticity"], [LatticeMap("transpose", (0, 0), N)]),
    ({"kind": "none"}, False, ["height", "u", "v", "vorticity"], [LatticeMap("reflect_x", (0, 0), N)]),
])
def test_untrained_model_is_equivariant_to_round_off_under_its_group_only(forcing, reflections, variables, outside):
    torch.manual_seed(0)
    model = GroupAveragedFNO(variables, 2, 1, conditioning=["viscosity"], resolution=N, forcing=forcing,
                             reflections=reflections, **SMALL).double()
    group = model.group(N)
    generator = torch.Generator().manual_seed(3)
    members = [group.random_element(generator) for _ in range(6)] + group.representatives()
    history = torch.randn(2, 2, len(variables), N, N, dtype=torch.float64, generator=generator)
    viscosity = torch.tensor([[1e-3], [3e-3]], dtype=torch.float64)
    errors = equivariance_errors(rollout_of(model), history, viscosity, members + outside, variables, steps=2)
    for g in members:
        assert float(errors[g].max()) < 1e-12, g
    for g in outside:
        assert float(errors[g].min()) > 1e-3, g
    # The same FNO without the average is not equivariant even under the group.
    plain = FNO(variables, 2, 1, conditioning=["viscosity"], resolution=N, **SMALL).double()
    g = group.representatives()[-1]
    assert float(equivariance_errors(rollout_of(plain), history, viscosity, [g], variables, 1)[g].min()) > 1e-3


def test_refuses_what_it_cannot_make_equivariant():
    with pytest.raises(ArchitectureError, match="forcing must be a forcing section with kind one of"):
        GroupAveragedFNO(["vorticity"], 1, 1, forcing={"kind": "diagonal_modes"}, **SMALL)
    with pytest.raises(ArchitectureError, match="forcing on a 18² grid: saved_resolution 18: .*multiple of 4"):
        GroupAveragedFNO(["vorticity"], 1, 1, resolution=18, forcing={"kind": "fno"}, **SMALL)


def test_symmetric_statistics():
    stats = symmetric_statistics({"vorticity": (0.3, 0.4), "height": (1.0, 0.1), "u": (0.0, 1.0), "v": (0.0, 2.0)})
    assert stats["vorticity"] == pytest.approx((0.0, 0.5)) and stats["height"] == (1.0, 0.1)
    assert stats["u"] == stats["v"] == pytest.approx((0.0, 2.5 ** 0.5))


def test_checkpoint_rebuilds_the_same_model(tmp_path):
    from pdesurrogate.training import SurrogateModule
    from pdesurrogate.training.checkpoint import load_surrogate

    network = GroupAveragedFNO(["vorticity"], 2, 1, resolution=N, forcing={"kind": "fno"}, **SMALL)
    module = SurrogateModule(network)
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": "2.0.0"}, path)
    loaded = load_surrogate(path)
    x = torch.randn(1, 2, 1, N, N)
    assert torch.equal(loaded.network(x), network(x))
    assert loaded.network.hparams["forcing"] == {"kind": "fno"} and "grid_embedding" not in loaded.network.hparams
