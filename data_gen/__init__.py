"""pdesurrogate's physics: periodic grids, initial conditions, forcings, equations, integrators
and the adaptive stepper that produces training trajectories. Never imports ``pdesurrogate``."""

from .errors import BlowUpError, ParameterError
from .grid import PeriodicGrid
from .stepper import Stepper, rollout

__version__ = "0.1.0"
__all__ = ["BlowUpError", "ParameterError", "PeriodicGrid", "Stepper", "rollout", "__version__"]
