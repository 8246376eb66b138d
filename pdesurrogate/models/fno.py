"""The Fourier neural operator (Li et al. 2021) for periodic 2-D fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from ..layers import ChannelMLP, DomainPadding, GridEmbedding2d, SpectralConv2d
from ..layers.conditioning import maybe_film, modulate
from .base import ArchitectureError, Surrogate, require_positive


class FNOBlock(nn.Module):
    """``GELU(FiLM(K x + W x))`` with ``K`` the spectral convolution and ``W`` the skip, then an
    optional channel MLP with its own residual path (as in neuraloperator)."""

    def __init__(self, channels: int, modes: int, skip: str, channel_mlp: bool, channel_mlp_expansion: float,
                 embedding_dim: int | None, activate: bool):
        super().__init__()
        self.spectral = SpectralConv2d(channels, channels, modes)
        self.skip = nn.Conv2d(channels, channels, 1, bias=False) if skip == "linear" else nn.Identity()
        self.film = maybe_film(embedding_dim, channels)
        self.channel_mlp = (
            ChannelMLP(channels, channels, max(1, round(channels * channel_mlp_expansion))) if channel_mlp else None
        )
        self.activation = nn.GELU() if activate else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        h = modulate(self.film, self.spectral(x) + self.skip(x), embedding)
        if self.channel_mlp is not None:
            h = self.channel_mlp(nn.functional.gelu(h)) + h
        return self.activation(h)


class FNO(Surrogate):
    """Lifting channel-MLP → ``layers`` Fourier blocks → projection channel-MLP.

    Resolution independent: every operation is either pointwise or a spectral convolution on
    the lowest ``modes`` (see :class:`~pdesurrogate.layers.SpectralConv2d` for how ``modes``
    relates to the original FNO's ``modes1``), so weights trained at 64² run at 128².

    Args:
        hidden_channels: width of the Fourier layers.
        layers: number of Fourier blocks.
        modes: kept wavenumbers per direction (``modes1`` of the original FNO).
        lifting_channels / projection_channels: hidden width of the lifting/projection MLPs.
        skip: ``linear`` (1×1 convolution, as in the original FNO) or ``identity``.
        channel_mlp: add a channel MLP in every block.
        channel_mlp_expansion: its hidden width relative to ``hidden_channels``.
        grid_embedding: append the position to the input: ``periodic`` (sin/cos, keeps exact
            resolution independence on periodic domains), ``linear`` (the original FNO's
            ``(x, y)``, for non-periodic data) or ``none``.
        domain_padding: zero-padding fraction for non-periodic data (0: periodic, no padding).
        (the rest as in :class:`Surrogate`; conditioning applies FiLM channel modulation in
        every block.)
    """

    resolution_independent = True

    def __init__(
        self,
        variables: Sequence[str],
        history: int,
        future: int,
        conditioning: Sequence[str] = (),
        resolution: int | list[int] | None = None,
        hidden_channels: int = 64,
        layers: int = 4,
        modes: int = 16,
        lifting_channels: int = 128,
        projection_channels: int = 128,
        skip: Literal["linear", "identity"] = "linear",
        channel_mlp: bool = False,
        channel_mlp_expansion: float = 0.5,
        grid_embedding: Literal["periodic", "linear", "none"] = "periodic",
        domain_padding: float = 0.0,
        embedding_dim: int = 64,
        log_parameters: Sequence[str] = ("viscosity",),
    ):
        super().__init__(variables, history, future, conditioning, resolution, embedding_dim, log_parameters)
        self.save_hyperparameters()
        require_positive(hidden_channels=hidden_channels, layers=layers, modes=modes,
                         lifting_channels=lifting_channels, projection_channels=projection_channels)
        if self.grid_shape is not None and modes > min(self.grid_shape) // 2:
            ny, nx = self.grid_shape
            bound = "resolution // 2" if ny == nx else "min(ny, nx) // 2"
            raise ArchitectureError("modes", f"must be <= {bound} = {min(ny, nx) // 2} at resolution {resolution} "
                                             f"(got {modes})")
        if not 0 <= domain_padding < 1:
            raise ArchitectureError("domain_padding", f"must be in [0, 1) (got {domain_padding})")
        self.grid = GridEmbedding2d(grid_embedding) if grid_embedding != "none" else None
        in_channels = self.in_channels + (self.grid.channels if self.grid is not None else 0)
        self.lifting = ChannelMLP(in_channels, hidden_channels, lifting_channels)
        self.padding = DomainPadding(domain_padding)
        self.blocks = nn.ModuleList(
            FNOBlock(hidden_channels, modes, skip, channel_mlp, channel_mlp_expansion, self.embedding_dim,
                     activate=i < layers - 1)
            for i in range(layers)
        )
        self.projection = ChannelMLP(hidden_channels, self.out_channels, projection_channels)

    def forward_channels(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        size = x.shape[-2:]
        if self.grid is not None:
            x = self.grid(x)
        h = self.padding.pad(self.lifting(x))
        for block in self.blocks:
            h = block(h, embedding)
        return self.projection(self.padding.unpad(h, size))
