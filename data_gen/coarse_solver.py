"""The dataset's own solver on a coarse grid: the baseline a surrogate of that dataset has to beat.

A dataset is simulated on ``sim_resolution²`` and saved on ``saved_resolution²`` by spectral
truncation. Its *coarse solver* is the same equation, forcing, drag, scheme, CFL rule and output
cadence (everything in the generation config that the manifest stores verbatim) run on a coarser
grid, started from a saved frame. On the saved grid it needs nothing a surrogate does not have;
on a grid between the saved and the simulated one the saved frame is lifted by spectral
zero-padding (:func:`data_gen.simulation.spectral_pad`): the modes the saved grid lacks are set to
zero, which is all a saved frame knows of them, and every frame is truncated back to the saved grid.
At the simulation grid, started from a saved frame that the simulation truncated, the coarse solver
differs from the data only by the modes that truncation dropped.

The rollout is differentiable (the adaptive step sizes come from detached speeds, as in
:class:`~data_gen.simulation.Simulation`), so a learned correction can be trained through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import torch

from .dataset.config import Constant, DatasetConfig
from .errors import BlowUpError, ParameterError
from .simulation import STATE_VARIABLES, Simulation


class CoarseSolver:
    """``config``'s solver on a ``resolution²`` grid (default: the saved grid), saved-grid frames in and out.

    Args:
        config: the dataset's generation config (``parse_config(manifest["config"])``).
        resolution: the grid the solver runs on, from the saved resolution up to the simulation one.
        device: where to run.
        dtype: overrides the config's precision.
    """

    def __init__(self, config: DatasetConfig, resolution: int | None = None, device: torch.device | str = "cpu",
                 dtype: torch.dtype | None = None):
        if config.equation not in STATE_VARIABLES:
            raise ParameterError(f"equation {config.equation!r} has no coarse solver (available for: "
                                 f"{', '.join(STATE_VARIABLES)})")
        resolution = config.saved_resolution if resolution is None else resolution
        if not (isinstance(resolution, int) and not isinstance(resolution, bool) and resolution % 2 == 0
                and config.saved_resolution <= resolution <= config.sim_resolution):
            raise ParameterError(f"resolution must be an even integer from the saved resolution "
                                 f"{config.saved_resolution} to the simulation resolution {config.sim_resolution} "
                                 f"(got {resolution!r})")
        missing = [v for v in STATE_VARIABLES[config.equation] if v not in config.variables]
        if missing:
            raise ParameterError(f"variables: the dataset does not save {missing}, which the {config.equation} "
                                 f"solver needs to start from a saved frame (it saves {list(config.variables)})")
        self.config = config
        self.resolution = resolution
        self.simulation = Simulation(dataclasses.replace(config, sim_resolution=resolution), device, dtype)

    @property
    def state_variables(self) -> tuple[str, ...]:
        """The saved variables a run starts from, in the order :meth:`rollout` takes them."""
        return self.simulation.state_variables

    @property
    def variables(self) -> tuple[str, ...]:
        """The saved variables :meth:`rollout` returns, in the dataset's order."""
        return self.simulation.variables

    @property
    def save_interval(self) -> float:
        return self.config.time.save_interval

    @property
    def dtype(self) -> torch.dtype:
        return self.simulation.grid.dtype

    def parameters(self, per_sample: Mapping[str, np.ndarray | torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every parameter the equation takes, per sample, from a split's ``(sample,)`` variables
        (``viscosity`` and every swept one); the config's constants fill in the rest."""
        names = ["viscosity", *self.config.sampled]
        batch = len(per_sample["viscosity"])
        given = {}
        for name in names:
            if name in per_sample:
                given[name] = torch.as_tensor(np.asarray(per_sample[name], dtype=np.float64))
            elif name == "viscosity" or not isinstance(self.config.sampled[name][1], Constant):
                raise ParameterError(f"parameter {name!r} varies between samples in this dataset, but the split "
                                     f"does not record it (it records {sorted(per_sample)})")
        return self.simulation.parameters(batch, **given)

    def rollout(self, fields: torch.Tensor, parameters: Mapping[str, torch.Tensor], frames: int) -> torch.Tensor:
        """The ``frames`` saved frames after ``fields``: ``(batch, frames, variables, n_s, n_s)``.

        ``fields`` is a saved frame ``(batch, state variables, n_s, n_s)``; the result is in the
        solver's precision, with gradients to ``fields`` and to the parameters.
        """
        expected = (len(self.state_variables), self.config.saved_resolution, self.config.saved_resolution)
        if fields.ndim != 4 or tuple(fields.shape[1:]) != expected:
            raise ParameterError(f"fields must be (batch, {', '.join(map(str, expected))}) saved-grid "
                                 f"{'/'.join(self.state_variables)} (got {tuple(fields.shape)})")
        device = self.simulation.grid.device
        parameters = {k: v.to(device=device, dtype=self.dtype) for k, v in parameters.items()}
        return self.simulation.run(fields.to(device), parameters, frames)

    def step(self, fields: torch.Tensor, parameters: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """One saved interval: ``(batch, variables, n_s, n_s)``."""
        return self.rollout(fields, parameters, 1)[:, 0]

    @torch.no_grad()
    def rollout_or_nan(self, fields: torch.Tensor, parameters: Mapping[str, torch.Tensor], frames: int) -> torch.Tensor:
        """:meth:`rollout` without gradients, where a sample that blows up gives NaN frames instead
        of failing its batch (a diverged baseline is reported as diverged, never dropped)."""
        try:
            return self.rollout(fields, parameters, frames)
        except BlowUpError:
            if fields.shape[0] == 1:
                n = self.config.saved_resolution
                return torch.full((1, frames, len(self.variables), n, n), float("nan"), dtype=self.dtype,
                                  device=fields.device)
        return torch.cat([self.rollout_or_nan(fields[i: i + 1], {k: v[i: i + 1] for k, v in parameters.items()},
                                              frames) for i in range(fields.shape[0])])
