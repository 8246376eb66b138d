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

import numpy as np
import torch

from .checks import require
from .compilation import CompiledEvaluation
from .equations.base import Equation
from .errors import BlowUpError, ParameterError
from .integrators import INTEGRATORS, make_integrator
from .stability import ALLOWED_GROWTH, SMALLEST_STEP_FRACTION, growth_limited_step


# A growth-limited step is kept while a sample's speed stays within this factor of the speed it
# was computed for (a few per cent more steps, instead of the search at every step).
_GROWTH_HEADROOM = 1.05


class Stepper:
    """Advance ``equation`` by ``interval`` with the integrator ``scheme`` and adaptive substeps.

    Args:
        equation: any :class:`~data_gen.equations.base.Equation`.
        interval: simulated time between outputs (> 0).
        scheme: integrator name (``None``: the equation's default).
        cfl: CFL number in ``(0, equation.max_cfl(scheme)]``; ``dt ≤ cfl · dx / max speed``
            (equations may add limits, e.g. explicit diffusion).
        max_dt: optional upper bound on the inner step (fixed-step runs, convergence studies).
        collapse_factor: a sample whose CFL step falls below this fraction of its first one in
            the rollout (at most the interval, so a flow spun up from rest counts from there) is
            declared blown up: its speed ran away rather than the scheme going unstable.
        compile: evaluate the explicit terms with ``torch.compile`` (eager fallback) where the
            equation gains from it (:mod:`data_gen.compilation`); results equal eager to round-off.
    """

    def __init__(
        self,
        equation: Equation,
        interval: float,
        scheme: str | None = None,
        cfl: float = 0.5,
        max_dt: float | None = None,
        collapse_factor: float = 1e-4,
        compile: bool = False,
    ):
        require(isinstance(interval, (int, float)) and interval > 0 and math.isfinite(interval),
                "interval", "a finite number > 0", interval)
        require(isinstance(cfl, (int, float)) and cfl > 0, "cfl", "a number > 0", cfl)
        require(max_dt is None or (isinstance(max_dt, (int, float)) and max_dt > 0), "max_dt", "None or > 0", max_dt)
        require(0 < collapse_factor < 1, "collapse_factor", "in (0, 1)", collapse_factor)
        self.equation = equation
        # The integrator sees the compiled evaluation, the stepper the equation itself.
        evaluated = CompiledEvaluation(equation) if compile and equation.compiles_well else equation
        self.integrator = make_integrator(scheme, evaluated)
        ceiling = equation.max_cfl(self.integrator.stability_region())
        require(cfl <= ceiling, "cfl",
                f"in (0, {ceiling:.3g}] for the {self.integrator.name} scheme on {type(equation).__name__}", cfl)
        self.interval = float(interval)
        self.cfl = float(cfl)
        self.max_dt = max_dt
        self.collapse_factor = collapse_factor
        self.reference_dt: np.ndarray | None = None  # per-sample CFL step at the rollout's start
        self.substeps = 0  # total inner steps taken (a diagnostic for benchmarks)
        # (interval, reference speed, growth-limited step) per sample, for schemes without
        # imaginary-axis stability (see _growth_limited).
        self._growth_cache: tuple[float, torch.Tensor, torch.Tensor] | None = None

    def reset(self) -> None:
        """Forget the reference step used by blow-up detection (start of a new rollout)."""
        self.reference_dt = None
        self._growth_cache = None

    def __call__(self, fields: torch.Tensor) -> torch.Tensor:
        eq = self.equation
        return eq.decode(self.advance(eq.encode(fields)))

    def _stable_dt(self, speed: torch.Tensor, interval: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The stable step (at most ``interval``) and the step to take (also at most ``max_dt``).

        The equation's CFL step is stable for schemes whose stability region covers a stretch of
        the imaginary axis (``cfl`` is checked against it); a scheme without one gets the largest
        step that keeps every mode's growth within :data:`~data_gen.stability.ALLOWED_GROWTH`
        per output interval, and is refused if that step is too small to be worth taking.
        """
        integrator = type(self.integrator)
        cfl_limit = self.equation.time_step_limit(speed, self.cfl, integrator.stability_region()).clamp(max=interval)
        if integrator.imaginary_axis_stability == 0:
            cfl_limit = self._growth_limited(cfl_limit, speed, interval)
        if self.max_dt is None:
            return cfl_limit, cfl_limit
        return cfl_limit, cfl_limit.clamp(max=self.max_dt)

    def _growth_limited(self, cfl_limit: torch.Tensor, speed: torch.Tensor, interval: float) -> torch.Tensor:
        """``cfl_limit`` lowered to the growth-limited step of :func:`growth_limited_step`.

        That search costs about as much as a small step, so each sample keeps its step for a speed
        ``_GROWTH_HEADROOM`` above the one it was computed at, and recomputes only when its speed
        leaves that band: growth at a fixed step rises with the speed (for Euler– and Heun–CN,
        ``|R|²`` is increasing in ``|λ_E| dt``), so a step kept for a slower flow stays within the
        allowance. The decision is per sample, so a sample's steps do not depend on its batchmates.
        """
        speed = speed.to(torch.float64)
        if not bool(torch.isfinite(speed).all()):
            return cfl_limit  # a blow-up, which the caller reports; there is no step to search for
        cache = self._growth_cache
        if cache is None or cache[0] != interval or cache[1].shape != speed.shape:
            stale = torch.ones_like(speed, dtype=torch.bool)
        else:
            stale = (speed > cache[1]) | (speed < cache[1] / _GROWTH_HEADROOM**2)
        if not bool(stale.any()):
            return torch.minimum(cfl_limit, cache[2].to(cfl_limit.dtype))
        reference = speed * _GROWTH_HEADROOM
        modes = self.equation.stability_modes(reference)
        if modes is None:
            return cfl_limit
        cfl_at_reference = self.equation.time_step_limit(reference.to(speed.dtype), self.cfl,
                                                          self.integrator.stability_region())
        step = growth_limited_step(type(self.integrator), *modes, cfl_at_reference.clamp(max=interval).to(torch.float64),
                                   interval)
        refused = torch.isnan(step) & stale
        if bool(refused.any()):
            stable = [s for s in self.equation.schemes if INTEGRATORS[s].imaginary_axis_stability > 0]
            name = self.integrator.name
            raise ParameterError(
                f"scheme must be one stable for advection ({', '.join(stable)}) at this viscosity and flow speed "
                f"(got {name!r}): {name} has no imaginary-axis stability, and keeping every mode's growth within "
                f"{ALLOWED_GROWTH:g} per output interval would need steps below {SMALLEST_STEP_FRACTION:g} of "
                f"the CFL step (time.cfl does not help: the growth, not the CFL number, sets its step)"
            )
        if cache is not None and cache[0] == interval and cache[1].shape == speed.shape:
            reference = torch.where(stale, reference, cache[1])
            step = torch.where(stale, step, cache[2])
        self._growth_cache = (interval, reference, step)
        return torch.minimum(cfl_limit, step.to(cfl_limit.dtype))

    def check_first_step(self, fields: torch.Tensor) -> None:
        """Choose the first step for ``fields`` without taking it: refuses a scheme that cannot
        advance this flow stably at a reasonable cost (config checks call it before a run)."""
        _, speed = self.equation.explicit_terms_and_max_speed(self.equation.encode(fields))
        self._stable_dt(speed.detach(), self.interval)

    def advance(self, state: torch.Tensor, interval: float | None = None, t_start: float = 0.0) -> torch.Tensor:
        """Advance an encoded state by ``interval`` (default: the stepper's)."""
        interval = self.interval if interval is None else float(interval)
        eq = self.equation
        evaluate = self.integrator.equation.explicit_terms_and_max_speed  # compiled, if asked
        # The step bookkeeping lives on the host: one (3, batch) transfer per step replaces some
        # thirty tiny device ops (each a kernel launch on a GPU, a few µs of dispatch on a CPU),
        # and the loop needs the host's answer ("any steps left?") every step anyway.
        steps_left = dt = step_dt = None
        elapsed = np.zeros(state.shape[0])
        while True:
            explicit0, speed = evaluate(state)
            speed = speed.detach()
            cfl_limit, limit = self._stable_dt(speed, interval)
            host = torch.stack((speed.to(cfl_limit.dtype), cfl_limit, limit)).cpu().to(torch.float64).numpy()
            host_speed, host_cfl, host_limit = host
            if not np.isfinite(host_speed).all():
                self._report_nonfinite(state, ~np.isfinite(host_speed), t_start + elapsed)
            if self.reference_dt is None:
                self.reference_dt = host_cfl
            if steps_left is None:
                steps_left = np.maximum(np.ceil(interval / host_limit), 1.0)
                dt = interval / steps_left
            else:
                # The flow sped up past the CFL limit: spread what is left over more steps.
                shrink = (steps_left > 0) & (dt > host_limit * (1 + 1e-6))
                if shrink.any():
                    remaining = steps_left * dt
                    steps_left = np.where(shrink, np.ceil(remaining / host_limit), steps_left)
                    dt = np.where(shrink, remaining / np.maximum(steps_left, 1.0), dt)
            active = steps_left > 0
            self._check_collapse(host_cfl, active, t_start + elapsed)
            host_step = np.where(active, dt, 0.0)
            if step_dt is None or not np.array_equal(host_step, step_dt[0]):
                # A new tensor only when the steps change: integrators cache their coefficients on it.
                step_dt = (host_step, torch.tensor(host_step, dtype=eq.grid.dtype, device=state.device))
            state = self.integrator.step(state, step_dt[1], explicit0)
            elapsed = elapsed + host_step
            self.substeps += 1
            steps_left = steps_left - active
            if not (steps_left > 0).any():
                break
        invalid, reason = eq.invalid_samples(state)
        if bool(invalid.any()):
            raise BlowUpError(reason, invalid.nonzero().flatten().tolist(), t_start + interval)
        return state

    def _report_nonfinite(self, state: torch.Tensor, nonfinite: np.ndarray, time: np.ndarray) -> None:
        # The equation may know the cause (a negative depth makes the wave speed NaN).
        invalid, reason = self.equation.invalid_samples(state)
        invalid = invalid.cpu().numpy()
        bad = np.flatnonzero(nonfinite | invalid)
        reason = reason if invalid.any() else "non-finite velocity"
        raise BlowUpError(reason, bad.tolist(), float(time[bad].min()))

    def _check_collapse(self, limit: np.ndarray, active: np.ndarray, time: np.ndarray) -> None:
        collapsed = (limit < self.collapse_factor * self.reference_dt) & active
        if collapsed.any():
            bad = np.flatnonzero(collapsed)
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
