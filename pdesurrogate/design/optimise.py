"""Minimisers over a design variable's unconstrained coordinates: Adam, L-BFGS, cross-entropy.

Each takes ``objective(z) -> (batch,)`` and records, per iteration, the best objective reached so
far, the design that reached it, the wall time and the forward-model calls, so that routes of
different kinds (gradient steps, line searches, populations) are compared on the same axes. An
objective that turns NaN/Inf (or a solver that blows up) stops a gradient route: it keeps the last
good design and says where it stopped. The cross-entropy method just discards such samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ..errors import UserError
from .forward import NonFiniteObjective

METHODS = ("adam", "lbfgs", "cem")
LINE_SEARCH_EVALUATIONS = 20  # at most, per L-BFGS iteration
CEM_MAX_DIMENSION = 64  # a population cannot search a field; use a gradient route for those


@dataclass
class Step:
    iteration: int
    objective: float  # best so far
    seconds: float
    calls: int


@dataclass
class Optimisation:
    z: torch.Tensor  # the best design found, (1, ...)
    objective: float
    trace: list[Step] = field(default_factory=list)
    snapshots: list[torch.Tensor] = field(default_factory=list)  # the best design after each iteration
    stopped: str | None = None  # why it stopped early, if it did

    @property
    def iterations(self) -> int:
        return self.trace[-1].iteration if self.trace else 0


class _Best:
    """The lowest finite objective seen and its design."""

    def __init__(self, z: torch.Tensor):
        self.z, self.value = z.detach().clone(), math.inf

    def offer(self, z: torch.Tensor, values: torch.Tensor) -> None:
        values = values.detach()
        finite = torch.isfinite(values)
        if bool(finite.any()):
            i = int(torch.where(finite, values, torch.full_like(values, math.inf)).argmin())
            if float(values[i]) < self.value:
                self.value, self.z = float(values[i]), z[i:i + 1].detach().clone()


def _checked(values: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(values).all()):
        raise NonFiniteObjective("the objective is not finite")
    return values


def minimise(objective: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, method: str, iterations: int,
             calls: Callable[[], int], *, learning_rate: float = 0.05, population: int = 32,
             elite_fraction: float = 0.2, initial_spread: float = 1.0, seed: int = 0,
             label: str = "design", progress: bool = True) -> Optimisation:
    """Minimise ``objective`` from ``z0`` (``(1, ...)``) for ``iterations`` iterations of ``method``."""
    if method not in METHODS:
        raise UserError(f"method: must be one of {', '.join(METHODS)} (got {method!r})")
    best = _Best(z0)
    result = Optimisation(z0, math.inf)
    start = time.perf_counter()
    bar = tqdm(range(1, iterations + 1), desc=label, unit="it", disable=not progress, leave=False)

    def record(iteration: int) -> None:
        result.trace.append(Step(iteration, best.value, time.perf_counter() - start, calls()))
        result.snapshots.append(best.z.clone())
        bar.set_postfix(objective=f"{best.value:.4g}", refresh=False)

    try:
        with torch.no_grad():
            best.offer(z0, objective(z0))  # iteration 0: where every route starts
        record(0)
        if method == "cem":
            _cross_entropy(objective, z0, bar, best, record, population, elite_fraction, initial_spread, seed)
        else:
            _gradient(objective, z0, method, bar, best, record, learning_rate)
    except NonFiniteObjective as error:
        result.stopped = f"{error} at iteration {len(result.trace)}; kept the last good design"
    finally:
        bar.close()
    result.z, result.objective = best.z, best.value
    return result


def _gradient(objective, z0, method, bar, best, record, learning_rate) -> None:
    z = z0.detach().clone().requires_grad_(True)
    if method == "adam":
        optimiser = torch.optim.Adam([z], lr=learning_rate)
    else:
        # One iteration per step() so that each is recorded; torch gives the line search only
        # max_eval − 1 evaluations, so max_eval must be set, or with max_iter = 1 it gets none.
        optimiser = torch.optim.LBFGS([z], lr=1.0, max_iter=1, max_eval=1 + LINE_SEARCH_EVALUATIONS, history_size=20,
                                      line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        value = _checked(objective(z)).sum()
        value.backward()
        if not bool(torch.isfinite(z.grad).all()):
            raise NonFiniteObjective("the objective's gradient is not finite")
        best.offer(z, value[None])
        return value

    for iteration in bar:
        optimiser.step(closure)
        record(iteration)


def _cross_entropy(objective, z0, bar, best, record, population, elite_fraction, spread, seed) -> None:
    """Sample ``population`` designs around a mean, refit mean and spread to the best ``elite_fraction``."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    mean = z0.detach().clone()
    std = torch.full_like(mean, spread)
    elites = max(2, math.ceil(elite_fraction * population))
    for iteration in bar:
        noise = torch.randn((population, *mean.shape[1:]), generator=generator, dtype=mean.dtype).to(mean.device)
        samples = torch.cat((mean, mean + std * noise[1:]))  # keep the current mean in the population
        with torch.no_grad():
            values = objective(samples)
        values = torch.where(torch.isfinite(values), values, torch.full_like(values, math.inf))
        if not bool(torch.isfinite(values).any()):
            raise NonFiniteObjective("every sample of the population has a non-finite objective")
        best.offer(samples, values)
        chosen = samples[values.argsort()[:elites]]
        # Smoothed refit: keeps the spread from collapsing onto a lucky elite in one iteration.
        mean = 0.3 * mean + 0.7 * chosen.mean(dim=0, keepdim=True)
        std = (0.3 * std + 0.7 * chosen.std(dim=0, keepdim=True)).clamp_min(1e-6)
        record(iteration)


def check_method(method: str, dimension: int, field_name: str) -> None:
    if method == "cem" and dimension > CEM_MAX_DIMENSION:
        raise UserError(f"{field_name}: the cross-entropy method searches at most {CEM_MAX_DIMENSION} numbers; this "
                        f"design variable has {dimension} (use adam or lbfgs)")
