"""The solver dry run of a dataset config: build everything once, step nothing.

The solvers check their own arguments; running those checks at config time makes a value a
solver refuses (a forcing wavenumber the grid cannot resolve, a scheme that cannot advance the
flow stably) fail before the run rather than an hour into it.
"""

from __future__ import annotations

import torch

from ..errors import ParameterError
from .builders import VISCOSITY
from .memory import check_memory
from .schema import ConfigError

# The stepper's argument names and the config keys they come from.
STEPPER_KEYS = {"cfl": "time.cfl", "interval": "time.save_interval", "max_dt": "time.max_dt", "scheme": "scheme"}


def check_buildable(config) -> None:
    """For a parsed :class:`~data_gen.dataset.config.DatasetConfig` (which calls this, so it is not
    imported here): build forcing, initial condition and equation once per split, at the extreme values, and
    the stepper for each; cheap, since nothing is stepped."""
    grid = config.grid()
    first_states = []  # (equation, initial fields) per split, for the stepper's first-step check
    try:
        for split in config.splits:
            extremes = [split.viscosity_extremes()] + [law.extremes() for _, law in config.sampled.values()]
            batch = max(len(e) for e in extremes)
            values = {VISCOSITY.name: split.viscosity_extremes()}
            values.update({name: law.extremes() for name, (_, law) in config.sampled.items()})
            try:
                check_memory(config, batch, grid.device, "check the config")
            except ParameterError as error:
                raise ConfigError(str(error)) from None
            parameters = {
                name: torch.tensor([v[i % len(v)] for i in range(batch)], dtype=grid.dtype)
                for name, v in values.items()
            }
            try:
                equation = config.builder.equation(grid, config.sections, parameters)
            except ParameterError as error:
                names_its_key = str(error).split(".")[0] in config.builder.sections
                raise ConfigError(str(error) if names_its_key else f"splits.{split.name}: {error}") from None
            fields = config.builder.initial_fields(grid, config.sections, split.seed, list(range(batch)), parameters)
            first_states.append((equation, fields))
    except ConfigError:
        raise
    except ParameterError as error:
        # Forcing and initial-condition checks already name their key (``forcing.wavenumber``).
        raise ConfigError(str(error)) from None
    check_stepper(config, first_states)


def check_stepper(config: DatasetConfig, first_states) -> None:
    """The time-stepping settings are the same for every split (the CFL ceiling depends on the
    scheme and the equation, not on the parameter values), so they are blamed on the time key
    they concern rather than on a split. The first step is chosen (not taken) for each split's
    initial fields: a scheme without imaginary-axis stability is refused there if its step
    would be impractically small at the split's extreme viscosities."""
    timing = config.time
    try:
        for equation, fields in first_states:
            stepper = config.builder.stepper(equation, timing.save_interval, config.scheme, timing.cfl, timing.max_dt)
            stepper.check_first_step(fields)
    except ParameterError as error:
        name, _, rest = str(error).partition(" must ")
        if name in STEPPER_KEYS and rest:
            raise ConfigError(f"{STEPPER_KEYS[name]}: must {rest}") from None
        raise ConfigError(f"scheme: {error}") from None
