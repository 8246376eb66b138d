"""Training throughput and peak memory of our FNO and U-Net, and of neuraloperator's FNO, on CPU.

Prints one JSON object. Every model trains (forward, MSE, backward, AdamW step) on random
64² fields, batch 16. Throughput: the models take turns, a few steps each, over several rounds
in one process, and the ratio ours/neuraloperator is taken within each round, because this
machine is shared and its speed drifts. Peak memory: each model trains again in a fresh
subprocess, so that the resident-memory high-water mark is its own.

The FNO comparison is at equal width, layers, retained modes, lifting/projection widths, channel
MLP and skip: our ``modes=m`` keeps the same ``2m × m`` rfft2 block as neuraloperator's
``n_modes=(2m, 2m − 2)`` (see ``pdesurrogate.layers.SpectralConv2d``).

    python benchmarks/train_throughput.py [--threads 1] [--rounds 7] [--steps 2]

neuraloperator comes with the optional extra ``pip install -e '.[bench]'``; without it that
entry is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

RESOLUTION, BATCH, HISTORY = 64, 16, 10
WIDTH, LAYERS, MODES = 32, 4, 12
MODELS = ("fno", "neuraloperator_fno", "unet")


def build(name: str):
    """The model and a function mapping a ``(batch, history, 64, 64)`` input to its output."""
    if name == "fno":
        from pdesurrogate.models import FNO

        model = FNO(["vorticity"], HISTORY, 1, hidden_channels=WIDTH, layers=LAYERS, modes=MODES,
                    lifting_channels=2 * WIDTH, projection_channels=2 * WIDTH, channel_mlp=True,
                    channel_mlp_expansion=0.5, grid_embedding="linear", skip="linear")
        return model, lambda x: model(x.unsqueeze(2))[:, :, 0]
    if name == "neuraloperator_fno":
        from neuralop.models import FNO

        model = FNO(n_modes=(2 * MODES, 2 * MODES - 2), in_channels=HISTORY, out_channels=1, hidden_channels=WIDTH,
                    n_layers=LAYERS, lifting_channel_ratio=2, projection_channel_ratio=2, use_channel_mlp=True,
                    channel_mlp_expansion=0.5, fno_skip="linear", positional_embedding="grid")
        return model, model
    if name == "unet":
        from pdesurrogate.models import UNet

        model = UNet(["vorticity"], HISTORY, 1, resolution=RESOLUTION, hidden_channels=WIDTH,
                     channel_multipliers=[1, 2, 2, 4], blocks_per_level=2, attention=True)
        return model, lambda x: model(x.unsqueeze(2))[:, :, 0]
    raise ValueError(name)


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes() -> int:
    """This process's resident-memory high-water mark (VmHWM; unlike ``ru_maxrss`` it is not
    inherited from the parent across fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_resident() -> None:
    """Start the high-water mark afresh (Linux ≥ 4.0), so that imports do not count."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def training_step(name: str):
    """A closure running one training step of ``name`` (``None`` if the library is missing)."""
    import torch

    torch.manual_seed(0)
    model, forward = build(name)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, HISTORY, RESOLUTION, RESOLUTION)
    y = torch.randn(BATCH, 1, RESOLUTION, RESOLUTION)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(forward(x), y)
        loss.backward()
        optimizer.step()

    # Real parameters: a complex weight counts twice (neuraloperator stores complex tensors).
    parameters = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    return step, parameters


def peak_memory_worker(name: str, threads: int) -> dict:
    """Peak resident memory added by building and training ``name`` (run in a fresh process)."""
    import torch

    torch.set_num_threads(threads)
    build(name)  # imports, so that only the model and its training count below
    reset_peak_resident()
    baseline = resident_bytes()
    step, _ = training_step(name)
    for _ in range(3):
        step()
    return {"peak_memory_mib": (peak_resident_bytes() - baseline) / 2**20}


def available(name: str) -> str | None:
    """``None`` when ``name`` can be built, else why not."""
    try:
        build(name)
    except ImportError as error:
        return f"not installed ({error.name}); pip install -e '.[bench]'"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--rounds", type=int, default=7, help="turns each model takes (medians are reported)")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per turn")
    parser.add_argument("--memory-worker", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(json.dumps(peak_memory_worker(args.memory_worker, args.threads)))
        return

    skipped = {name: why for name in MODELS if (why := available(name))}
    names = [name for name in MODELS if name not in skipped]
    steps, parameters = {}, {}
    for name in names:
        steps[name], parameters[name] = training_step(name)
        for _ in range(2):  # warm-up: allocator, optimiser state, FFT plans
            steps[name]()
    # Models take turns, a few steps each, in one process: drift in the machine's speed (other
    # users) hits all of them alike, and the ratio within a round cancels it.
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            for _ in range(args.steps):
                steps[name]()
            rates[name].append(BATCH * args.steps / (time.perf_counter() - start))

    result = {
        "benchmark": "train_throughput",
        "device": "cpu",
        "torch": torch.__version__,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "resolution": RESOLUTION,
        "batch_size": BATCH,
        "history_frames": HISTORY,
        "fno_settings": {"width": WIDTH, "layers": LAYERS, "modes": MODES, "lifting_projection": 2 * WIDTH,
                         "channel_mlp_expansion": 0.5, "skip": "linear", "grid_embedding": "linear"},
        "rounds": args.rounds,
        "steps_per_round": args.steps,
    }
    for name in MODELS:
        if name in skipped:
            result[name] = {"skipped": skipped[name]}
            continue
        command = [sys.executable, __file__, "--memory-worker", name, "--threads", str(args.threads)]
        memory = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        result[name] = {
            "samples_per_s": statistics.median(rates[name]),
            "samples_per_s_rounds": [round(r, 2) for r in rates[name]],
            "peak_memory_mib": round(memory["peak_memory_mib"], 1),
            "parameters": parameters[name],
        }
    if "neuraloperator_fno" in rates:
        ratios = [ours / theirs for ours, theirs in zip(rates["fno"], rates["neuraloperator_fno"])]
        result["fno_speedup_vs_neuraloperator"] = round(statistics.median(ratios), 3)
        result["fno_speedup_rounds"] = [round(r, 3) for r in ratios]
        result["fno_memory_ratio_vs_neuraloperator"] = round(
            result["fno"]["peak_memory_mib"] / result["neuraloperator_fno"]["peak_memory_mib"], 3)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
