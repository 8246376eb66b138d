"""FNO and U-Net on a non-square grid: the shape they are given, periodic shift equivariance, and
architecture checks per axis."""

from __future__ import annotations

import pytest
import torch

from pdesurrogate.models import FNO, UNet
from pdesurrogate.models.base import ArchitectureError

NY, NX = 16, 32


def networks():
    torch.manual_seed(0)
    fno = FNO(["tracer", "u", "v"], history=2, future=1, resolution=[NY, NX], hidden_channels=8, layers=2, modes=4,
              lifting_channels=8, projection_channels=8, grid_embedding="none")
    unet = UNet(["tracer", "u", "v"], history=2, future=1, resolution=[NY, NX], hidden_channels=4,
                blocks_per_level=1, norm_groups=4)
    return {"fno": fno, "unet": unet}


@pytest.mark.parametrize("name", ["fno", "unet"])
def test_a_non_square_grid_keeps_its_shape_and_periodic_shifts_commute(name):
    network = networks()[name].double().eval()
    fields = torch.randn(2, 2, 3, NY, NX, dtype=torch.float64)
    out = network(fields)
    assert out.shape == (2, 1, 3, NY, NX)
    # Without a grid embedding both are periodic convolutions: shifting the input by whole coarse
    # cells (8 for the 4-level U-Net's strides) along y and x shifts the output the same way.
    shifted = network(torch.roll(fields, shifts=(8, 24), dims=(-2, -1)))
    torch.testing.assert_close(shifted, torch.roll(out, shifts=(8, 24), dims=(-2, -1)))


def test_architecture_checks_are_per_axis():
    with pytest.raises(ArchitectureError, match=r"min\(ny, nx\) // 2 = 8"):
        FNO(["tracer"], history=1, future=1, resolution=[NY, NX], modes=9)
    with pytest.raises(ArchitectureError, match=r"divisible by 2\^\(levels-1\) = 8"):
        UNet(["tracer"], history=1, future=1, resolution=[12, 32])
