"""Argument checks shared by the solvers: each failure names the argument and what is accepted."""

from __future__ import annotations

import math

import torch

from .errors import ParameterError


def require(condition: bool, name: str, accepted: str, got) -> None:
    if not condition:
        raise ParameterError(f"{name} must be {accepted} (got {got!r})")


def check_resolution(n: int, name: str = "resolution", minimum: int = 8) -> None:
    require(
        isinstance(n, int) and not isinstance(n, bool) and n >= minimum and n % 2 == 0,
        name,
        f"an even integer >= {minimum}",
        n,
    )


def per_sample(
    value,
    name: str,
    *,
    dtype: torch.dtype,
    device: torch.device | str,
    minimum: float | None = None,
    strictly_positive: bool = False,
) -> torch.Tensor:
    """A physical parameter as a ``(batch,)`` tensor (a scalar becomes shape ``(1,)``).

    Tensors keep their autograd graph so that inverse design can differentiate through them.
    """
    if isinstance(value, torch.Tensor):
        tensor = value.to(dtype=dtype, device=device)
        if tensor.ndim == 0:
            tensor = tensor.reshape(1)
        require(tensor.ndim == 1, name, "a scalar or a (batch,) tensor", tuple(tensor.shape))
    else:
        require(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            name,
            "a finite number or a (batch,) tensor",
            value,
        )
        tensor = torch.tensor([float(value)], dtype=dtype, device=device)
    values = tensor.detach()
    require(bool(torch.isfinite(values).all()), name, "finite", values.tolist())
    if strictly_positive:
        require(bool((values > 0).all()), name, "> 0", values.tolist())
    elif minimum is not None:
        require(bool((values >= minimum).all()), name, f">= {minimum}", values.tolist())
    return tensor


def batch_size_of(*params: torch.Tensor) -> int:
    """The common batch size of per-sample parameters (size-1 parameters broadcast)."""
    sizes = {p.shape[0] for p in params if p.shape[0] != 1}
    if len(sizes) > 1:
        raise ParameterError(f"per-sample parameters must share one batch size (got sizes {sorted(sizes)})")
    return sizes.pop() if sizes else 1
