"""Which device this process trains, scores and times on, and the environment of a torchrun rank.

Every workflow asks here, so that a benchmark rank, a design run and an active-learning member land
on the same device the same way: the rank's own GPU under torchrun, the first GPU, else the CPU.
"""

from __future__ import annotations

import contextlib
import os

import torch

# Set by torchrun for the process group; a workflow's rank trains on its own, so Lightning must not
# mistake the ranks for a distributed run of one training.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
                      "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")


def local_gpu() -> int | None:
    """The GPU index of this process (its torchrun local rank modulo the GPUs), or None without one."""
    if not torch.cuda.is_available():
        return None
    return int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count()


def evaluation_device() -> torch.device:
    """Where this process scores and times: its torchrun rank's GPU, the first GPU, or the CPU."""
    gpu = local_gpu()
    return torch.device("cpu") if gpu is None else torch.device(f"cuda:{gpu}")


@contextlib.contextmanager
def without_torchrun_environment():
    """Hide the torchrun variables while a rank trains or generates on its own."""
    saved = {k: os.environ.pop(k) for k in TORCHRUN_VARIABLES if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
