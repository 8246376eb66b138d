"""The dataset's own solver, run on the saved grid over one saved interval: the physics of a hybrid.

A dataset records how it was made (equation, solver, scheme, forcing, drag, step rule); run at the
*saved* resolution instead of the simulated one, the same solver is the cheapest physically
faithful predictor of the next frame, and what it misses is what the coarse grid cannot resolve.

The physics travels as a plain dict (:func:`coarse_physics`): what a checkpoint stores among its
hyper-parameters and what is compared, key by key, with the physics of the data a hybrid meets.
Viscosity and every other per-sample parameter are *not* in it: they are per-sample tensors the
solver takes at each call, so one batch can span a sweep and gradients reach them.

Only the spectral Navier–Stokes solver is offered (see :data:`COARSE_SOLVERS`): the finite-difference
cross-check solver and the shallow-water C-grid solver lift saved fields to another grid
(face-centred velocities) before stepping, which is not a map from saved frames to saved frames.
"""

from __future__ import annotations

import math

import torch

from data_gen.dataset.builders import BUILDERS
from data_gen.dataset.distributions import Constant
from data_gen.dataset.sections import parse_section
from data_gen.dealiased import DealiasedSpectrum
from data_gen.errors import ParameterError
from data_gen.grid import PeriodicGrid
from data_gen.spectral import irfft2, rfft2

from ..errors import UserError

COARSE_SOLVERS = {("navier_stokes", "spectral"): ("vorticity",)}
"""``(equation, solver)`` with a coarse solver here, and the state variables it advances."""

# Sections of a dataset config that describe the flow's physics (the initial condition does not).
NOT_PHYSICS = ("initial_condition",)


def coarse_physics(config, time_stride: int = 1) -> dict:
    """The physics of a dataset config (:class:`data_gen.dataset.config.DatasetConfig`) as plain
    values: what a hybrid needs to advance a saved frame by ``time_stride`` saved intervals."""
    return {
        "equation": config.equation,
        "solver": config.solver,
        "scheme": config.scheme,
        "domain_length": float(config.domain_length),
        "saved_resolution": int(config.saved_resolution),
        "interval": float(config.time.save_interval) * time_stride,
        "cfl": float(config.time.cfl),
        "max_dt": None if config.time.max_dt is None else float(config.time.max_dt),
        "sections": {name: dict(config.resolved[name]) for name in config.builder.sections if name not in NOT_PHYSICS},
    }


def _flat(value, key: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            out.update(_flat(item, f"{key}.{name}" if key else str(name)))
        return out
    return {key: list(value) if isinstance(value, tuple) else value}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b


def physics_differences(trained: dict, data: dict) -> list[str]:
    """``key: trained vs data`` for every physics setting that differs (sections flattened:
    ``forcing.drag``)."""
    ours, theirs = _flat(trained), _flat(data)
    return [f"{key.removeprefix('sections.')}: {ours.get(key)!r} vs {theirs.get(key)!r}"
            for key in sorted(set(ours) | set(theirs)) if not _same(ours.get(key), theirs.get(key))]


class CoarseSolver:
    """Advances saved frames by one interval with the dataset's solver on the saved grid.

    Differentiable in the fields and in every per-sample parameter; the adaptive inner steps are
    chosen from detached speeds (piecewise constant in the inputs, as in :mod:`data_gen.simulation`).

    Args:
        physics: the dict of :func:`coarse_physics`.
        field: the config key that named the data (for error messages).
    """

    def __init__(self, physics: dict, field: str = "data.root"):
        self.physics = physics
        key = (physics.get("equation"), physics.get("solver"))
        if key not in COARSE_SOLVERS:
            offered = ", ".join(f"{e} ({s})" for e, s in COARSE_SOLVERS)
            raise UserError(f"{field}: the dataset's equation {key[0]} ({key[1]} solver) has no coarse solver for a "
                            f"hybrid (offered: {offered}); train a pure network (pdesurrogate.models.FNO or UNet)")
        self.state_variables = COARSE_SOLVERS[key]
        self.builder = BUILDERS[key]
        self.n = int(physics["saved_resolution"])
        if self.n % 2 or self.n < 8:
            raise UserError(f"{field}: the saved grid {self.n}² cannot run the coarse solver (it needs an even "
                            "size >= 8: the spectral solver's wavenumbers and its 2/3 rule assume one)")
        # Settings of each physics section, and the per-sample parameters the data does not vary
        # (constants of its config) apart from those it does (which every call must give).
        self.sections, self.constants, self.varying = {}, {}, []
        for name, section in self.builder.sections.items():
            if name in NOT_PHYSICS:
                continue
            self.sections[name], sampled, _ = parse_section(physics["sections"].get(name), name, section)
            for parameter_name, (_, law) in sampled.items():
                if isinstance(law, Constant):
                    self.constants[parameter_name] = float(law.value)
                else:
                    self.varying.append(parameter_name)
        self.cutoff = self.builder.highest_retained_wavenumber(self.n)
        self._grids: dict[tuple, PeriodicGrid] = {}
        self._masks: dict[str, torch.Tensor] = {}
        self._check_forcing(field)

    @property
    def parameters_needed(self) -> list[str]:
        """Per-sample parameters each call must be given: viscosity and those the data varies."""
        return ["viscosity", *self.varying]

    def grid(self, dtype: torch.dtype, device: torch.device) -> PeriodicGrid:
        # Tensors made under torch.inference_mode (Lightning's evaluation) cannot enter a graph
        # that training records: each mode has its own grid and masks.
        key = (dtype, str(device), torch.is_inference_mode_enabled())
        if key not in self._grids:
            self._grids[key] = PeriodicGrid(self.n, self.physics["domain_length"], dtype, device)
        return self._grids[key]

    def _equation(self, grid: PeriodicGrid, parameters: dict[str, torch.Tensor]):
        batch = parameters["viscosity"].shape[0]
        values = {name: torch.full((batch,), value, dtype=grid.dtype, device=grid.device)
                  for name, value in self.constants.items()}
        values.update({name: p.to(grid.dtype) for name, p in parameters.items()})
        return self.builder.equation(grid, self.sections, values)

    def _check_forcing(self, field: str) -> None:
        """Refuse a grid too coarse for the forcing: one built at a harmless viscosity must keep all
        of the forcing's modes (a pattern beyond the 2/3 cutoff would be dropped without a word)."""
        grid = self.grid(torch.float64, torch.device("cpu"))
        parameters = {"viscosity": torch.ones(1, dtype=torch.float64)}
        parameters.update({name: torch.ones(1, dtype=torch.float64) for name in self.varying})
        try:
            equation = self._equation(grid, parameters)
        except ParameterError as error:
            raise UserError(f"{field}: the saved grid {self.n}² cannot run the coarse solver: {error}") from None
        forcing = getattr(equation, "forcing", None)
        if forcing is not None:
            spectrum = rfft2(forcing).abs() ** 2
            kept = self.projection_mask(grid)
            lost = float((spectrum * ~kept).sum() / spectrum.sum().clamp_min(1e-300))
            if lost > 1e-12:
                raise UserError(f"{field}: the saved grid {self.n}² has too few modes for the forcing: "
                                f"{lost:.1%} of its power lies beyond the solver's 2/3-rule cutoff |k| <= {self.cutoff}")

    def projection_mask(self, grid: PeriodicGrid, modes: str = "dealiased") -> torch.Tensor:
        """``(n, n//2+1)`` booleans in ``rfft2`` layout, never the mean (a periodic vorticity has
        none): ``dealiased``, the modes the solver evolves (the 2/3 rule); ``saved``, every mode
        the saved grid holds (``|kx|, |ky| < n/2``, as the dataset's spectral truncation keeps)."""
        key = (str(grid.device), modes, torch.is_inference_mode_enabled())  # see grid()
        if key not in self._masks:
            if modes == "dealiased":
                spectrum = DealiasedSpectrum(grid.n)
                ones = torch.ones(grid.n, grid.n // 2 + 1, dtype=grid.complex_dtype, device=grid.device)
                mask = spectrum.expand(spectrum.compact(ones)).real > 0.5
            else:
                mask = torch.ones(grid.n, grid.n // 2 + 1, dtype=torch.bool, device=grid.device)
                mask[grid.n // 2] = False  # the Nyquist row and column have no symmetric partner
                mask[:, grid.n // 2] = False
            mask[0, 0] = False
            self._masks[key] = mask
        return self._masks[key]

    def project(self, fields: torch.Tensor, modes: str = "dealiased") -> torch.Tensor:
        """``fields (…, n, n)`` restricted to the ``modes`` of :meth:`projection_mask`."""
        grid = self.grid(fields.dtype, fields.device)
        return irfft2(rfft2(fields) * self.projection_mask(grid, modes), s=(self.n, self.n))

    def step(self, fields: torch.Tensor, parameters: dict[str, torch.Tensor]) -> torch.Tensor:
        """``fields (batch, variables, n, n)`` one interval later, with gradients."""
        grid = self.grid(fields.dtype, fields.device)
        equation = self._equation(grid, parameters)
        physics = self.physics
        stepper = self.builder.stepper(equation, physics["interval"], physics["scheme"], physics["cfl"],
                                       physics["max_dt"])
        state = stepper.advance(equation.encode(fields[:, 0]))
        return equation.decode(state).unsqueeze(1)
