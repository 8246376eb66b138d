"""Shared by the dataset tests: a tiny Navier–Stokes config and single-threaded torch."""

from __future__ import annotations

import contextlib

import pytest
import torch


@contextlib.contextmanager
def torch_threads(count: int):
    """Run the body with ``count`` intra-op threads, then restore the previous number."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture
def one_thread():
    # 16² transforms gain nothing from threads, and on a busy shared CPU two threads wait on each other.
    with torch_threads(1):
        yield


def tiny_config(**overrides) -> dict:
    """A 16² forced Navier–Stokes config saved on 8², two splits (a listed and a ranged viscosity);
    ``overrides`` replace top-level keys. Generates in well under a second."""
    raw = {
        "equation": "navier_stokes",
        "sim_resolution": 16,
        "saved_resolution": 8,
        "time": {"t_end": 1.0, "save_interval": 0.5},
        "forcing": {"kind": "fno"},
        "initial_condition": {"kind": "gaussian_random_field"},
        "variables": ["vorticity", "u"],
        "batch_size": 2,
        "samples_per_shard": 3,
        "splits": {
            "train": {"viscosity": [2.0e-2, 1.0e-2], "samples_per_viscosity": 2, "seed": 0},
            "test_ood": {"viscosity": {"log_uniform": [3.0e-3, 6.0e-3]}, "samples": 3, "seed": 7},
        },
    }
    raw.update(overrides)
    return raw
