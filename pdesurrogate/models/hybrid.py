"""The hybrid surrogate: the dataset's own solver on the saved grid plus a learned correction.

One model step over a saved interval is

    ω_{n+1} = S(ω_n; ν, …) + P[ N(ω_{n−k+1} … ω_n, S(ω_n)) ]

with ``S`` the coarse solver (:class:`~pdesurrogate.models.coarse_step.CoarseSolver`: the
dataset's equation, forcing, drag, scheme and adaptive step rule, run at the saved resolution),
``N`` a Fourier neural operator built from :mod:`pdesurrogate.layers`, and ``P`` the projection
onto what the coarse grid holds: zero mean, and the modes the saved grid holds (or only those the
solver evolves under its 2/3 rule: ``correction_modes``). The viscosity and every swept
parameter enter through ``S`` per sample, exactly; ``condition_network`` also feeds them to ``N``.
The correction starts at zero (the last layer is zero-initialised): an untrained hybrid *is*
the coarse solver, and training can only move it where the data says the grid fails.

The solver's physics comes from the dataset (:meth:`Hybrid.bind_dataset`, called by the training
module with the data it meets) and is stored among the hyper-parameters as a plain dict, so a
checkpoint meeting data of other physics is refused naming what differs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.checkpoint import checkpoint

from ..errors import UserError
from .base import ArchitectureError, Surrogate
from .coarse_step import CoarseSolver, coarse_physics, physics_differences
from .fno import FNO

CORRECTION_INPUTS = ("history", "history_and_coarse")
CORRECTION_MODES = ("saved", "dealiased")


class Hybrid(Surrogate):
    """Coarse solver step + a projected FNO correction (see the module docstring).

    Args:
        physics: the coarse solver's physics (:func:`~pdesurrogate.models.coarse_step.coarse_physics`);
            ``None`` until the training module binds the dataset's (a config never sets it).
        condition_network: whether the correction network also sees the conditioning parameters
            (FiLM, through their logarithm for ``log_parameters``); the solver always gets them.
        correction_input: ``history`` (the ``history`` true or predicted frames) or
            ``history_and_coarse`` (those and the coarse solver's prediction of the next frame).
        correction_modes: what the correction may change, never the mean: ``saved``, every mode the
            saved grid holds; ``dealiased``, only those the solver evolves (the 2/3 rule). The
            dataset's frames hold modes up to ``n/2 − 1`` (a spectral truncation of a finer
            simulation) but the solver only those up to ``n/3``: on an under-resolved grid the
            modes between carry much of the coarse solver's error (half of it on
            ns_kolmogorov_under_resolved_small, nearly all on ns_ood_small), which ``dealiased``
            cannot correct.
        gradient_checkpointing: recompute each step's solver and network in the backward pass
            instead of keeping their activations (memory per unrolled frame down, time up).
        hidden_channels, layers, modes, lifting_channels, projection_channels: the correction FNO.
        (``variables``, ``history``, ``future``, ``conditioning`` and ``resolution`` as in
        :class:`Surrogate`; ``conditioning`` must list every parameter the solver takes per sample.)
    """

    resolution_independent = False  # the solver runs on the saved grid the physics names
    uses_physics = True

    def __init__(
        self,
        variables: Sequence[str],
        history: int,
        future: int,
        conditioning: Sequence[str] = (),
        resolution: int | None = None,
        physics: dict | None = None,
        condition_network: bool = False,
        correction_input: str = "history_and_coarse",
        correction_modes: str = "saved",
        gradient_checkpointing: bool = False,
        hidden_channels: int = 32,
        layers: int = 4,
        modes: int = 12,
        lifting_channels: int = 64,
        projection_channels: int = 64,
        embedding_dim: int = 64,
        log_parameters: Sequence[str] = ("viscosity",),
    ):
        super().__init__(variables, history, future, conditioning, resolution, embedding_dim, log_parameters)
        self.save_hyperparameters()
        if correction_input not in CORRECTION_INPUTS:
            raise ArchitectureError("correction_input", f"must be one of {', '.join(CORRECTION_INPUTS)} "
                                                        f"(got {correction_input!r})")
        if correction_modes not in CORRECTION_MODES:
            raise ArchitectureError("correction_modes", f"must be one of {', '.join(CORRECTION_MODES)} "
                                                        f"(got {correction_modes!r})")
        self.correction_modes = correction_modes
        if "viscosity" not in self.conditioning:
            raise ArchitectureError("conditioning", "must list viscosity for a Hybrid: its coarse solver takes the "
                                                    f"viscosity of every sample (got {self.conditioning})")
        # The solver takes the parameters; the network's own embedding lives in the correction FNO.
        self.parameter_embedding, self.embedding_dim = None, None
        self.condition_network = condition_network
        self.uses_coarse = correction_input == "history_and_coarse"
        self.gradient_checkpointing = gradient_checkpointing
        self.correction = FNO(
            self.variables, history + int(self.uses_coarse), 1, self.conditioning if condition_network else (),
            resolution, hidden_channels, layers, modes, lifting_channels, projection_channels,
            embedding_dim=embedding_dim, log_parameters=log_parameters,
        )
        # A zero correction to start from: the untrained hybrid is the coarse solver.
        last = self.correction.projection[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
        self.physics = physics
        self._solver: CoarseSolver | None = None
        self._normaliser = None  # the training module's (not a submodule: its buffers are the module's)

    # --- the data's physics and units ------------------------------------------------------------
    def use_normaliser(self, normaliser) -> None:
        object.__setattr__(self, "_normaliser", normaliser)

    @property
    def solver(self) -> CoarseSolver:
        if self.physics is None:
            raise UserError("model.network: this Hybrid has no physics yet; it takes the dataset's when trained "
                            "through `pdesurrogate fit` (or call bind_dataset with the dataset's config)")
        if self._solver is None:
            self._solver = CoarseSolver(self.physics)
        return self._solver

    def bind_dataset(self, config, time_stride: int = 1, source: str = "data.root") -> None:
        """Take the physics of the dataset config ``config`` (or check it against the stored one).

        ``config`` is ``None`` for data without a generation config (imported data), which has no
        coarse solver. Every refusal is one :class:`UserError` naming ``source``.
        """
        if config is None:
            raise UserError(f"{source}: the dataset records no generation config (imported data), so it has no "
                            "coarse solver for a Hybrid; train a pure network (pdesurrogate.models.FNO or UNet)")
        physics = coarse_physics(config, time_stride)
        if self.physics is not None:
            differences = physics_differences(self.physics, physics)
            if differences:
                raise UserError(f"{source}: the Hybrid's coarse solver was built for other physics than this dataset's "
                                f"(model vs data): {'; '.join(differences)}")
            return
        solver = CoarseSolver(physics, source)
        if tuple(self.variables) != solver.state_variables:
            raise UserError(f"data.variables: a Hybrid on {config.equation} predicts the solver's state "
                            f"{list(solver.state_variables)} (got {self.variables})")
        missing = [p for p in solver.parameters_needed if p not in self.conditioning]
        if missing:
            raise UserError(f"data.conditioning: must list {missing} for a Hybrid on this dataset: its coarse solver "
                            f"takes them per sample (got {self.conditioning})")
        if self.resolution is not None and self.resolution != solver.n:
            raise UserError(f"data.root: the saved grid {solver.n}² differs from data.resolution {self.resolution}")
        self.physics, self._solver = physics, solver
        self.hparams["physics"] = physics

    def check_trained(self, init_args: dict, source: str = "the checkpoint") -> None:
        stored = init_args.get("physics")
        if stored is not None and self.physics is not None:
            differences = physics_differences(stored, self.physics)
            if differences:
                raise UserError(f"ckpt_path: {source}'s Hybrid was trained with other physics than the data's "
                                f"(checkpoint vs data): {'; '.join(differences)}")

    def _units(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._normaliser is None:  # used on its own, the fields are in physical units
            return like.new_zeros(len(self.variables), 1, 1), like.new_ones(len(self.variables), 1, 1)
        return (self._normaliser.mean[:, None, None].to(like.dtype), self._normaliser.std[:, None, None].to(like.dtype))

    # --- one step ----------------------------------------------------------------------------
    def coarse_step(self, fields: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
        """The coarse solver alone: physical ``(batch, variables, n, n)`` one interval on."""
        per_sample = {name: parameters[:, i] for i, name in enumerate(self.conditioning)
                      if name in self.solver.parameters_needed}
        return self.solver.step(fields, per_sample)

    def _step(self, window: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
        mean, std = self._units(window)
        coarse = self.coarse_step(window[:, -1] * std + mean, parameters)
        inputs = torch.cat((window, ((coarse - mean) / std)[:, None]), dim=1) if self.uses_coarse else window
        correction = self.correction(inputs, parameters if self.condition_network else None)[:, 0]
        return ((coarse + self.solver.project(correction * std, self.correction_modes) - mean) / std)[:, None]

    def forward(self, fields: torch.Tensor, parameters: torch.Tensor | None = None) -> torch.Tensor:
        """``future`` steps from ``fields`` (normalised as the training module's normaliser does)."""
        self._check_inputs(fields, parameters)
        frames, window = [], fields
        for _ in range(self.future):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                frame = checkpoint(self._step, window, parameters, use_reentrant=False)
            else:
                frame = self._step(window, parameters)
            frames.append(frame)
            window = torch.cat((window, frame), dim=1)[:, -self.history:]
        return torch.cat(frames, dim=1)
