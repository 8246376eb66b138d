"""Group normalisation with a group count that always divides the channels."""

from __future__ import annotations

import math

from torch import nn


def group_norm(channels: int, groups: int = 8) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, groups), channels)
