"""How much memory a dataset config asks for, estimated before anything is allocated.

A config is a file a user hands in: ``sim_resolution: 100000`` must be refused with the estimate,
not by the allocator after it has taken the machine's memory. The estimate is the simulation's
working set — the state, the integrator's stages, the FFT work space — as a multiple of one
simulation field, measured per equation as the growth of peak resident memory while one batch is
simulated (512², batch 4, the shipped ``*_ood`` configs, 2-core x86-64, torch 2.13 CPU): spectral
Navier–Stokes 31–41 fields, shallow water on the C-grid 70–73, in float32 and float64; rounded up for
headroom. Plus the batch's saved trajectory, which stays in memory until its shard is written.
"""

from __future__ import annotations

import os

import torch

from ..errors import ParameterError

WORKING_FIELDS = {"navier_stokes": 48, "shallow_water": 88}
"""Peak simulation memory of one sample, in simulation-resolution fields of the config's dtype."""


def simulation_bytes(config, batch: int) -> int:
    """Estimated peak bytes of simulating ``batch`` samples of ``config`` at once."""
    n, itemsize = config.sim_resolution, torch.finfo(config.dtype).bits // 8
    working = batch * n * n * itemsize * WORKING_FIELDS[config.equation]
    saved = batch * (config.time.num_intervals + 1) * len(config.variables) * config.saved_resolution ** 2 * 4
    return working + saved


def available_bytes(device: torch.device | str) -> int:
    """Memory this process can still take on ``device``: free device memory on CUDA, the kernel's
    ``MemAvailable`` (free plus reclaimable cache) on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"


def check_memory(config, batch: int, device: torch.device | str, purpose: str) -> None:
    """Refuse a config whose ``batch`` samples would not fit the memory left on ``device``."""
    needed, available = simulation_bytes(config, batch), available_bytes(device)
    if needed > available:
        raise ParameterError(
            f"sim_resolution: {config.sim_resolution}² in {str(config.dtype).removeprefix('torch.')} with "
            f"{batch} sample(s) at once needs about {_gib(needed)} to {purpose}, more than the {_gib(available)} "
            f"available on {torch.device(device)}; lower sim_resolution or batch_size")
