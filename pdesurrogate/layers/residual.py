"""Residual blocks of the multiscale U-Net: convolutional and Fourier (spectral) variants."""

from __future__ import annotations

import torch
from torch import nn

from .conditioning import maybe_film, modulate
from .normalisation import group_norm
from .spectral_convolution import SpectralConv2d


def conv3x3(in_channels: int, out_channels: int, periodic: bool) -> nn.Conv2d:
    # Circular padding makes the convolution respect a periodic domain at its edges.
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode="circular" if periodic else "zeros")


class ResidualBlock(nn.Module):
    """Pre-activation block ``x + conv(GELU(FiLM(norm(conv(GELU(norm(x)))))))``.

    FiLM acts on the normalised features: GroupNorm removes the scale, so the conditioning
    sets it (the scale-and-shift normalisation of Dhariwal & Nichol 2021, PDEArena).
    """

    def __init__(self, in_channels: int, out_channels: int, *, periodic: bool = True,
                 embedding_dim: int | None = None, norm_groups: int = 8):
        super().__init__()
        self.norm1 = group_norm(in_channels, norm_groups)
        self.conv1 = conv3x3(in_channels, out_channels, periodic)
        self.norm2 = group_norm(out_channels, norm_groups)
        self.film = maybe_film(embedding_dim, out_channels)
        self.conv2 = conv3x3(out_channels, out_channels, periodic)
        self.activation = nn.GELU()
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(self.activation(self.norm1(x)))
        h = self.conv2(self.activation(modulate(self.film, self.norm2(h), embedding)))
        return h + self.shortcut(x)


class FourierResidualBlock(nn.Module):
    """The residual block with each 3×3 convolution replaced by spectral convolution + 1×1.

    Used in the finest U-Net levels (a U-Net/FNO hybrid): the global spectral path carries
    long-range coupling where a 3×3 stencil would need many levels to reach.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int, *,
                 embedding_dim: int | None = None, norm_groups: int = 8):
        super().__init__()
        self.norm1 = group_norm(in_channels, norm_groups)
        self.spectral1 = SpectralConv2d(in_channels, out_channels, modes)
        self.pointwise1 = nn.Conv2d(in_channels, out_channels, 1)
        self.norm2 = group_norm(out_channels, norm_groups)
        self.film = maybe_film(embedding_dim, out_channels)
        self.spectral2 = SpectralConv2d(out_channels, out_channels, modes)
        self.pointwise2 = nn.Conv2d(out_channels, out_channels, 1)
        self.activation = nn.GELU()
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = self.activation(self.norm1(x))
        h = self.spectral1(h) + self.pointwise1(h)
        h = self.activation(modulate(self.film, self.norm2(h), embedding))
        h = self.spectral2(h) + self.pointwise2(h)
        return h + self.shortcut(x)
