"""Surrogate architectures: each maps ``(batch, history, variable, y, x)`` to ``(batch, future, variable, y, x)``."""

from .base import Surrogate
from .fno import FNO
from .group_averaged import GroupAveragedFNO
from .hybrid import Hybrid
from .unet import UNet

__all__ = ["FNO", "GroupAveragedFNO", "Hybrid", "Surrogate", "UNet"]
