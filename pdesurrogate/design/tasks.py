"""The design tasks: each turns a config's ``target`` and ``design`` sections into a :class:`Problem`.

A problem is a design variable, the context frames and per-sample parameters it implies, the number
of saved frames to predict, and a loss of the predicted frames. Routes evaluate the same problem
through the surrogate or the solver, so the two answers are comparable number for number.

Tasks (each synthesises its instance with the solver, from an initial condition no dataset split
holds, unless ``target.observations`` gives the observed frames):

- ``viscosity``: recover ν from observed frames (Navier–Stokes or shallow water).
- ``initial_state``: recover the Navier–Stokes vorticity at t = 0 from the vorticity at time T
  (optionally noisy and observed on a coarser grid), with a smoothness prior.
- ``forcing_amplitude``: one amplitude ``a`` scaling a fixed pattern of the ``diagonal_modes``
  forcing family, chosen for a goal on the enstrophy at time T or a target field.
- ``forcing_pattern``: the four coefficients of the ``diagonal_modes`` family, for the same goals.
- ``initial_height``: recover the shallow-water height at t = 0 from later velocities, the initial
  velocities known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from data_gen.forcing import DIAGONAL_MODES
from data_gen.simulation import Simulation, spectral_pad
from data_gen.spectral import spectral_truncate

from ..data import DatasetReader
from ..errors import UserError
from ..evaluation import metrics
from ..evaluation.scoring import trajectories
from .forward import SurrogateForward
from .variables import Bounded, Field, field_statistics, gradient_energy

TASKS = ("viscosity", "initial_state", "forcing_amplitude", "forcing_pattern", "initial_height")
FORCING_PARAMETERS = tuple(f"forcing_{mode}" for mode in DIAGONAL_MODES)
MAX_OBSERVATION_BYTES = 1 << 30  # an observation file may not make us allocate more than this


@dataclass
class Problem:
    task: str
    variable: Bounded | Field
    frames: int  # saved frames predicted after the context
    context: Callable[[torch.Tensor], torch.Tensor]  # value -> (batch, history, variables, n, n)
    parameters: Callable[[torch.Tensor], dict[str, torch.Tensor]]  # value -> per-sample parameters
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (predicted, value) -> (batch,)
    instance: dict  # what was set up (true values, seed, noise, ...) for design.json
    truth: torch.Tensor | None = None  # the design variable's true value, when there is one
    # (value, frames predicted) -> the field to show beside ``target_field`` in the figure
    showcase: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    target_field: torch.Tensor | None = None
    target_label: str = "target"
    result_label: str = "design"
    observed: torch.Tensor | None = None  # what the loss compares with, for scoring
    observe: Callable[[torch.Tensor], torch.Tensor] = lambda predicted: predicted  # predicted -> observed space
    distribution: Callable[[torch.Tensor], dict] | None = None


@dataclass
class Setting:
    """What every task gets: the surrogate's interface, the solver, the dataset and the config sections."""

    surrogate: SurrogateForward
    simulation: Simulation
    reader: DatasetReader
    target: dict
    design: dict
    objective: dict

    @property
    def history(self) -> int:
        return self.surrogate.history

    @property
    def variables(self) -> tuple[str, ...]:
        return self.surrogate.variables

    @property
    def dtype(self) -> torch.dtype:
        return torch.float64

    def train_ranges(self) -> dict[str, tuple[float, float]]:
        parameters = self.reader.split("train", "train_split").parameters
        return {name: (float(np.min(v)), float(np.max(v))) for name, v in parameters.items()}

    def require_conditioning(self, names: tuple[str, ...], task: str) -> None:
        missing = [n for n in names if n not in self.surrogate.conditioning]
        if missing:
            raise UserError(f"model: the {task} task designs {', '.join(missing)}, but the surrogate is conditioned on "
                            f"{list(self.surrogate.conditioning) or 'nothing'}; use a model whose data.conditioning "
                            f"includes {', '.join(missing)}")

    def require_history(self, history: int, task: str) -> None:
        if self.history != history:
            raise UserError(f"model: the {task} task designs the state at t = 0, which a surrogate with data.history "
                            f"{self.history} cannot start from alone; use a model with data.history {history}")

    def require_variables(self, needed: tuple[str, ...], task: str) -> None:
        missing = [v for v in needed if v not in self.variables]
        if missing:
            raise UserError(f"model: the {task} task needs the surrogate to predict {', '.join(needed)}; "
                            f"it predicts {list(self.variables)}")

    def truth(self, parameters: dict[str, float], frames: int) -> torch.Tensor:
        """``(1, frames + 1, variables, n, n)`` in the surrogate's variable order, from the generator's
        initial condition of ``target.seed`` (sample ``target.index``), simulated by the solver."""
        sim = self.simulation
        values = sim.parameters(1, **parameters)
        trajectory = sim.trajectory(int(self.target["seed"]), [int(self.target["index"])], values, frames)
        return trajectory[:, :, [sim.variables.index(v) for v in self.variables]].to(self.dtype)

    def observations(self, frames: int, shape_note: str) -> torch.Tensor | None:
        """``target.observations`` (a ``.npy`` of ``(frames, variables, n, n)``), checked, or ``None``."""
        path = self.target.get("observations")
        if path is None:
            return None
        n = self.simulation.saved_resolution
        expected = (frames, len(self.variables), n, n)
        try:
            header = np.load(Path(path), mmap_mode="r", allow_pickle=False)  # reads the header only
        except (OSError, ValueError) as error:
            raise UserError(f"target.observations: {path} is not a readable .npy array ({error})") from None
        if tuple(header.shape) != expected:
            raise UserError(f"target.observations: {path} has shape {tuple(header.shape)}; this task needs "
                            f"{expected} ({shape_note}, variables {list(self.variables)}, {n}² grid)")
        if header.dtype.kind != "f" or header.nbytes > MAX_OBSERVATION_BYTES:
            raise UserError(f"target.observations: {path} must hold floats of at most "
                            f"{MAX_OBSERVATION_BYTES >> 20} MiB (got {header.dtype}, {header.nbytes} bytes)")
        values = torch.from_numpy(np.array(header, dtype=np.float64))[None]
        if not bool(torch.isfinite(values).all()):
            raise UserError(f"target.observations: {path} holds NaN or Inf values")
        return values

    def add_noise(self, frames: torch.Tensor) -> torch.Tensor:
        """Gaussian noise of ``target.noise`` × each variable's rms, seeded by ``target.seed``."""
        level = float(self.target.get("noise") or 0.0)
        if level == 0:
            return frames
        generator = torch.Generator().manual_seed(int(self.target["seed"]))
        rms = frames.square().mean(dim=(0, 1, 3, 4), keepdim=True).sqrt()
        return frames + level * rms * torch.randn(frames.shape, generator=generator, dtype=frames.dtype)

    def centred(self) -> torch.Tensor:
        """Per-variable training means ``(variables, 1, 1)``: errors are measured on deviations from
        them, as the benchmark does (shallow-water height: from the mean depth, not from zero)."""
        stats = self.reader.stats()
        return torch.tensor([stats[v][0] for v in self.variables], dtype=self.dtype)[:, None, None]

    def initial_frame_statistics(self, variable: str) -> tuple[dict[str, tuple[float, float]], float]:
        """Ranges of :func:`field_statistics` over the training split's first frames, and their mean
        gradient energy (the smoothness prior's reference)."""
        split = self.reader.split("train", "train_split")
        mean = self.centred()[self.variables.index(variable)]
        stats, energies = [], []
        for _, fields in trajectories(split, [variable]):
            first = fields[:, 0, 0].to(self.dtype) - mean
            stats += [field_statistics(f) for f in first]
            energies.append(gradient_energy(first[:, None]))
        ranges = {k: (min(s[k] for s in stats), max(s[k] for s in stats)) for k in stats[0]}
        return ranges, float(torch.cat(energies).mean())


def misfit(predicted: torch.Tensor, observed: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Mean over frames and variables of the squared relative L2 error of deviations from ``mean``:
    ``(batch,)``, differentiable (the benchmark's headline metric, squared so that it is smooth)."""
    p, o = predicted - mean, (observed - mean).expand_as(predicted)
    return ((p - o).square().sum(dim=(-2, -1)) / o.square().sum(dim=(-2, -1)).clamp_min(1e-30)).mean(dim=(1, 2))


def _parameter_check(values: dict[str, torch.Tensor], ranges: dict[str, tuple[float, float]]) -> dict:
    """Every designed parameter against the training split's range of it (fixed ones included)."""
    checks, inside = {}, True
    for name, value in values.items():
        if name not in ranges:
            continue
        v = float(value.reshape(-1)[0])
        low, high = ranges[name]
        tolerance = 1e-9 * max(abs(low), abs(high))
        ok = low - tolerance <= v <= high + tolerance
        inside &= ok
        checks[name] = {"value": v, "training_range": [low, high], "inside": ok}
    return {"in_distribution": inside, "checks": checks}


def _field_check(value: torch.Tensor, ranges: dict[str, tuple[float, float]]) -> dict:
    checks, inside = {}, True
    for name, v in field_statistics(value).items():
        low, high = ranges[name]
        ok = low * 0.9 <= v <= high * 1.1  # 10 % slack: a few dozen training samples do not reach the extremes
        inside &= ok
        checks[name] = {"value": v, "training_range": [low, high], "inside": ok}
    return {"in_distribution": inside, "checks": checks}


# --- the tasks ----------------------------------------------------------------------------------


def viscosity(s: Setting) -> Problem:
    s.require_conditioning(("viscosity",), "viscosity")
    frames = int(s.target["frames"])
    given = s.observations(s.history + frames, f"history {s.history} + target.frames {frames} frames")
    true_nu = s.target.get("viscosity")
    if given is None:
        if true_nu is None:
            raise UserError("target.viscosity: give the true viscosity to simulate the observations from, "
                            "or target.observations")
        observed = s.add_noise(s.truth({"viscosity": float(true_nu)}, s.history - 1 + frames))
    else:
        observed = given
    mean = s.centred()
    ranges = s.train_ranges()
    bounds = s.design["bounds"]
    low, high = ranges["viscosity"]
    initial = s.design["initial"] if s.design["initial"] is not None else float(np.sqrt(low * high))
    variable = Bounded(("viscosity",), (float(initial),), (float(bounds[0]),), (float(bounds[1]),), log=True)
    context = observed[:, :s.history]
    target = observed[:, s.history:]
    return Problem(
        task="viscosity", variable=variable, frames=frames,
        context=lambda v: context.expand(v.shape[0], *context.shape[1:]),
        parameters=lambda v: {"viscosity": v[:, 0]},
        loss=lambda predicted, v: misfit(predicted, target, mean),
        instance={"viscosity": true_nu, "seed": s.target["seed"], "noise": s.target.get("noise") or 0.0,
                  "observed_frames": frames, "context_frames": s.history,
                  "training_viscosity": list(ranges["viscosity"])},
        truth=None if true_nu is None else torch.tensor([[float(true_nu)]], dtype=s.dtype),
        showcase=lambda v, predicted: predicted[0, -1, 0], target_field=observed[0, -1, 0],
        target_label=f"observed {s.variables[0]}, last frame", result_label="re-simulated at the recovered ν",
        observed=target,
        distribution=lambda v: _parameter_check({"viscosity": v[:, 0]}, ranges),
    )


def _initial_field(s: Setting, variable_name: str, initial: torch.Tensor, scale: float) -> tuple[Field, dict]:
    """The field variable for a state at t = 0, with its prior scaled by the training fields, and the
    training fields' statistics its distribution check compares with."""
    ranges, reference_energy = s.initial_frame_statistics(variable_name)
    field = Field(variable_name, initial, scale=scale, prior_weight=float(s.design["prior_weight"]),
                  reference_gradient=reference_energy)
    return field, ranges


def initial_state(s: Setting) -> Problem:
    s.require_history(1, "initial_state")
    s.require_variables(("vorticity",), "initial_state")
    s.require_conditioning(("viscosity",), "initial_state")
    time_index = int(s.target["frames"])
    coarsen = int(s.target.get("coarsen") or 1)
    n = s.simulation.saved_resolution
    if coarsen < 1 or n % coarsen or n // coarsen < 4:
        raise UserError(f"target.coarsen: must divide the saved resolution {n} and leave at least 4 points "
                        f"(got {coarsen})")
    nu = float(s.target["viscosity"])
    truth = s.truth({"viscosity": nu}, time_index)
    observed = s.observations(1, f"the vorticity at frame {time_index}")
    if observed is None:
        observed = s.add_noise(spectral_truncate(truth[:, time_index:time_index + 1], n // coarsen))
    elif coarsen != 1:
        raise UserError("target.coarsen: give observations at the saved resolution, or coarsen the solver's")
    channel = s.variables.index("vorticity")
    guess = spectral_pad(observed[:, 0, channel:channel + 1], n)  # the observed field, interpolated
    scale = float(guess.square().mean().sqrt())
    variable, ranges = _initial_field(s, "vorticity", guess, scale)

    def coarse(predicted):
        return spectral_truncate(predicted[:, -1:, channel:channel + 1], n // coarsen)

    return Problem(
        task="initial_state", variable=variable, frames=time_index,
        context=lambda v: v[:, None],
        parameters=lambda v: {"viscosity": torch.full((v.shape[0],), nu, dtype=v.dtype, device=v.device)},
        loss=lambda predicted, v: misfit(coarse(predicted), observed[:, :, channel:channel + 1], 0.0),
        instance={"viscosity": nu, "seed": s.target["seed"], "time": time_index, "coarsen": coarsen,
                  "noise": s.target.get("noise") or 0.0, "prior_weight": variable.prior_weight},
        truth=truth[:, 0, channel:channel + 1],
        showcase=lambda v, predicted: v[0, 0], target_field=truth[0, 0, channel],
        target_label="true vorticity at t = 0", result_label="recovered vorticity at t = 0",
        observed=observed[:, :, channel:channel + 1], observe=coarse,
        distribution=lambda v: _field_check(v, ranges),
    )


def initial_height(s: Setting) -> Problem:
    s.require_history(1, "initial_height")
    s.require_variables(("height", "u", "v"), "initial_height")
    frames = int(s.target["frames"])
    nu = float(s.target["viscosity"])
    truth = s.truth({"viscosity": nu}, frames)
    given = s.observations(frames + 1, f"frame 0 and target.frames {frames} later frames")
    observed = truth if given is None else given
    observed = torch.cat((observed[:, :1], s.add_noise(observed[:, 1:])), dim=1)
    h, velocity = s.variables.index("height"), [s.variables.index("u"), s.variables.index("v")]
    mean = s.centred()
    depth = float(mean[h])
    n = s.simulation.saved_resolution
    flat = torch.zeros(1, 1, n, n, dtype=s.dtype)  # the no-information guess: a flat surface
    std = s.reader.stats()["height"][1]
    variable, ranges = _initial_field(s, "height", flat, std)
    start = observed[:, 0]

    def context(v):
        fields = start.expand(v.shape[0], *start.shape[1:]).clone()
        fields[:, h] = depth + v[:, 0]
        return fields[:, None]

    return Problem(
        task="initial_height", variable=variable, frames=frames,
        context=context,
        parameters=lambda v: {"viscosity": torch.full((v.shape[0],), nu, dtype=v.dtype, device=v.device)},
        loss=lambda predicted, v: misfit(predicted[:, :, velocity], observed[:, 1:, velocity], mean[velocity]),
        instance={"viscosity": nu, "seed": s.target["seed"], "observed_frames": frames,
                  "observed_variables": ["u", "v"], "noise": s.target.get("noise") or 0.0,
                  "prior_weight": variable.prior_weight},
        truth=truth[:, 0, h:h + 1] - depth,
        showcase=lambda v, predicted: v[0, 0], target_field=truth[0, 0, h] - depth,
        target_label="true height anomaly at t = 0", result_label="recovered height anomaly at t = 0",
        observed=observed[:, 1:, velocity], observe=lambda predicted: predicted[:, :, velocity],
        distribution=lambda v: _field_check(v, ranges),
    )


def _forcing(s: Setting, task: str, variable: Bounded, coefficients: Callable[[torch.Tensor], torch.Tensor]):
    s.require_conditioning(FORCING_PARAMETERS, task)
    s.require_variables(("vorticity",), task)
    if set(FORCING_PARAMETERS) - set(s.simulation.config.sampled):
        raise UserError(f"data: the {task} task needs a dataset with `forcing: {{kind: diagonal_modes}}` "
                        "(e.g. configs/data/ns_forcing_small.yaml)")
    frames = int(s.target["frames"])
    channel = s.variables.index("vorticity")
    ranges = s.train_ranges()
    nu = s.target.get("viscosity")
    if nu is None:
        low, high = ranges["viscosity"]
        if low != high:
            raise UserError(f"target.viscosity: the dataset's training viscosities span [{low:g}, {high:g}]; "
                            "give the viscosity to design at")
        nu = low
    fixed = {"viscosity": float(nu)}
    start_parameters = dict(zip(FORCING_PARAMETERS, s.target["coefficients"]))
    trajectory = s.truth({**fixed, **start_parameters}, frames)
    start = trajectory[:, :1]
    goal = s.objective["kind"]
    enstrophy0 = float(metrics.enstrophy(start[0, 0, channel]))

    def parameters(v):
        values = dict(zip(FORCING_PARAMETERS, coefficients(v).unbind(dim=-1)))
        if fixed:
            values["viscosity"] = torch.full((v.shape[0],), fixed["viscosity"], dtype=v.dtype, device=v.device)
        return values

    def enstrophy_at_t(predicted):
        return 0.5 * predicted[:, -1, channel].square().mean(dim=(-2, -1)) / enstrophy0

    instance = {"seed": s.target["seed"], "time": frames, "objective": dict(s.objective),
                "start_coefficients": list(s.target["coefficients"]), **fixed}
    observed, target_field = None, None
    if goal == "match_field":
        reference = s.objective["coefficients"]
        target = s.truth({**fixed, **dict(zip(FORCING_PARAMETERS, reference))}, frames)[:, -1:, channel:channel + 1]
        observed, target_field = target, target[0, 0, 0]
        truth = torch.tensor([reference], dtype=s.dtype)

        def loss(predicted, v):
            return misfit(predicted[:, -1:, channel:channel + 1], target, 0.0)
    else:
        truth = None
        sign = {"minimise_enstrophy": 1.0, "maximise_enstrophy": -1.0}.get(goal)
        if sign is None:  # target_enstrophy: reach a given multiple of the initial enstrophy
            ratio = float(s.objective["ratio"])

            def loss(predicted, v):
                return (enstrophy_at_t(predicted) / ratio - 1).square()
        else:
            def loss(predicted, v):
                return sign * enstrophy_at_t(predicted)
        instance["initial_enstrophy"] = enstrophy0
    if task == "forcing_pattern" and goal == "match_field":
        instance["target_coefficients"] = list(s.objective["coefficients"])
    return Problem(
        task=task, variable=variable, frames=frames,
        context=lambda v: start.expand(v.shape[0], *start.shape[1:]),
        parameters=parameters, loss=loss, instance=instance,
        truth=truth if task == "forcing_pattern" else None,
        showcase=lambda v, predicted: predicted[0, -1, channel],
        target_field=target_field if target_field is not None else trajectory[0, -1, channel],
        target_label="target vorticity at T" if target_field is not None else "vorticity at T, start forcing",
        result_label="re-simulated vorticity at T", observed=observed,
        observe=lambda predicted: predicted[:, -1:, channel:channel + 1],
        distribution=lambda v: _parameter_check(parameters(v), ranges),
    )


def forcing_amplitude(s: Setting) -> Problem:
    direction = torch.tensor(s.design["direction"], dtype=s.dtype)
    if direction.shape != (len(DIAGONAL_MODES),) or not bool(direction.abs().sum() > 0):
        raise UserError(f"design.direction: must be {len(DIAGONAL_MODES)} numbers, not all zero, weighting "
                        f"{', '.join(DIAGONAL_MODES)} (got {s.design['direction']!r})")
    bounds = s.design["bounds"]
    variable = Bounded(("amplitude",), (float(s.design["initial"]),), (float(bounds[0]),), (float(bounds[1]),))
    return _forcing(s, "forcing_amplitude", variable, lambda v: v[:, :1] * direction.to(v))


def forcing_pattern(s: Setting) -> Problem:
    initial = tuple(float(x) for x in s.design["initial"])
    low, high = s.design["bounds"]
    count = len(FORCING_PARAMETERS)
    if len(initial) != count:
        raise UserError(f"design.initial: must give {count} coefficients ({', '.join(DIAGONAL_MODES)})")
    variable = Bounded(FORCING_PARAMETERS, initial, (float(low),) * count, (float(high),) * count)
    return _forcing(s, "forcing_pattern", variable, lambda v: v)


BUILDERS = {"viscosity": viscosity, "initial_state": initial_state, "initial_height": initial_height,
            "forcing_amplitude": forcing_amplitude, "forcing_pattern": forcing_pattern}
