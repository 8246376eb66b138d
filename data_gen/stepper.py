"""Adaptive time stepping to a fixed output cadence, and the one ``rollout`` function.

A :class:`Stepper` is a callable ``fields -> fields`` that advances by one output ``interval``.
Inside it, every sample takes its own CFL-limited step ``dt_i = interval / n_i``: its trajectory
depends on nothing but its own state, so results do not change with batch size or batchmates.
The output time is hit exactly (``n_i`` equal steps), and ``dt_i`` is cut mid-interval only if
the flow speeds up past the CFL limit. Samples that finish early take zero-length steps, which
every integrator maps to the identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .checks import require
from .equations.base import Equation
from .errors import BlowUpError
from .integrators import make_integrator


class Stepper:
    """Advance ``equation`` by ``interval`` with the integrator ``scheme`` and adaptive substeps.

    Args:
        equation: any :class:`~data_gen.equations.base.Equation`.
        interval: simulated time between outputs (> 0).
        scheme: integrator name (``None``: the equation's default).
        cfl: CFL number in (0, 1]; ``dt ≤ cfl · dx / max speed`` (equations may add limits).
        max_dt: optional upper bound on the inner step (fixed-step runs, convergence studies).
        collapse_factor: a sample whose stable step falls below this fraction of its first
            stable step in the rollout is declared blown up.
    """

    def __init__(
        self,
        equation: Equation,
        interval: float,
        scheme: str | None = None,
        cfl: float = 0.5,
        max_dt: float | None = None,
        collapse_factor: float = 1e-3,
    ):
        require(isinstance(interval, (int, float)) and interval > 0 and math.isfinite(interval),
                "interval", "a finite number > 0", interval)
        require(isinstance(cfl, (int, float)) and 0 < cfl <= 1, "cfl", "in (0, 1]", cfl)
        require(max_dt is None or (isinstance(max_dt, (int, float)) and max_dt > 0), "max_dt", "None or > 0", max_dt)
        require(0 < collapse_factor < 1, "collapse_factor", "in (0, 1)", collapse_factor)
        self.equation = equation
        self.integrator = make_integrator(scheme, equation)
        self.interval = float(interval)
        self.cfl = float(cfl)
        self.max_dt = max_dt
        self.collapse_factor = collapse_factor
        self.reference_dt: torch.Tensor | None = None
        self.substeps = 0  # total inner steps taken (a diagnostic for benchmarks)

    def reset(self) -> None:
        """Forget the reference step used by blow-up detection (start of a new rollout)."""
        self.reference_dt = None

    def __call__(self, fields: torch.Tensor) -> torch.Tensor:
        eq = self.equation
        return eq.decode(self.advance(eq.encode(fields)))

    def _stable_dt(self, speed: torch.Tensor, interval: float) -> torch.Tensor:
        limit = self.equation.time_step_limit(speed, self.cfl)
        if self.max_dt is not None:
            limit = limit.clamp(max=self.max_dt)
        return limit.clamp(max=interval)

    def advance(self, state: torch.Tensor, interval: float | None = None, t_start: float = 0.0) -> torch.Tensor:
        """Advance an encoded state by ``interval`` (default: the stepper's)."""
        interval = self.interval if interval is None else float(interval)
        eq = self.equation
        steps_left = dt = None
        while True:
            explicit0, speed = eq.explicit_terms_and_max_speed(state)
            limit = self._stable_dt(speed.detach(), interval)
            if steps_left is None:
                steps_left = torch.ceil(interval / limit).clamp(min=1)
                dt = interval / steps_left
                if self.reference_dt is None:
                    self.reference_dt = limit
            else:
                # The flow sped up past the CFL limit: spread what is left over more steps.
                shrink = (steps_left > 0) & (dt > limit * (1 + 1e-6))
                remaining = steps_left * dt
                steps_left = torch.where(shrink, torch.ceil(remaining / limit), steps_left)
                dt = torch.where(shrink, remaining / steps_left.clamp(min=1), dt)
            self._check(speed, limit, t_start + interval - steps_left * dt)
            active = steps_left > 0
            state = self.integrator.step(state, torch.where(active, dt, torch.zeros_like(dt)), explicit0)
            self.substeps += 1
            steps_left = steps_left - active.to(steps_left.dtype)
            if not bool(steps_left.max() > 0):
                break
        invalid, reason = eq.invalid_samples(state)
        if bool(invalid.any()):
            raise BlowUpError(reason, invalid.nonzero().flatten().tolist(), t_start + interval)
        return state

    def _check(self, speed: torch.Tensor, limit: torch.Tensor, time: torch.Tensor) -> None:
        nonfinite = ~torch.isfinite(speed)
        collapsed = (limit < self.collapse_factor * self.reference_dt) & ~nonfinite
        flags = torch.stack((nonfinite.any(), collapsed.any())).tolist()
        if flags[0]:
            bad = nonfinite.nonzero().flatten()
            raise BlowUpError("non-finite velocity", bad.tolist(), float(time[bad].min()))
        if flags[1]:
            bad = collapsed.nonzero().flatten()
            raise BlowUpError(
                f"CFL step collapsed below {self.collapse_factor:g} × its initial value "
                f"(speed grew {1 / self.collapse_factor:g}-fold)",
                bad.tolist(),
                float(time[bad].min()),
            )


def rollout(
    stepper: Stepper,
    fields: torch.Tensor,
    num_steps: int,
    *,
    include_initial: bool = True,
    t_start: float = 0.0,
    record: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """The trajectory ``(batch, time, ...)`` at ``t_start + k·interval``, ``k = 0 … num_steps``.

    ``record`` maps each decoded frame before it is kept (e.g. spectral truncation to the saved
    resolution and a cast to float32), so memory holds only what will be saved.
    """
    require(isinstance(num_steps, int) and num_steps >= 0, "num_steps", "an integer >= 0", num_steps)
    eq = stepper.equation
    record = record or (lambda frame: frame)
    stepper.reset()
    state = eq.encode(fields)
    frames = [record(eq.decode(state))] if include_initial else []
    steps = range(num_steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="rollout", unit="frame")
    for k in steps:
        state = stepper.advance(state, t_start=t_start + k * stepper.interval)
        frames.append(record(eq.decode(state)))
    return torch.stack(frames, dim=1)
