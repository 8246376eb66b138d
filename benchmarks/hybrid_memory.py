"""Memory per unrolled frame of a Hybrid trained through its solver, with and without gradient checkpointing.

Training a hybrid in the ``unrolled`` regime keeps, for the backward pass, every inner solver step
of every unrolled frame and the correction network's activations. This script measures what one
more unrolled frame costs: each configuration runs in a fresh subprocess (so allocator caches of
one do not hide the next), which records how far one forward + backward of an unrolled window
raises the peak resident set (``VmHWM`` of ``/proc/self/status``: torch's CPU tensors are not
Python allocations, so ``tracemalloc`` would not see them); the slope over
unroll lengths is the memory per frame, and the same fit with gradient checkpointing shows what
recomputation saves. On CUDA it reads ``torch.cuda.max_memory_allocated`` instead.

    python benchmarks/hybrid_memory.py [--resolution 32] [--batch 16] [--unrolls 1 2 4 8]

Prints one JSON object: per configuration the peak and its increase per unrolled frame (MiB), and
the wall time of the forward + backward (a same-run ratio between the two modes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def peak_resident_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(resolution: int, batch: int, unroll: int, checkpointing: bool, device: str) -> dict:
    import torch

    from pdesurrogate.models import Hybrid
    from pdesurrogate.training.regimes import rollout

    torch.manual_seed(0)
    physics = {"equation": "navier_stokes", "solver": "spectral", "scheme": "cn_rk4", "domain_length": 6.283185307179586,
               "saved_resolution": resolution, "interval": 0.25, "cfl": 0.5, "max_dt": None,
               "sections": {"forcing": {"kind": "kolmogorov", "wavenumber": 4, "amplitude": 1.0, "drag": 0.1}}}
    # The small configs' correction network (configs/fit/ns_hybrid_kolmogorov_small.yaml).
    hybrid = Hybrid(["vorticity"], 2, 1, ["viscosity"], resolution, physics=physics, hidden_channels=24, layers=4,
                    modes=min(12, resolution // 2), lifting_channels=48, projection_channels=48,
                    gradient_checkpointing=checkpointing).to(device)
    torch.nn.init.normal_(hybrid.correction.projection[-1].weight, std=0.01)
    # A Kolmogorov-like flow: the forcing's mode plus a random field of vorticity ~ 3.
    y = torch.arange(resolution, device=device) * (6.283185307179586 / resolution)
    base = -4 * torch.cos(4 * y)[:, None].expand(resolution, resolution)
    history = (base + 3 * torch.randn(batch, 2, 1, resolution, resolution, device=device)).float()
    history = history - history.mean(dim=(-2, -1), keepdim=True)
    viscosity = torch.full((batch, 1), 1e-2, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.max_memory_allocated() / 2**20
    else:
        before = peak_resident_mib()
    start = time.perf_counter()
    prediction = rollout(hybrid, history, viscosity, unroll)
    prediction.square().mean().backward()
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = peak_resident_mib()
    return {"unroll": unroll, "checkpointing": checkpointing, "peak_mib": peak, "baseline_mib": before,
            "increase_mib": peak - before, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--unrolls", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--one", nargs=2, metavar=("UNROLL", "CHECKPOINTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(measure(args.resolution, args.batch, int(args.one[0]), args.one[1] == "1", args.device)))
        return
    runs = []
    for checkpointing in (False, True):
        for unroll in args.unrolls:
            out = subprocess.run([sys.executable, __file__, "--resolution", str(args.resolution), "--batch",
                                  str(args.batch), "--device", args.device, "--one", str(unroll),
                                  "1" if checkpointing else "0"], capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    summary = {}
    for checkpointing in (False, True):
        mine = [r for r in runs if r["checkpointing"] == checkpointing]
        first, last = mine[0], mine[-1]
        per_frame = (last["increase_mib"] - first["increase_mib"]) / max(last["unroll"] - first["unroll"], 1)
        summary["checkpointing" if checkpointing else "plain"] = {
            "mib_per_unrolled_frame": round(per_frame, 2),
            "peak_increase_mib": {r["unroll"]: round(r["increase_mib"], 1) for r in mine},
            "seconds": {r["unroll"]: round(r["seconds"], 3) for r in mine}}
    print(json.dumps({"resolution": args.resolution, "batch": args.batch, "device": args.device,
                      "measure": "peak resident set increase (VmHWM)" if args.device == "cpu"
                      else "torch.cuda.max_memory_allocated", **summary}, indent=2))


if __name__ == "__main__":
    main()
