"""Reusable network pieces; the architectures that assemble them live in :mod:`pdesurrogate.models`."""

from .attention import AttentionBlock
from .channel_mlp import ChannelMLP
from .conditioning import FiLM, ParameterEmbedding, SinusoidalEmbedding
from .grid_embedding import GridEmbedding2d
from .normalisation import group_norm
from .padding import DomainPadding
from .residual import FourierResidualBlock, ResidualBlock
from .spectral_convolution import SpectralConv2d

__all__ = [
    "AttentionBlock", "ChannelMLP", "DomainPadding", "FiLM", "FourierResidualBlock", "GridEmbedding2d",
    "ParameterEmbedding", "ResidualBlock", "SinusoidalEmbedding", "SpectralConv2d", "group_norm",
]
