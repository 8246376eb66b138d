"""Initial fields for the solvers, one module per equation family.

- :mod:`.vorticity`: vorticity ``(batch, n, n)`` for both Navier–Stokes solvers (Gaussian random
  fields, band-limited velocity, Taylor–Green);
- :mod:`.shallow_water`: ``(h, u, v)`` on the C-grid, balanced on the discrete operators.

The vorticity initial conditions are also importable from here, where they have always been.
"""

from .vorticity import filtered_velocity, gaussian_random_field, taylor_green, taylor_green_exact, velocity_from_vorticity

__all__ = ["filtered_velocity", "gaussian_random_field", "taylor_green", "taylor_green_exact", "velocity_from_vorticity"]
