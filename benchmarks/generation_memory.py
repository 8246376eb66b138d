"""Peak memory of dataset generation at N and 4N samples, and its throughput; prints one JSON object.

Each generation runs in a fresh Python process so that its peak resident set size (``ru_maxrss``)
is its own. Streaming means the peak should not grow with the number of samples: the ratio
``peak_rss_4N / peak_rss_N`` is the number to look at (≈ 1). Throughput is samples per second of
the given config at its own size (N), measured in the same run.

    .venv/bin/python benchmarks/generation_memory.py [--config configs/data/ns_ood_small.yaml]
        [--factor 4] [--threads K]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child: generate, then report wall time and peak RSS (KiB on Linux).
CHILD = r"""
import json, resource, sys, time, warnings
import torch
threads = int(sys.argv[3])
if threads > 0:
    torch.set_num_threads(threads)
from data_gen.dataset import generate, load_config
config = load_config(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
warnings.simplefilter("ignore")
start = time.perf_counter()
result = generate(config, sys.argv[2], progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"samples": result.written_samples, "seconds": seconds, "rss_before_kib": before,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "threads": torch.get_num_threads()}))
"""


def scaled(config_text: str, factor: int) -> str:
    raw = yaml.safe_load(config_text)
    for split in raw["splits"].values():
        key = "samples_per_viscosity" if "samples_per_viscosity" in split else "samples"
        split[key] *= factor
    return yaml.safe_dump(raw, sort_keys=False)


def run(config_text: str, workdir: Path, name: str, threads: int) -> dict:
    config_path = workdir / f"{name}.yaml"
    config_path.write_text(config_text)
    out = subprocess.run([sys.executable, "-c", CHILD, str(config_path), str(workdir / name), str(threads)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "data" / "ns_ood_small.yaml"))
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads, as `pdesurrogate generate --threads` (default 0: torch's own)")
    args = parser.parse_args()
    text = Path(args.config).read_text()
    with tempfile.TemporaryDirectory() as tmp:
        small = run(text, Path(tmp), "n", args.threads)
        large = run(scaled(text, args.factor), Path(tmp), "kn", args.threads)
    mib = 1 / 1024
    print(json.dumps({
        "config": str(Path(args.config).relative_to(ROOT) if Path(args.config).is_relative_to(ROOT) else args.config),
        "device": "cpu",
        "torch_threads": small["threads"],
        "memory": {
            "samples_N": small["samples"],
            f"samples_{args.factor}N": large["samples"],
            "rss_after_imports_mib": round(small["rss_before_kib"] * mib, 1),
            "peak_rss_N_mib": round(small["peak_rss_kib"] * mib, 1),
            f"peak_rss_{args.factor}N_mib": round(large["peak_rss_kib"] * mib, 1),
            f"peak_ratio_{args.factor}N_over_N": round(large["peak_rss_kib"] / small["peak_rss_kib"], 3),
        },
        "throughput": {
            "samples": small["samples"],
            "seconds": round(small["seconds"], 2),
            "samples_per_second": round(small["samples"] / small["seconds"], 2),
            f"samples_per_second_{args.factor}N": round(large["samples"] / large["seconds"], 2),
        },
    }, indent=2))


if __name__ == "__main__":
    main()
