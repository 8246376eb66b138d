"""Training: losses, autoregressive regimes, the learning-rate schedule and the LightningModule."""

from .losses import LOSSES, mse, relative_l2
from .module import SurrogateModule
from .regimes import REGIMES, rollout

__all__ = ["LOSSES", "REGIMES", "SurrogateModule", "mse", "relative_l2", "rollout"]
