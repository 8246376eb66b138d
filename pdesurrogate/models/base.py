"""What every surrogate shares: the field layout, conditioning, and the checks on its inputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange
from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import nn

from ..errors import UserError
from ..layers import ParameterEmbedding


class ArchitectureError(UserError):
    """An architecture argument that cannot work, refused at construction.

    ``field`` is the constructor argument's name; the CLI turns it into the config key a user
    sets (``model.network.init_args.modes``, or ``data.history`` for settings linked from the data).
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}")
        self.field, self.message = field, message


def require_positive(**values: int) -> None:
    """Refuse widths, depths and counts that are not integers >= 1, by name."""
    for field, value in values.items():
        if not (isinstance(value, int) and value >= 1):
            raise ArchitectureError(field, f"must be an integer >= 1 (got {value!r})")


def grid_shape(resolution: int | Sequence[int] | None) -> tuple[int, int] | None:
    """``(ny, nx)`` of a resolution given as ``n`` (square) or ``[ny, nx]``; ``None`` stays ``None``."""
    if resolution is None:
        return None
    if isinstance(resolution, int):
        return resolution, resolution
    shape = tuple(int(n) for n in resolution)
    if len(shape) != 2:
        raise ArchitectureError("resolution", f"must be n or [ny, nx] (got {list(resolution)})")
    return shape


class Surrogate(HyperparametersMixin, nn.Module):
    """Maps ``history`` frames of ``variables`` to the next ``future`` frames.

    Fields are ``(batch, time, variable, y, x)``; architectures see them as channels
    ``time·variable`` through :meth:`forward_channels`. With ``conditioning`` names the model also
    takes per-sample parameters ``(batch, len(conditioning))`` in that order; without, it is the
    same class with no embedding, so conditioned and unconditioned variants differ only in config.

    Subclasses call :meth:`save_hyperparameters` so that their init arguments can rebuild them
    from a checkpoint (which stores those arguments and the state_dict, never the module).

    Args:
        variables: field names in channel order (linked from the data by the CLI).
        history: input frames per variable ``k``.
        future: output frames per variable ``m``.
        conditioning: names of the per-sample parameters the model is conditioned on.
        resolution: the training grid size, ``n`` (square) or ``[ny, nx]`` (``None``: unknown), given
            by the CLI from the dataset;
            used to check at construction that the architecture fits the grid, and stored in
            checkpoints so that evaluation on another grid is refused (resolution-dependent models).
        embedding_dim: width of the conditioning vector.
        log_parameters: conditioning parameters embedded through their logarithm.
    """

    #: Whether trained weights apply unchanged on another grid (checked against the data).
    resolution_independent = False
    #: Whether the model runs the dataset's physics (and so needs :meth:`bind_dataset`).
    uses_physics = False

    def __init__(self, variables: Sequence[str], history: int, future: int, conditioning: Sequence[str] = (),
                 resolution: int | list[int] | None = None, embedding_dim: int = 64,
                 log_parameters: Sequence[str] = ("viscosity",)):
        super().__init__()
        require_positive(history=history, future=future, embedding_dim=embedding_dim)
        if not variables:
            raise ArchitectureError("variables", "must name at least one field")
        self.variables, self.history, self.future = list(variables), history, future
        self.conditioning = list(conditioning)
        self.resolution = resolution
        self.grid_shape = grid_shape(resolution)
        self.in_channels = history * len(self.variables)
        self.out_channels = future * len(self.variables)
        self.embedding_dim = embedding_dim if self.conditioning else None
        self.parameter_embedding = (
            ParameterEmbedding(self.conditioning, embedding_dim, log_parameters) if self.conditioning else None
        )

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, fields: torch.Tensor, parameters: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(fields, parameters)
        embedding = self.parameter_embedding(parameters) if self.parameter_embedding is not None else None
        out = self.forward_channels(rearrange(fields, "b t c y x -> b (t c) y x"), embedding)
        return rearrange(out, "b (t c) y x -> b t c y x", t=self.future)

    def forward_channels(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    # --- what a model may need from the data (a pure network needs none of it) -------------------
    def use_normaliser(self, normaliser) -> None:
        """Given the training module's field normaliser (a model that needs physical units)."""

    def bind_dataset(self, config, time_stride: int = 1, source: str = "data.root") -> None:
        """Given the generation config of the dataset the model meets (``None`` for imported
        data) and the saved frames per model frame; a model whose computation depends on the
        dataset's physics takes or checks it here, refusing other physics in one line."""

    def check_trained(self, init_args: dict, source: str = "the checkpoint") -> None:
        """Refuse a checkpoint's stored arguments ``init_args`` that disagree with the data
        bound by :meth:`bind_dataset` (beyond what the training module already compares)."""

    def _check_inputs(self, fields: torch.Tensor, parameters: torch.Tensor | None) -> None:
        expected = (self.history, len(self.variables))
        if fields.ndim != 5 or tuple(fields.shape[1:3]) != expected:
            raise ValueError(
                f"fields must be (batch, history={self.history}, variables={len(self.variables)}, y, x) "
                f"(got {tuple(fields.shape)})"
            )
        if self.conditioning:
            if parameters is None or tuple(parameters.shape) != (fields.shape[0], len(self.conditioning)):
                got = None if parameters is None else tuple(parameters.shape)
                raise ValueError(f"parameters must be (batch, {len(self.conditioning)}) for conditioning "
                                 f"{self.conditioning} (got {got})")
