"""Conditioning on per-sample physical scalars (viscosity, forcing amplitude, …).

A scalar becomes a vector by a sinusoidal embedding followed by an MLP; that vector modulates
the features of every block by a per-channel scale and shift (FiLM, Perez et al. 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """``z ↦ (z, sin(ω_j z), cos(ω_j z))`` with octave-spaced ``ω_j = 2^j π / period``.

    ``period`` should exceed the range the scalar spans (``log ν`` spans a few units), so the
    lowest frequency orders the values monotonically while the higher ones resolve small
    differences; the raw ``z`` keeps a path that extrapolates linearly.
    """

    def __init__(self, frequencies: int = 6, period: float = 16.0):
        super().__init__()
        self.register_buffer("omega", (2.0 ** torch.arange(frequencies)) * math.pi / period, persistent=False)

    @property
    def features_per_scalar(self) -> int:
        return 1 + 2 * self.omega.numel()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        phase = z.unsqueeze(-1) * self.omega
        return torch.cat((z.unsqueeze(-1), phase.sin(), phase.cos()), dim=-1).flatten(-2)


class ParameterEmbedding(nn.Module):
    """Per-sample parameters ``(batch, P)`` → conditioning vector ``(batch, dim)``.

    Parameters named in ``log_parameters`` enter as their natural logarithm: viscosity spans
    decades, and its effect (the Reynolds number) is multiplicative.
    """

    def __init__(self, names: Sequence[str], dim: int, log_parameters: Sequence[str] = ("viscosity",),
                 frequencies: int = 6):
        super().__init__()
        self.names = list(names)
        self.register_buffer("use_log", torch.tensor([n in log_parameters for n in self.names]), persistent=False)
        self.sinusoidal = SinusoidalEmbedding(frequencies)
        self.mlp = nn.Sequential(
            nn.Linear(len(self.names) * self.sinusoidal.features_per_scalar, dim), nn.GELU(), nn.Linear(dim, dim)
        )

    def forward(self, parameters: torch.Tensor) -> torch.Tensor:
        z = torch.where(self.use_log, parameters.clamp_min(1e-30).log(), parameters)
        return self.mlp(self.sinusoidal(z.to(self.mlp[0].weight.dtype)))


class FiLM(nn.Module):
    """``h ↦ h·(1 + γ(e)) + β(e)`` per channel, from a conditioning vector ``e``."""

    def __init__(self, embedding_dim: int, channels: int):
        super().__init__()
        self.to_scale_shift = nn.Sequential(nn.GELU(), nn.Linear(embedding_dim, 2 * channels))

    def forward(self, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        scale, shift = self.to_scale_shift(embedding)[:, :, None, None].chunk(2, dim=1)
        return h * (1 + scale) + shift


def maybe_film(embedding_dim: int | None, channels: int) -> FiLM | None:
    """A FiLM layer for conditioned models, ``None`` for unconditioned ones."""
    return FiLM(embedding_dim, channels) if embedding_dim else None


def modulate(film: FiLM | None, h: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
    return h if film is None else film(h, embedding)
