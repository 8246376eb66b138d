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
