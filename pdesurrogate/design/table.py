"""The routes of a ``design.json`` side by side, as a Markdown table."""

from __future__ import annotations

COLUMNS = ("route", "objective (surrogate)", "objective (solver)", "gap", "design error", "in distribution",
           "surrogate calls", "solver calls", "wall time [s]")


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def route_table(summary: dict) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, route in summary["routes"].items():
        objective = route["objective"]
        cells = (name, _number(objective["surrogate"]), _number(objective["solver"]), _number(objective["gap"]),
                 _number(route["design_error"]), {True: "yes", False: "**no**", None: "–"}[route["in_distribution"]],
                 str(route["surrogate_calls"]), str(route["solver_calls"]), f"{route['seconds']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_example(config_name: str, description: str, argv: list[str] | None = None) -> dict:
    """What each script in ``examples/`` does: run ``configs/design/<config_name>.yaml`` into
    ``--out`` (default ``runs/design/<config_name>``) and print the instance and the routes."""
    import argparse
    import json
    from pathlib import Path

    from .config import parse_design
    from .runner import DesignRun

    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--out", default=f"runs/design/{config_name}", help="where design.json and the figures go")
    out = parser.parse_args(argv).out
    config = Path(__file__).resolve().parents[2] / "configs" / "design" / f"{config_name}.yaml"
    summary = json.loads(DesignRun(parse_design(config), out).run().read_text())
    print(json.dumps(summary["instance"], indent=1))
    print(route_table(summary))
    return summary
