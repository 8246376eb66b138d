"""One batch of samples from initial condition to saved frames: spin-up, rollout, truncation."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import BlowUpError
from ..grid import PeriodicGrid
from ..spectral import spectral_truncate
from ..stepper import rollout
from .config import DatasetConfig
from .splits import SplitConfig
from .resolution import ShellFractionSummary, highest_shell_enstrophy_fraction


def simulate_batch(
    config: DatasetConfig,
    grid: PeriodicGrid,
    split: SplitConfig,
    indices: list[int],
    parameters: dict[str, np.ndarray],
    shells: ShellFractionSummary,
    compile: bool = False,
) -> np.ndarray:
    """Saved trajectories ``(batch, time, variable, y, x)`` in float32 for samples ``indices``.

    Each saved frame is reduced to the saved variables at the saved resolution as soon as it is
    produced, so memory holds one batch's output, never the simulation-resolution trajectory.
    ``shells`` accumulates the resolution check on the simulated vorticity; ``compile``: see
    :class:`~data_gen.stepper.Stepper`.
    """
    builder, timing = config.builder, config.time
    values = {name: torch.as_tensor(v, dtype=grid.dtype, device=grid.device) for name, v in parameters.items()}
    equation = builder.equation(grid, config.sections, values)
    stepper = builder.stepper(equation, timing.save_interval, config.scheme, timing.cfl, timing.max_dt, compile=compile)
    cutoff = builder.highest_retained_wavenumber(grid.n)

    def record(frame: torch.Tensor) -> torch.Tensor:
        saved = builder.saved_fields(equation, frame, config.variables)
        if "vorticity" in config.variables:  # reuse it rather than derive it twice
            vorticity = saved[:, config.variables.index("vorticity")]
        else:
            vorticity = builder.vorticity(equation, frame)
        shells.update(highest_shell_enstrophy_fraction(vorticity, grid, cutoff))
        return spectral_truncate(saved, config.saved_resolution).to(torch.float32)

    try:
        with torch.no_grad():
            fields = builder.initial_fields(grid, config.sections, split.seed, indices, values)
            if timing.spinup > 0:
                # Spin-up is not saved; its times are negative so that t = 0 is the first frame.
                state = stepper.advance(equation.encode(fields), interval=timing.spinup, t_start=-timing.spinup)
                fields = equation.decode(state)
            trajectory = rollout(stepper, fields, timing.num_intervals, record=record)
    except BlowUpError as error:
        raise BlowUpError(
            f"{error.reason} (split '{split.name}'; try a smaller time.cfl or a finer sim_resolution)",
            [indices[i] for i in error.samples],
            error.time,
        ) from None
    return trajectory.cpu().numpy()
