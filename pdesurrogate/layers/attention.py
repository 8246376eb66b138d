"""Multi-head self-attention over the grid points of a (coarse) feature map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .normalisation import group_norm


class AttentionBlock(nn.Module):
    """``x + proj(attention(norm(x)))`` with every grid point a token.

    Cost grows with the square of the number of points, so the U-Net uses it only at its
    coarsest level, where it couples the whole domain in one step.
    """

    def __init__(self, channels: int, heads: int = 4, norm_groups: int = 8):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm = group_norm(channels, norm_groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ny, nx = x.shape[-2:]
        q, k, v = rearrange(self.qkv(self.norm(x)), "b (three h d) y x -> three b h (y x) d",
                            three=3, h=self.heads)
        attended = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(rearrange(attended, "b h (y x) d -> b (h d) y x", y=ny, x=nx))
