"""``pdesurrogate fit|validate|test|predict``: the Lightning CLI, which lives in the training layer
(:mod:`pdesurrogate.training.cli`) so that the workflows train through it without importing the
command line."""

from ..training.cli import run_lightning

__all__ = ["run_lightning"]
