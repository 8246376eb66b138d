"""A multiscale U-Net for periodic fields (the "modern U-Net" of Gupta & Brandstetter 2022)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import AttentionBlock, FourierResidualBlock, ResidualBlock, group_norm
from ..layers.residual import conv3x3
from .base import ArchitectureError, Surrogate, require_positive


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 3×3 convolution (circular on periodic domains)."""

    def __init__(self, channels: int, periodic: bool):
        super().__init__()
        self.periodic = periodic
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 1, 1, 1), mode="circular" if self.periodic else "constant"))


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour then a 3×3 convolution (no checkerboard artefacts,
    and unlike a transposed convolution it can wrap around a periodic domain)."""

    def __init__(self, channels: int, periodic: bool):
        super().__init__()
        self.conv = conv3x3(channels, channels, periodic)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(Surrogate):
    """Encoder–decoder over ``len(channel_multipliers)`` resolution levels with skip connections.

    Level ``i`` has ``hidden_channels · channel_multipliers[i]`` channels and ``blocks_per_level``
    residual blocks (GroupNorm, FiLM-conditioned when conditioning is on); resolution halves
    between levels, so the grid must be divisible by ``2^(levels − 1)``.

    Args:
        hidden_channels: channels of the finest level.
        channel_multipliers: per-level channel multipliers (at least four levels).
        blocks_per_level: residual blocks per level on each path.
        attention: self-attention at the coarsest level.
        attention_heads: heads of that attention.
        fourier_levels: how many of the finest levels use Fourier residual blocks (U-Net/FNO hybrid).
        modes: kept wavenumbers of those Fourier blocks (capped at what each level's grid holds).
        periodic: circular padding; ``False`` pads with zeros (walls, non-periodic data).
        norm_groups: GroupNorm groups (reduced to a divisor of the channels where needed).
        (the rest as in :class:`Surrogate`.)
    """

    def __init__(
        self,
        variables: Sequence[str],
        history: int,
        future: int,
        conditioning: Sequence[str] = (),
        resolution: int | list[int] | None = None,
        hidden_channels: int = 64,
        channel_multipliers: Sequence[int] = (1, 2, 2, 4),
        blocks_per_level: int = 2,
        attention: bool = False,
        attention_heads: int = 4,
        fourier_levels: int = 0,
        modes: int = 16,
        periodic: bool = True,
        norm_groups: int = 8,
        embedding_dim: int = 64,
        log_parameters: Sequence[str] = ("viscosity",),
    ):
        super().__init__(variables, history, future, conditioning, resolution, embedding_dim, log_parameters)
        self.save_hyperparameters()
        require_positive(hidden_channels=hidden_channels, blocks_per_level=blocks_per_level,
                         attention_heads=attention_heads, modes=modes, norm_groups=norm_groups)
        levels = len(channel_multipliers)
        if levels < 4:
            raise ArchitectureError("channel_multipliers", f"must give at least 4 levels (got {list(channel_multipliers)})")
        require_positive(**{f"channel_multipliers[{i}]": m for i, m in enumerate(channel_multipliers)})
        if not 0 <= fourier_levels <= levels:
            raise ArchitectureError("fourier_levels", f"must be in [0, {levels}] (got {fourier_levels})")
        self.divisor = 2 ** (levels - 1)
        if self.grid_shape is not None and any(n % self.divisor for n in self.grid_shape):
            raise ArchitectureError("resolution", f"must be divisible by 2^(levels-1) = {self.divisor} for "
                                                  f"{levels} U-Net levels (got {resolution})")
        widths = [hidden_channels * m for m in channel_multipliers]
        if attention and widths[-1] % attention_heads:
            raise ArchitectureError("attention_heads", f"must divide the coarsest level's {widths[-1]} channels "
                                                       f"(got {attention_heads})")
        emb = self.embedding_dim

        def block(i: int, c_in: int, c_out: int) -> nn.Module:
            if i < fourier_levels:
                # Level i holds wavenumbers up to resolution / 2^(i+1); more modes would be dead weights.
                level_modes = modes if self.grid_shape is None else max(1, min(modes, min(self.grid_shape) // 2 ** (i + 1)))
                return FourierResidualBlock(c_in, c_out, level_modes, embedding_dim=emb, norm_groups=norm_groups)
            return ResidualBlock(c_in, c_out, periodic=periodic, embedding_dim=emb, norm_groups=norm_groups)

        self.stem = conv3x3(self.in_channels, hidden_channels, periodic)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skip_widths, c = [hidden_channels], hidden_channels
        for i, w in enumerate(widths):
            self.down.append(nn.ModuleList(block(i, c if j == 0 else w, w) for j in range(blocks_per_level)))
            c = w
            skip_widths += [w] * blocks_per_level
            if i < levels - 1:
                self.downsample.append(Downsample(w, periodic))
                skip_widths.append(w)
        self.middle1 = ResidualBlock(c, c, periodic=periodic, embedding_dim=emb, norm_groups=norm_groups)
        self.attention = AttentionBlock(c, attention_heads, norm_groups) if attention else None
        self.middle2 = ResidualBlock(c, c, periodic=periodic, embedding_dim=emb, norm_groups=norm_groups)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            w = widths[i]
            # One more block than on the way down: it consumes the skip saved before the downsample.
            self.up.append(nn.ModuleList(block(i, (c if j == 0 else w) + skip_widths.pop(), w)
                                         for j in range(blocks_per_level + 1)))
            c = w
            if i > 0:
                self.upsample.append(Upsample(w, periodic))
        self.head = nn.Sequential(group_norm(c, norm_groups), nn.GELU(), conv3x3(c, self.out_channels, periodic))

    def forward_channels(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        if x.shape[-1] % self.divisor or x.shape[-2] % self.divisor:
            raise ValueError(f"the U-Net needs a grid divisible by {self.divisor} (got {tuple(x.shape[-2:])})")
        h = self.stem(x)
        skips = [h]
        for i, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, embedding)
                skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                skips.append(h)
        h = self.middle1(h, embedding)
        if self.attention is not None:
            h = self.attention(h)
        h = self.middle2(h, embedding)
        for i, blocks in enumerate(self.up):
            for block in blocks:
                h = block(torch.cat((h, skips.pop()), dim=1), embedding)
            if i < len(self.upsample):
                h = self.upsample[i](h)
        return self.head(h)
