"""The ``time`` section of a dataset config: horizon, output cadence, spin-up and step control."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .schema import fail, mapping, number

TIME_KEYS = ("t_end", "save_interval", "spinup", "cfl", "max_dt")


@dataclass(frozen=True)
class TimeConfig:
    t_end: float
    save_interval: float
    spinup: float
    cfl: float
    max_dt: float | None

    @property
    def num_intervals(self) -> int:
        return int(round(self.t_end / self.save_interval))

    @property
    def times(self) -> np.ndarray:
        """Saved times ``k·save_interval``; ``t = 0`` is the first frame after spin-up."""
        return np.arange(self.num_intervals + 1, dtype=np.float64) * self.save_interval

    def to_config(self) -> dict:
        return {"t_end": self.t_end, "save_interval": self.save_interval, "spinup": self.spinup,
                "cfl": self.cfl, "max_dt": self.max_dt}


def parse_time(raw, path: str = "time") -> TimeConfig:
    raw = mapping(raw, path, TIME_KEYS, required=("t_end", "save_interval"))
    t_end = number(raw["t_end"], f"{path}.t_end", minimum=0.0, exclusive=True)
    save_interval = number(raw["save_interval"], f"{path}.save_interval", minimum=0.0, exclusive=True,
                           maximum=t_end)
    ratio = t_end / save_interval
    if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
        fail(f"{path}.save_interval", f"must divide t_end = {t_end:g} into whole intervals "
                                      f"(got {save_interval:g}, giving {ratio:.6g} intervals)")
    spinup = number(raw.get("spinup", 0.0), f"{path}.spinup", minimum=0.0)
    cfl = number(raw.get("cfl", 0.5), f"{path}.cfl", minimum=0.0, exclusive=True, maximum=1.0)
    max_dt = raw.get("max_dt")
    if max_dt is not None:
        max_dt = number(max_dt, f"{path}.max_dt", minimum=0.0, exclusive=True)
    return TimeConfig(t_end, save_interval, spinup, cfl, max_dt)
