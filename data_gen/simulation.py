"""A dataset config's solver as a differentiable map from saved-resolution fields to saved frames.

The dataset writer (:mod:`data_gen.dataset.simulate`) runs under ``no_grad`` and streams frames to
disk. Inverse problems need the same physics with gradients: the same builder, equation, stepper
and saved-field reduction, entered from fields at the *saved* resolution (what a surrogate sees and
what an optimiser designs) and returning frames at the saved resolution. Gradients flow to the
initial fields and to every per-sample parameter (viscosity, forcing amplitude or coefficients);
the adaptive step sizes are chosen from detached speeds, so they are
piecewise constant in the inputs, as a fixed-step solver's would be.

Fields enter as ``(batch, variables, n_saved, n_saved)`` in the order of ``state_variables``
(Navier–Stokes: vorticity; shallow water: height, u, v, all at the cell centres as saved) and
are lifted to the simulation grid by trigonometric interpolation (zero-padding the spectrum,
then for the C-grid moving u and v half a cell onto their faces).
"""

from __future__ import annotations

import torch

from .dataset.config import Constant, DatasetConfig, Uniform
from .dataset.plan import sample_parameters
from .equations.shallow_water import spectral_shift
from .grid import PeriodicGrid
from .spectral import irfft2, rfft2, spectral_truncate
from .stepper import rollout

STATE_VARIABLES = {"navier_stokes": ("vorticity",), "shallow_water": ("height", "u", "v")}


def spectral_pad(field: torch.Tensor, n_out: int) -> torch.Tensor:
    """Trigonometric interpolation of a periodic field ``(..., n, n)`` onto a finer ``n_out`` grid.

    The inverse of :func:`~data_gen.spectral.spectral_truncate` for a field it produced: the kept
    modes ``|kx|, |ky| < n/2`` are copied and the rest are zero, so truncating back is exact.
    """
    n = field.shape[-1]
    if n_out == n:
        return field
    half = n // 2
    coeffs = rfft2(field, norm="forward")
    padded = torch.zeros(*field.shape[:-2], n_out, n_out // 2 + 1, dtype=coeffs.dtype, device=coeffs.device)
    padded[..., :half, :half] = coeffs[..., :half, :half]
    padded[..., n_out - half + 1:, :half] = coeffs[..., n - half + 1:, :half]
    return irfft2(padded, s=(n_out, n_out), norm="forward")


class Simulation:
    """The solver of ``config`` at its simulation resolution, differentiable end to end.

    Args:
        config: a dataset config (e.g. ``parse_settings(manifest["config"])`` of a dataset).
        device: where to simulate.
        dtype: overrides the config's precision (float64 for gradient checks).
    """

    def __init__(self, config: DatasetConfig, device: torch.device | str = "cpu", dtype: torch.dtype | None = None):
        self.config = config
        self.grid = PeriodicGrid(config.sim_resolution, config.domain_length, dtype or config.dtype, device)
        self.state_variables = STATE_VARIABLES[config.equation]
        self.calls = 0  # solver runs so far (the cost a design route reports)

    @property
    def saved_resolution(self) -> int:
        return self.config.saved_resolution

    @property
    def variables(self) -> tuple[str, ...]:
        """The saved variables, in the order :meth:`run` returns them."""
        return tuple(self.config.variables)

    # --- parameters ---------------------------------------------------------------------------
    def parameters(self, batch: int, **given: torch.Tensor | float) -> dict[str, torch.Tensor]:
        """Every per-sample parameter the equation takes: ``given`` ones, then the config's constants.

        A parameter the config draws from a range has no single value, so it must be given.
        """
        kw = dict(dtype=self.grid.dtype, device=self.grid.device)
        values = {}
        names = ["viscosity", *self.config.sampled]
        unknown = set(given) - set(names)
        if unknown:
            raise KeyError(f"unknown parameter(s) {sorted(unknown)}; this config has {names}")
        for name in names:
            if name in given:
                values[name] = torch.as_tensor(given[name], **kw).expand(batch)
                continue
            law = self.config.sampled[name][1] if name != "viscosity" else None
            if not isinstance(law, Constant):
                raise KeyError(f"parameter {name!r} varies between samples in this config "
                               f"({law.to_config() if isinstance(law, Uniform) else 'per split'}); give its value")
            values[name] = torch.full((batch,), law.value, **kw)
        return values

    # --- fields -------------------------------------------------------------------------------
    def lift(self, fields: torch.Tensor) -> torch.Tensor:
        """Saved-resolution ``(batch, state variables, n_s, n_s)`` to the fields the stepper takes."""
        fine = spectral_pad(fields.to(self.grid.dtype), self.grid.n)
        if self.config.equation == "navier_stokes":
            return fine[:, 0]
        h, u, v = fine.unbind(dim=1)  # cell centres -> C-grid faces (to_output moved them by -1/2)
        return torch.stack((h, spectral_shift(u, 0.5, 0.0), spectral_shift(v, 0.0, 0.5)), dim=1)

    def reduce(self, equation, fields: torch.Tensor) -> torch.Tensor:
        """Simulated fields to the saved variables at the saved resolution (as the dataset holds them)."""
        saved = self.config.builder.saved_fields(equation, fields, tuple(self.config.variables))
        return spectral_truncate(saved, self.saved_resolution)

    def initial_state(self, seed: int, indices: list[int], parameters: dict[str, torch.Tensor]) -> torch.Tensor:
        """The generator's initial fields for samples ``indices`` of a split seeded ``seed`` after its
        spin-up, on the simulation grid (no gradient: this is where a truth comes from)."""
        config = self.config
        with torch.no_grad():
            equation = config.builder.equation(self.grid, config.sections, parameters)
            fields = config.builder.initial_fields(self.grid, config.sections, seed, indices, parameters)
            if config.time.spinup > 0:
                stepper = self._stepper(equation)
                fields = equation.decode(stepper.advance(equation.encode(fields), interval=config.time.spinup,
                                                         t_start=-config.time.spinup))
        return fields

    def _stepper(self, equation):
        timing = self.config.time
        return self.config.builder.stepper(equation, timing.save_interval, self.config.scheme, timing.cfl,
                                           timing.max_dt)

    # --- running ------------------------------------------------------------------------------
    def run(self, fields: torch.Tensor, parameters: dict[str, torch.Tensor], frames: int, *,
            lifted: bool = False) -> torch.Tensor:
        """The ``frames`` saved frames after ``fields`` (which is frame 0, not returned):
        ``(batch, frames, variables, n_s, n_s)`` in the config's variable order, with gradients.

        ``fields`` are saved-resolution state variables, or simulation-grid fields when ``lifted``.
        """
        self.calls += 1
        start = fields.to(self.grid.dtype) if lifted else self.lift(fields)
        equation = self.config.builder.equation(self.grid, self.config.sections, parameters)
        stepper = self._stepper(equation)
        trajectory = rollout(stepper, start, frames, include_initial=False,
                             record=lambda frame: self.reduce(equation, frame))
        return trajectory

    def trajectory(self, seed: int, indices: list[int], parameters: dict[str, torch.Tensor], frames: int) -> torch.Tensor:
        """A ground-truth trajectory ``(batch, frames + 1, variables, n_s, n_s)`` from the generator's
        own initial condition (frame 0 included), without gradients."""
        config = self.config
        start = self.initial_state(seed, indices, parameters)
        with torch.no_grad():
            equation = config.builder.equation(self.grid, config.sections, parameters)
            stepper = self._stepper(equation)
            return rollout(stepper, start, frames, record=lambda frame: self.reduce(equation, frame))


def split_parameters(config: DatasetConfig, split: str, indices: list[int]) -> dict[str, torch.Tensor]:
    """The per-sample parameters the generator gives samples ``indices`` of ``split`` (float64)."""
    return {name: torch.as_tensor(value) for name, value in
            sample_parameters(config, config.split(split), indices).items()}
