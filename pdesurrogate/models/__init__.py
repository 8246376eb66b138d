"""Surrogate architectures: each maps ``(batch, history, variable, y, x)`` to ``(batch, future, variable, y, x)``."""

from .base import Surrogate
from .fno import FNO
from .hybrid import Hybrid
from .unet import UNet

__all__ = ["FNO", "Hybrid", "Surrogate", "UNet"]
