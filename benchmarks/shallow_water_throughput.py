"""Shallow-water solver throughput: steps/s, sample-steps/s and the cost of a step in FFTs.

Prints one JSON object. For each integrator (and both rotational schemes under RK4), at 64²
batch 16 and 256² batch 1 in float32: ``steps_per_s`` (inner steps of the adaptive stepper, CFL
control included), ``sample_steps_per_s`` and ``transform_ratio`` = (time of one step) / (time of
one ``rfft2`` of one ``(batch, n, n)`` field), both timed in this run, so the ratio compares with
the spectral solvers' across machines. The C-grid step has no transform at all: the ratio says
what its elementwise stencils cost in units of the FFT that a spectral step is built from.

    python benchmarks/shallow_water_throughput.py [--device cpu|cuda] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from data_gen import PeriodicGrid
from data_gen.equations import ShallowWater
from data_gen.shallow_water_initial import balanced_random

SIZES = ((64, 16), (256, 1))
CASES = (("arakawa_lamb", "rk4"), ("arakawa_lamb", "rk3"), ("sadourny_energy", "rk4"))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timings(fn, device: str, repeats: int, inner: int, warmup: int = 5) -> list[float]:
    """``repeats`` samples of the mean time of ``inner`` calls (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        samples.append((time.perf_counter() - start) / inner)
    return samples


def _rfft2_timings(n: int, batch: int, device: str, repeats: int) -> list[float]:
    field = torch.randn(batch, n, n, device=device)
    return _timings(lambda: torch.fft.rfft2(field), device, repeats, inner=50)


def _step_time(rotational_scheme: str, scheme: str, n: int, batch: int, device: str, repeats: int) -> float:
    """Seconds per inner step of a viscous, balanced-turbulence run (f = 10, Ro = 0.3)."""
    grid = PeriodicGrid(n, 1.0, torch.float32, device)
    fields = balanced_random(grid, 0, range(batch), coriolis=10.0, peak_wavenumber=6, rossby=0.3)
    equation = ShallowWater(grid, coriolis=10.0, viscosity=1e-4, hyperviscosity=1e-9,
                            rotational_scheme=rotational_scheme)
    stepper = equation.stepper(1.0, scheme=scheme, cfl=0.5)
    state = equation.encode(fields)
    # A fixed interval of exactly `steps_per_call` substeps: the stepper's own CFL logic runs.
    steps_per_call = 10
    _, speed = equation.explicit_terms_and_max_speed(state)
    dt = float(equation.time_step_limit(speed, stepper.cfl).min()) * 0.9
    stepper.max_dt = dt
    interval = dt * steps_per_call * (1 - 1e-9)
    samples = _timings(lambda: stepper.advance(state, interval=interval), device, repeats, inner=1, warmup=1)
    return statistics.median(samples) / steps_per_call


def measure_shallow_water(repeats: int = 5, device: str = "cpu") -> dict:
    """``{"swe_<rotational scheme>_<integrator>": {"<n>x<batch>": {...}}}`` with steps/s,
    sample-steps/s, seconds per step and ``transform_ratio`` = step time / rfft2 time."""
    # The FFT is timed right before and after each step timing, so both see the same machine.
    results = {}
    for rotational_scheme, scheme in CASES:
        sizes = {}
        for n, batch in SIZES:
            fft_samples = _rfft2_timings(n, batch, device, repeats)
            seconds = _step_time(rotational_scheme, scheme, n, batch, device, repeats)
            fft = statistics.median(fft_samples + _rfft2_timings(n, batch, device, repeats))
            sizes[f"{n}x{batch}"] = {
                "steps_per_s": 1.0 / seconds,
                "sample_steps_per_s": batch / seconds,
                "step_time_s": seconds,
                "rfft2_time_s": fft,
                "transform_ratio": seconds / fft,
            }
        results[f"swe_{rotational_scheme}_{scheme}"] = sizes
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    # One thread is steadier on a shared machine: a descheduled worker stalls every parallel op.
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    report = {
        "benchmark": "shallow_water_throughput",
        "device": args.device,
        "dtype": "float32",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "results": measure_shallow_water(args.repeats, args.device),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
