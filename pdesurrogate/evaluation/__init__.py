"""Evaluation of surrogate rollouts: per-frame error metrics, spectral errors, invariant drift, and the
probabilistic scores of ensembles (CRPS, Gaussian NLL, interval coverage, spread–skill).

The package exports exactly what :mod:`.metrics` exports (its ``__all__``), listed once there.
"""

from .metrics import *  # noqa: F401,F403
from .metrics import __all__  # noqa: F401
