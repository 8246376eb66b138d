"""Solver throughput: steps/s, sample-steps/s and the cost of a step in FFTs.

Prints one JSON object. For every integrator of the spectral and finite-difference Navier–Stokes
solvers and of the shallow-water solver, at 64² batch 16 and 256² batch 1 in float32 (``--dtype
float64`` for the other): ``steps_per_s`` (inner steps of the adaptive stepper, CFL control
included), ``sample_steps_per_s`` and ``transform_ratio`` = (time of one step) / (time of one
``rfft2`` of the same batch), both measured in this run, so the ratio is comparable across machines.

A CN-RK4 step evaluates the explicit terms 5 times, each with 2 inverse and 2 forward transforms
(two fields at a time). ``fft_floor_ratio`` is what those transforms cost as plain ``irfft2`` and
``rfft2``, and ``step_over_fft_floor`` the step against it (the goal: ≤ 1.3). The solver prunes its
transforms to the dealiased modes (:mod:`data_gen.dealiased`), so it can come below that floor;
``pruned_floor_ratio`` and ``step_over_pruned_floor`` measure against what it really transforms.
The finite-difference steps use no transform but the Poisson solve (shallow water: none); their
ratio states what their stencils cost in units of the FFT a spectral step is built from;
``--compile`` adds their compiled step, the compile time and after how many steps it pays off.
Also the peak resident memory of a 256² batch-16 CN-RK4 advance, measured in a fresh process.

Times are the least over ``--repeats`` (other work on the machine only adds time). The process
keeps freed memory (:mod:`data_gen.allocator`), as ``pdesurrogate generate`` does; with
``--system-malloc`` glibc's defaults make the same transform vary up to 4× between runs.

    python benchmarks/solver_throughput.py [--device cpu|cuda] [--repeats 5] [--threads N] [--quick]
        [--dtype float32|float64] [--cases PREFIX,...] [--compile] [--no-memory] [--system-malloc]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

import torch

from data_gen import PeriodicGrid, Stepper
from data_gen.allocator import keep_freed_memory
from data_gen.dealiased import DealiasedSpectrum
from data_gen.equations import NavierStokesFD, NavierStokesSpectral, ShallowWater
from data_gen.forcing import fno_forcing
from data_gen.initial_conditions import gaussian_random_field
from data_gen.initial_conditions.shallow_water import balanced_random

SIZES = ((64, 16), (256, 1))
# Explicit-term evaluations per spectral step (the stepper's first one doubles as the CFL probe).
EVALUATIONS_PER_STEP = {"cn_rk4": 5, "cn_rk2": 2, "euler_cn": 1, "etdrk4": 4}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def best_time(fn, device: str, repeats: int, inner: int) -> float:
    """The least over ``repeats`` of the mean time of ``inner`` calls (after warm-up calls).

    The least, not the median: on a shared machine other work only ever adds time, so the least
    is the steadiest estimate of what the code itself costs (the ``timeit`` convention).
    """
    for _ in range(3):
        fn()
    _sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        samples.append((time.perf_counter() - start) / inner)
    return min(samples)


DTYPE = torch.float32  # set by --dtype


def rfft2_time(n: int, batch: int, device: str, repeats: int) -> float:
    field = torch.randn(batch, n, n, device=device, dtype=DTYPE)
    return best_time(lambda: torch.fft.rfft2(field), device, repeats, inner=50)


def spectral_transform_time(n: int, batch: int, device: str, repeats: int) -> float:
    """The transforms of one spectral evaluation alone: inverse (u, v), forward (uv, u² − v²),
    as plain ``irfft2`` and ``rfft2`` of the full grid: the floor the issue set the goal against."""
    pair = torch.randn(batch, 2, n, n, device=device, dtype=DTYPE)
    pair_hat = torch.fft.rfft2(pair)

    def transforms():
        return torch.fft.irfft2(pair_hat, s=(n, n)), torch.fft.rfft2(pair)

    return best_time(transforms, device, repeats, inner=20)


def pruned_transform_time(n: int, batch: int, device: str, repeats: int) -> float:
    """The same transforms pruned to the dealiased modes, as the solver does them
    (:class:`data_gen.dealiased.DealiasedSpectrum`, symbols of one)."""
    modes = DealiasedSpectrum(n)
    pair = torch.randn(batch, 2, n, n, device=device, dtype=DTYPE)
    compact = modes.from_physical(pair)
    ones = torch.ones(modes.shape, dtype=compact.dtype, device=device)

    def transforms():
        with torch.no_grad():
            return modes.to_physical(compact, ones), modes.columns_of(pair)

    return best_time(transforms, device, repeats, inner=20)


def navier_stokes_case(scheme: str, solver: str = "spectral"):
    """A builder ``(n, batch, device) -> (stepper, encoded state)`` on the FNO forced flow."""

    def build(n, batch, device, compile=False):
        grid = PeriodicGrid(n, 1.0, DTYPE, device)
        vorticity = gaussian_random_field(grid, 0, range(batch))
        equation_class = NavierStokesSpectral if solver == "spectral" else NavierStokesFD
        equation = equation_class(grid, 1e-4, forcing=fno_forcing(grid), forcing_amplitude=0.1)
        return Stepper(equation, interval=1.0, scheme=scheme, cfl=0.5, compile=compile), equation.encode(vorticity)

    return build


def shallow_water_case(scheme: str, rotational_scheme: str):
    """A viscous, balanced-turbulence shallow-water run (f = 10, Rossby number 0.3)."""

    def build(n, batch, device, compile=False):
        grid = PeriodicGrid(n, 1.0, DTYPE, device)
        fields = balanced_random(grid, 0, range(batch), coriolis=10.0, peak_wavenumber=6, rossby=0.3)
        equation = ShallowWater(grid, coriolis=10.0, viscosity=1e-4, hyperviscosity=1e-9,
                                rotational_scheme=rotational_scheme)
        return Stepper(equation, interval=1.0, scheme=scheme, cfl=0.5, compile=compile), equation.encode(fields)

    return build


def step_time(build, n: int, batch: int, device: str, repeats: int, compile: bool = False) -> tuple[float, float]:
    """Seconds per inner step, and the seconds the first call took beyond a step (compilation)."""
    stepper, state = build(n, batch, device, compile)
    # About 10 substeps per call at a fixed step below the CFL limit: the stepper's own CFL
    # logic runs; the steps are counted, not assumed (rounding can add one).
    _, speed = stepper.equation.explicit_terms_and_max_speed(state)
    dt = float(stepper.equation.time_step_limit(speed, stepper.cfl, stepper.integrator.stability_region()).min()) * 0.9
    stepper.max_dt = dt
    interval = dt * 10 * (1 - 1e-6)

    def advance():
        with torch.no_grad():
            stepper.advance(state, interval=interval)

    start, taken = time.perf_counter(), stepper.substeps
    advance()
    _sync(device)
    first = time.perf_counter() - start
    steps_per_call = stepper.substeps - taken
    seconds = best_time(advance, device, repeats, inner=1) / steps_per_call
    return seconds, max(0.0, first - steps_per_call * seconds)


def cases() -> dict:
    found = {f"ns_spectral_{s}": navier_stokes_case(s) for s in NavierStokesSpectral.schemes}
    found.update({f"ns_fd_{s}": navier_stokes_case(s, "fd") for s in NavierStokesFD.schemes})
    found.update({f"swe_arakawa_lamb_{s}": shallow_water_case(s, "arakawa_lamb") for s in ShallowWater.schemes})
    found["swe_sadourny_energy_rk4"] = shallow_water_case("rk4", "sadourny_energy")
    return found


def peak_memory_mb(device: str) -> dict:
    """Peak memory of a 256² batch-16 CN-RK4 advance, in a fresh process (RSS on CPU)."""
    code = f"""
import resource, torch, json, sys
sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
from solver_throughput import navier_stokes_case
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stepper, state = navier_stokes_case("cn_rk4")(256, 16, {device!r})
if {device!r}.startswith("cuda"):
    torch.cuda.reset_peak_memory_stats()
stepper.max_dt = 1e-3
stepper.advance(state, interval=5e-3)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {{"rss_increase_mb": (peak - base) / 1024, "state_mb": state.numel() * state.element_size() / 2**20}}
if {device!r}.startswith("cuda"):
    out["cuda_peak_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="64² only, 2 repeats (a smoke run)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--cases", default="", help="comma-separated prefixes of the cases to run (default: all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--compile", action="store_true",
                        help="also time the finite-difference cases with torch.compile (Stepper(compile=True)): "
                             "step time, compile time and the steps after which compiling pays off")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc's malloc thresholds alone (default: keep freed memory, as `pdesurrogate "
                             "generate` does; see data_gen.allocator)")
    args = parser.parse_args()
    kept_freed_memory = False if args.system_malloc else keep_freed_memory()
    global DTYPE
    DTYPE = getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = SIZES[:1] if args.quick else SIZES
    repeats = 2 if args.quick else args.repeats

    report = {
        "benchmark": "solver_throughput",
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
        "machine": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "dtype": args.dtype,
        "malloc": "keeps freed memory" if kept_freed_memory else "system default",
        "timing": "least over repeats of the mean per call",
        "results": {},
    }
    prefixes = [p for p in args.cases.split(",") if p]
    for name, build in cases().items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        for n, batch in sizes:
            # The FFT is timed right before and after each case, so both see the same machine.
            before = rfft2_time(n, batch, args.device, repeats)
            seconds, _ = step_time(build, n, batch, args.device, repeats)
            fft = min(before, rfft2_time(n, batch, args.device, repeats))
            entry = report["results"][f"{name}@{n}x{n}_b{batch}"] = {
                "steps_per_s": round(1 / seconds, 1),
                "sample_steps_per_s": round(batch / seconds, 1),
                "step_ms": round(1e3 * seconds, 3),
                "rfft2_ms": round(1e3 * fft, 4),
                "transform_ratio": round(seconds / fft, 1),
            }
            if args.compile and not name.startswith("ns_spectral_"):
                # The compiled evaluation against the eager one just measured, same machine state.
                compiled, compile_seconds = step_time(build, n, batch, args.device, repeats, compile=True)
                gain = seconds - compiled
                entry["compiled"] = {
                    "step_ms": round(1e3 * compiled, 3),
                    "transform_ratio": round(compiled / fft, 1),
                    "speedup": round(seconds / compiled, 2),
                    "compile_s": round(compile_seconds, 1),
                    "pays_off_after_steps": round(compile_seconds / gain) if gain > 0 else None,
                }
            scheme = name.removeprefix("ns_spectral_")
            if name.startswith("ns_spectral_"):
                # What the ratio would be if the step were nothing but its transforms (the full
                # ones, and the pruned ones the solver does), and the step against each.
                evaluations = EVALUATIONS_PER_STEP[scheme]
                floor = evaluations * spectral_transform_time(n, batch, args.device, repeats)
                pruned = evaluations * pruned_transform_time(n, batch, args.device, repeats)
                entry.update(fft_floor_ratio=round(floor / fft, 1), step_over_fft_floor=round(seconds / floor, 2),
                             pruned_floor_ratio=round(pruned / fft, 1),
                             step_over_pruned_floor=round(seconds / pruned, 2))
    if not (args.quick or args.no_memory):
        report["peak_memory_256x256_b16_cn_rk4"] = peak_memory_mb(args.device)
    report["goal"] = ("ns_spectral_cn_rk4: step_over_fft_floor <= 1.3 (64x64 b16 and 256x256 b1, 1 and 2 threads, "
                      "float32 and float64); shallow-water rk4 at least 2x faster than eager before issue 10 "
                      "(compiled.step_ms)")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
