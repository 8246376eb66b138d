"""The two forward models a design route optimises through: the surrogate and the solver.

Both answer the same question, in the same units and layout: given context frames
``(batch, history, variables, n, n)`` on the saved grid and per-sample parameters, what are the next
``frames`` saved frames ``(batch, frames, variables, n, n)``? The surrogate reads every context frame
(its ``history``); the solver's state is the last one, lifted to the simulation grid. Each counts its
calls, so a route can report what it cost.
"""

from __future__ import annotations

import torch

from data_gen.errors import BlowUpError
from data_gen.simulation import Simulation

from ..training import SurrogateModule


class NonFiniteObjective(RuntimeError):
    """The forward model produced NaN/Inf (or the solver blew up) at some design."""


class SurrogateForward:
    name = "surrogate"

    def __init__(self, module: SurrogateModule, device: torch.device, dtype: torch.dtype = torch.float64):
        # float64 by default: the gradients and finite-difference checks of inverse problems need it
        # and a 32² rollout costs little either way.
        self.module = module.to(device=device, dtype=dtype).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.device, self.dtype = device, dtype
        network = module.network
        self.variables = tuple(network.variables)
        self.history = network.history
        self.future = network.future
        self.conditioning = tuple(network.conditioning)
        self.calls = 0

    def predict(self, context: torch.Tensor, parameters: dict[str, torch.Tensor], frames: int) -> torch.Tensor:
        self.calls += context.shape[0]
        context = context[:, -self.history:].to(device=self.device, dtype=self.dtype)
        batch = context.shape[0]
        values = None
        if self.conditioning:
            values = torch.stack([parameters[name].to(device=self.device, dtype=self.dtype).expand(batch)
                                  for name in self.conditioning], dim=-1)
        steps = -(-frames // self.future)
        out = self.module.rollout_physical(context, values, steps)[:, :frames]
        if not bool(torch.isfinite(out).all()):
            raise NonFiniteObjective("the surrogate's rollout is not finite")
        return out


class SolverForward:
    name = "solver"

    def __init__(self, simulation: Simulation, variables: tuple[str, ...]):
        self.simulation = simulation
        self.variables = variables  # the surrogate's variables, in its order
        self._picked = [simulation.variables.index(v) for v in variables]
        self.calls = 0

    def predict(self, context: torch.Tensor, parameters: dict[str, torch.Tensor], frames: int) -> torch.Tensor:
        self.calls += context.shape[0]
        sim = self.simulation
        last = context[:, -1].to(device=sim.grid.device, dtype=sim.grid.dtype)
        state = last[:, [self.variables.index(v) for v in sim.state_variables]]
        values = sim.parameters(context.shape[0], **{k: v.to(device=sim.grid.device, dtype=sim.grid.dtype)
                                                     for k, v in parameters.items()})
        try:
            out = sim.run(state, values, frames)
        except BlowUpError as error:
            raise NonFiniteObjective(f"the solver blew up ({error})") from None
        return out[:, :, self._picked]
