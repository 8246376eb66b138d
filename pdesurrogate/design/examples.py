"""The command line every script in ``examples/`` shares: run one shipped design config and print
what it found."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .config import parse_design
from .runner import DesignRun
from .table import route_table


def run_example(config_name: str, description: str, argv: list[str] | None = None) -> dict:
    """What each script in ``examples/`` does: run ``configs/design/<config_name>.yaml`` into
    ``--out`` (default ``runs/design/<config_name>``) and print the instance and the routes."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--out", default=f"runs/design/{config_name}", help="where design.json and the figures go")
    out = parser.parse_args(argv).out
    config = Path(__file__).resolve().parents[2] / "configs" / "design" / f"{config_name}.yaml"
    summary = json.loads(DesignRun(parse_design(config), out).run().read_text())
    print(json.dumps(summary["instance"], indent=1))
    print(route_table(summary))
    return summary
