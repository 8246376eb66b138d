"""Pointwise (1×1) MLPs over channels: FNO lifting, projection and in-block mixing."""

from __future__ import annotations

from torch import nn


class ChannelMLP(nn.Sequential):
    """``in → hidden → out`` with GELU, applied independently at every grid point."""

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, hidden_channels, 1), nn.GELU(), nn.Conv2d(hidden_channels, out_channels, 1)
        )
