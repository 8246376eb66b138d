"""The benchmark's entry point :func:`write_report` and the markdown of ``report.md``.

Reads a benchmark output directory ``OUT`` (``results.csv`` in the long form of
:data:`~pdesurrogate.evaluation.scoring.RESULT_COLUMNS`, ``runs/<model>/seed-<seed>/predictions/<split>.nc``,
optionally ``speed.json``) and the dataset it was scored on, and writes ``OUT/summary.csv``
(:mod:`.summary`), ``OUT/figures/*.png`` (:mod:`.figures`) and ``OUT/report.md``: per split the headline
metric with 95 % intervals over seeds, OOD/ID ratios, rankings, the comparison with the baselines,
diverged rollouts, speed and the list of figures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..evaluation.coarse_solver import COARSE_SOLVER
from ..evaluation.scoring import BASELINES
from .fields import DatasetInfo
from .figures import Figures
from ..run_directory import write_atomically
from .intervals import Interval, non_negative
from .ensembles import ensemble_section
from .results import Results, group_results, seed_order
from .summary import ood_ratio, summarise, write_summary

SIMPLE_BASELINES = ("persistence", "training_mean")
"""The baselines judged together ("beats both"); ``coarse_solver`` gets a verdict of its own."""

HIGHER_IS_BETTER = frozenset({"correlation"})
"""Metrics whose larger values are better; every other metric is an error (smaller is better)."""


def _number(x: float) -> str:
    return "NaN" if not np.isfinite(x) else f"{x:.4g}"


def _cell(interval: Interval) -> str:
    if interval.n == 0:
        return "NaN (no surviving sample)"
    if interval.n == 1:
        return f"{_number(interval.mean)} (1 seed, no CI)"
    if interval.symmetric:
        return f"{_number(interval.mean)} ± {interval.half_width:.2g}"
    return f"{_number(interval.mean)} [{interval.low:.2g}, {interval.high:.2g}]"


def _better(metric: str, a: float, b: float) -> bool:
    return a > b if metric in HIGHER_IS_BETTER else a < b


def _bounds(i: Interval) -> tuple[float, float]:
    """The interval, or the point itself when there is no CI (one seed: a deterministic baseline)."""
    if i.n >= 2:
        return i.low, i.high
    return i.mean, i.mean


def _separable(a: Interval, b: Interval) -> str:
    if a.n < 2 and b.n < 2:
        return "no CI on either: not assessable"
    (alow, ahigh), (blow, bhigh) = _bounds(a), _bounds(b)
    if ahigh < blow or bhigh < alow:
        return "CIs disjoint: separable"
    return "CIs overlap: not separable"


def _split_kind(split: str, meta: Mapping) -> str:
    if split == meta.get("id_split"):
        return "in distribution"
    if split in (meta.get("ood_splits") or []):
        return "out of distribution"
    if split == meta.get("sweep_split"):
        return "viscosity sweep"
    return "other split"


AGGREGATION_TEXT = """\
Every number below belongs to one model, split, variable and metric: variables are never summed or \
averaged together, and neither are splits. For each seed, the metric is averaged over the samples of \
the split at each scored step, then over the scored steps (the horizon mean; `summary.csv` also keeps \
one row per step). A sample with any non-finite value of that metric within the horizon has \
**diverged**: it is left out of its seed's mean and counted in `diverged_samples` (and below); a seed \
none of whose samples survived does not count in `n_seeds`, and a model and split whose every sample \
diverged has mean NaN. Across seeds we report the mean of the per-seed means and its 95 % \
confidence interval (Student t with n−1 degrees of freedom over the n seeds). An error cannot be \
negative, so for errors, their OOD/ID ratios and correlation times the interval is taken on the log \
of the per-seed values, [exp(m − t(0.975, n−1) · s / √n), exp(m + t(0.975, n−1) · s / √n)] with m and \
s the mean and standard deviation of the logs, and shown as `mean [low, high]`: it stays above zero \
and widens upwards where a seed went badly. Signed metrics (drifts, spectrum log-ratios, the \
correlation) get mean ± t(0.975, n−1) · s / √n. With one seed, as for the deterministic baselines \
`persistence`, `training_mean` and `coarse_solver`, \
there is no interval. OOD/ID ratios are computed per seed (the same seed on both splits) and then \
aggregated the same way. Two models are called separable when their intervals do not overlap (for a \
baseline, when its value lies outside the model's interval).
"""



def _ranked(results: Results, split: str, variable: str, metric: str) -> tuple[list[tuple[str, Interval]], list[str]]:
    """The models and baselines with ``metric`` rows, those with a finite horizon mean best first (ties
    in the models' order), and the others (every sample diverged)."""
    present = [(m, results.interval(m, split, variable, metric)) for m in results.models]
    present = [(m, i) for m, i in present if i is not None]
    finite = sorted([(m, i) for m, i in present if np.isfinite(i.mean)],
                    key=lambda c: -c[1].mean if metric in HIGHER_IS_BETTER else c[1].mean)
    return finite, [m for m, i in present if not np.isfinite(i.mean)]


def _words(metric: str) -> tuple[str, str]:
    """``(better, sign)``: which way is better for ``metric`` in words and as the ranking's sign."""
    return ("higher", ">") if metric in HIGHER_IS_BETTER else ("lower", "<")


def _header(results: Results, splits: Sequence[str], meta: Mapping, metric: str, notes: Sequence[str]) -> list[str]:
    lines = ["# Out-of-distribution viscosity benchmark", ""]
    lines += [f"- Command: `{meta.get('command', '?')}`", f"- Commit: `{meta.get('commit', '?')}`",
              f"- Machine: {meta.get('machine', '?')}"]
    band = meta.get("train_viscosity")
    if band:
        lines.append(f"- Training viscosity range: [{float(band[0]):.4g}, {float(band[1]):.4g}]")
    grid = meta.get("grid")
    if grid:
        (ny, nx), (ly, lx), k_n = grid["shape"], grid["lengths"], grid["band_scale"]
        lines.append(f"- Grid: {ny} (y) × {nx} (x) on a periodic {ly:g} × {lx:g} box; spectral bands of the physical "
                     f"wavenumber |k|: low (0, {k_n / 4:.4g}], mid ({k_n / 4:.4g}, {k_n / 2:.4g}], high > {k_n / 2:.4g} "
                     f"(k_N = π·min(N_x/L_x, N_y/L_y) = {k_n:.4g})")
    if "score_from" in meta or "horizon" in meta:
        lines.append(f"- Scoring window: frames from saved index {meta.get('score_from', '?')} over a horizon of "
                     f"{meta.get('horizon', '?')} frames")
    lines.append(f"- Headline metric: `{metric}` ({_words(metric)[0]} is better)")
    lines.append(f"- Models: {', '.join(results.trained) or 'none'}; baselines: "
                 f"{', '.join(m for m in results.models if m in BASELINES) or 'none'}")
    cut = [name for name, done in (meta.get("runs") or {}).items() if ((done or {}).get("budget") or {}).get("cut_short")]
    if cut:
        lines.append(f"- **{len(cut)} run(s) cut short of their epoch budget** (see Training budget): {', '.join(cut)}")
    if meta.get("missing_runs"):
        lines.append(f"- Runs not finished, left out of everything below: {', '.join(map(str, meta['missing_runs']))}")
    lines.append("- Splits: " + ", ".join(f"{s} ({_split_kind(s, meta)}{_viscosity_range(results, s)})"
                                          for s in splits))
    lines += ["", "## How the numbers are aggregated", "", AGGREGATION_TEXT.strip(), ""]
    if notes:
        lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return lines


def _per_split_tables(results: Results, splits: Sequence[str], meta: Mapping, metric: str,
                      figures: Figures) -> list[str]:
    better = _words(metric)[0]
    lines = [f"## Headline metric `{metric}` per split", "",
             f"Horizon mean and 95 % interval over seeds (`[low, high]` on the log scale for errors, `± half-width` "
             f"otherwise); **bold ★** marks the best ({better}) mean per "
             "variable; † marks a model with diverged samples (see below).", ""]
    for split in splits:
        lines += [f"### {split} ({_split_kind(split, meta)})", ""]
        variables = results.variables_with(metric, [split])
        if not variables:
            lines += [f"No `{metric}` rows for this split.", ""]
            continue
        lines.append("| model | " + " | ".join(variables) + " |")
        lines.append("|---" * (len(variables) + 1) + "|")
        best = {}
        for v in variables:
            finite, _ = _ranked(results, split, v, metric)
            if finite:
                best[v] = finite[0][0]
        for model in results.models:
            cells = []
            for v in variables:
                table = results.get(model, split, v, metric)
                if table is None:
                    cells.append("—")
                    continue
                text = _cell(Interval.of(table.per_seed(), non_negative(metric)))
                if best.get(v) == model:
                    text = f"**{text}** ★"
                if table.diverged.any():
                    text += " †"
                cells.append(text)
            name = f"{model} (baseline)" if model in BASELINES else model
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        for relative in (f"figures/error_vs_step_{split}.png", f"figures/error_vs_cost_{split}.png",
                         f"figures/spectra_{split}.png"):
            if relative in figures.drawn:
                lines += [f"![{figures.drawn[relative]}]({relative})", ""]
    return lines


def _in_vs_out(results: Results, splits: Sequence[str], meta: Mapping, metric: str) -> list[str]:
    id_split = meta.get("id_split")
    ood_splits = [s for s in (meta.get("ood_splits") or []) if s in splits]
    lines = ["## In- vs out-of-distribution", ""]
    if id_split not in splits or not ood_splits:
        return lines + [f"Not computed: the results need the in-distribution split ({id_split}) and an "
                        f"out-of-distribution split ({', '.join(meta.get('ood_splits') or []) or 'none named'}).", ""]
    lines += [f"Ratio of the horizon-mean `{metric}` on each out-of-distribution split to that on `{id_split}`, "
              "per seed, then mean and 95 % interval over seeds, on the log scale (above 1: worse out of distribution"
              f"{' for an error metric' if metric not in HIGHER_IS_BETTER else ''}).", ""]
    lines.append("| model | variable | " + " | ".join(f"{s} / {id_split}" for s in ood_splits) + " |")
    lines.append("|---" * (len(ood_splits) + 2) + "|")
    for model in results.models:
        for v in results.variables:
            ratios = [ood_ratio(results, model, v, metric, id_split, s) for s in ood_splits]
            if all(r is None for r in ratios):
                continue
            lines.append(f"| {model} | {v} | " + " | ".join("—" if r is None else _cell(r) for r in ratios) + " |")
    return lines + [""]


def _ranking(results: Results, splits: Sequence[str], metric: str) -> list[str]:
    better, sign = _words(metric)
    lines = ["## Ranking per split", "",
             f"Models and baselines ordered by horizon-mean `{metric}` (best first, `{sign}` = {better}), "
             "each neighbouring pair with whether their 95 % intervals separate them.", ""]
    for split in splits:
        for v in results.variables:
            finite, failed = _ranked(results, split, v, metric)
            if not finite and not failed:
                continue
            text = ""
            for k, (m, i) in enumerate(finite):
                text += f" {sign} {m} ({_separable(finite[k - 1][1], i)})" if k else m
            if finite:
                text += "; values: " + ", ".join(f"{m} {_cell(i)}" for m, i in finite)
            if failed:
                text += f"; not ranked (every sample diverged): {', '.join(failed)}"
            lines.append(f"- **{split}**, {v}: {text}")
    return lines + [""]


def _against_baselines(results: Results, splits: Sequence[str], metric: str) -> list[str]:
    lines = ["## Does each model beat the baselines?", "",
             f"On the horizon-mean `{metric}`: *yes* when the model's mean is {_words(metric)[0]} than the "
             "baselines', *yes (separable)* when its whole 95 % interval is. `persistence` and `training_mean` are "
             "judged together, `coarse_solver` (the dataset's own solver on the saved grid) on its own.", ""]
    lines += ["| split | model | variable | model | persistence | training_mean | coarse_solver | beats both | "
              "beats coarse_solver |", "|---" * 9 + "|"]
    for split in splits:
        for model in results.trained:
            for v in results.variables:
                i = results.interval(model, split, v, metric)
                if i is None:
                    continue
                simple = [results.interval(b, split, v, metric) for b in SIMPLE_BASELINES]
                coarse = results.interval(COARSE_SOLVER, split, v, metric)
                lines.append(f"| {split} | {model} | {v} | {_cell(i)} | "
                             + " | ".join("—" if b is None else _cell(b) for b in [*simple, coarse])
                             + f" | {_beats(i, simple, metric)} | "
                             + ("— (no coarse solver)" if coarse is None else _beats(i, [coarse], metric)) + " |")
    return lines + [""]


def _against_coarse_solver(results: Results, splits: Sequence[str], metric: str) -> list[str]:
    """The headline: for each model and split, whether it beats the dataset's own solver on the saved grid."""
    lines = ["## Headline: does each model beat the coarse solver?", ""]
    if not any(results.get(COARSE_SOLVER, s, v, metric) is not None for s in splits for v in results.variables):
        return lines + ["No `coarse_solver` rows: this dataset has no solver to run on its saved grid "
                        "(see the log of the scoring stage).", ""]
    lines += [f"`coarse_solver` is the dataset's own equation, forcing, drag, scheme and step rule run on the saved "
              "grid from the last context frame over the scored horizon: what a surrogate must beat to be worth "
              f"using. Same rule as for the other baselines (horizon-mean `{metric}`, *separable* when the model's "
              "whole 95 % interval is on the better side). Cells: model mean / coarse-solver value: verdict.", ""]
    lines += ["| model | variable | " + " | ".join(splits) + " |", "|---" * (len(splits) + 2) + "|"]
    for model in results.trained:
        for v in results.variables:
            cells = []
            for split in splits:
                i, c = results.interval(model, split, v, metric), results.interval(COARSE_SOLVER, split, v, metric)
                cells.append("—" if i is None or c is None else
                             f"{_number(i.mean)} / {_number(c.mean)}: {_beats(i, [c], metric)}")
            if any(cell != "—" for cell in cells):
                lines.append(f"| {model} | {v} | " + " | ".join(cells) + " |")
    return lines + [""]


def _diverged(results: Results, splits: Sequence[str], metric: str) -> list[str]:
    lines = ["## Diverged rollouts", "",
             f"(seed, sample) pairs with a non-finite `{metric}` at some scored step, out of all pairs scored; "
             "they are excluded from every mean above.", ""]
    rows = []
    for split in splits:
        for model in results.models:
            for v in results.variables:
                table = results.get(model, split, v, metric)
                if table is not None and table.diverged.any():
                    seeds = sorted({table.seeds[s] for s in np.flatnonzero(table.diverged.any(1))}, key=seed_order)
                    rows.append(f"| {split} | {model} | {v} | {int(table.diverged.sum())} of "
                                f"{int(table.pairs.sum())} | {', '.join('–' if s is None else str(s) for s in seeds)} |")
    if rows:
        lines += ["| split | model | variable | diverged pairs | seeds |", "|---" * 5 + "|"] + rows
    else:
        lines.append(f"None: every `{metric}` value is finite.")
    other = _other_non_finite(results, splits, metric)
    if other:
        lines += ["", "Other metrics with non-finite values (counted in `summary.csv`'s `diverged_samples`): "
                  + "; ".join(other) + "."]
    return lines + [""]


def _speed(speed: dict | None) -> list[str]:
    lines = ["## Speed", ""]
    if speed is None:
        return lines + ["No `speed.json` in the output directory: no timing.", ""]
    solver = speed.get("solver_seconds")
    timed = f" of split {speed['split']}" if speed.get("split") else ""
    lines += [f"Time to produce the scored rollouts of {speed.get('trajectories', '?')} trajectories{timed} "
              f"({speed.get('frames', '?')} frames each) on {speed.get('device', '?')}; the solver ran at "
              f"{speed.get('sim_resolution', '?')}² for the same trajectories. Speed-up = solver seconds / "
              "surrogate seconds.", "",
              "| model | surrogate [s] | solver [s] | speed-up |", "|---|---|---|---|"]
    for model, seconds in (speed.get("surrogate") or {}).items():
        try:
            up = float(solver) / float(seconds)
            up_text = f"{up:.3g}×"
        except (TypeError, ValueError, ZeroDivisionError):
            up_text = "—"
        lines.append(f"| {model} | {_seconds(seconds)} | {_seconds(solver)} | {up_text} |")
    grids = speed.get("solver_grids") or {}
    if grids:
        lines += ["", "The dataset's own solver on coarser grids, from the last context frame over the same scored "
                  "frames of the same trajectories (the saved grid is the `coarse_solver` baseline; finer grids start "
                  "from the saved frame zero-padded in Fourier space):", "",
                  "| solver | grid | seconds | seconds per trajectory |", "|---|---|---|---|"]
        count = speed.get("trajectories")
        for name, run in grids.items():
            per = _seconds(float(run["seconds"]) / count) if isinstance(count, int) and count else "—"
            lines.append(f"| {name} | {run.get('resolution', '?')}² | {_seconds(run.get('seconds'))} | {per} |")
    return lines + [""]


def _budget(meta: Mapping) -> list[str]:
    """Per model, the epochs each seed completed against the budget, and every run a clock cap cut short."""
    budget, runs = meta.get("budget") or {}, meta.get("runs") or {}
    lines = ["## Training budget", ""]
    if not budget:
        return []
    cap = budget.get("max_minutes")
    lines.append(f"Every model trains for {budget.get('epochs', '?')} epochs, the same on every machine"
                 + (f", with a safety cap of {cap:g} min of wall time per run." if cap else "; no wall-clock cap."))
    by_model: dict[str, list[str]] = {}
    cut = []
    for name, done in runs.items():
        record = (done or {}).get("budget")
        model = (done or {}).get("model", name)
        if record is None:
            by_model.setdefault(model, []).append("?")
            continue
        by_model.setdefault(model, []).append(str(record.get("epochs_completed", "?")))
        if record.get("cut_short"):
            cut.append(f"{name} ({record.get('epochs_completed')} of {record.get('max_epochs')} epochs"
                       + (", stopped by the clock cap" if record.get("cut_by_clock") else "") + ")")
    if by_model:
        lines += ["", "| model | epochs completed per seed | fit wall seconds per seed | fit CPU seconds per seed |",
                  "|---|---|---|---|"]
        for model, epochs in by_model.items():
            mine = [d for d in runs.values() if d and d.get("model") == model]
            wall = ", ".join(_seconds(d.get("fit_seconds")) for d in mine)
            cpu = ", ".join(_seconds(d.get("fit_cpu_seconds")) for d in mine)
            lines.append(f"| {model} | {', '.join(epochs)} | {wall} | {cpu} |")
    lines += ["", ("**Runs cut short (their learning-rate schedule never finished; their scores are of a different, "
                   "less trained model):** " + "; ".join(cut)) if cut else
              "Every run completed its epochs.", ""]
    return lines


def _figure_list(figures: Figures) -> list[str]:
    lines = ["## Figures", ""]
    for relative, caption in figures.drawn.items():
        lines.append(f"- [{relative}]({relative}): {caption}")
    for reason in figures.skipped:
        lines.append(f"- not drawn: {reason}")
    return lines + [""]


def _report(results: Results, splits: Sequence[str], meta: Mapping, speed: dict | None, figures: Figures,
            notes: Sequence[str]) -> str:
    metric = meta.get("headline_metric", "rel_l2")
    lines = (_header(results, splits, meta, metric, notes) + _against_coarse_solver(results, splits, metric)
             + _per_split_tables(results, splits, meta, metric, figures)
             + _in_vs_out(results, splits, meta, metric) + _ranking(results, splits, metric)
             + _against_baselines(results, splits, metric) + _diverged(results, splits, metric) + _budget(meta)
             + _speed(speed)
             + _figure_list(figures))
    return "\n".join(lines)


def _seconds(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return "—"


def _viscosity_range(results: Results, split: str) -> str:
    values = np.concatenate([t.viscosity for (m, s, *_), t in results.tables.items() if s == split] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    if not len(values):
        return ""
    low, high = values.min(), values.max()
    return f", ν = {low:.3g}" if low == high else f", ν ∈ [{low:.3g}, {high:.3g}]"


def _beats(model: Interval, baselines: Sequence[Interval | None], metric: str) -> str:
    if not np.isfinite(model.mean):
        return "no (every sample diverged)"
    present = [b for b in baselines if b is not None and np.isfinite(b.mean)]
    if len(present) < len(baselines):
        return "— (a baseline is missing or diverged)"
    if not all(_better(metric, model.mean, b.mean) for b in present):
        return "no"
    edge = model.low if metric in HIGHER_IS_BETTER else model.high
    if model.n >= 2 and all(_better(metric, edge, b.mean) for b in present):
        return "yes (separable)"
    return "yes (means only; the CI reaches a baseline)" if model.n >= 2 else "yes (one seed, no CI)"


def _other_non_finite(results: Results, splits: Sequence[str], headline: str) -> list[str]:
    found = []
    for (model, split, variable, metric), table in results.tables.items():
        if metric == headline or split not in splits or not table.diverged.any():
            continue
        n, total = int(table.diverged.sum()), int(table.pairs.sum())
        reason = ""
        if model == "training_mean" and n == total:  # a constant field: expected, not a divergence
            if metric == "correlation":
                reason = " (a constant prediction has no correlation)"
            elif metric.startswith("spectrum_"):
                reason = " (a constant prediction has no energy at |k| > 0: log 0)"
        found.append(f"{model} {split} {variable} `{metric}`: {n} of {total}{reason}")
    return found


def _ordered_splits(results: Results, meta: Mapping) -> list[str]:
    """The scored splits: in distribution, out of distribution, the sweep, then any other."""
    wanted = [meta.get("id_split"), *(meta.get("ood_splits") or []), meta.get("sweep_split")]
    ordered = [s for s in wanted if s and s in results.splits]
    return ordered + [s for s in results.splits if s not in ordered]


def write_report(out: Path, dataset_root: Path, meta: dict) -> Path:
    """Aggregate ``out/results.csv`` into ``out/summary.csv``, draw ``out/figures/*.png`` and write
    ``out/report.md`` (returned). Every file is written under a temporary name and renamed."""
    out, dataset_root = Path(out), Path(dataset_root)
    results_path = out / "results.csv"
    if not results_path.is_file():
        raise UserError(f"{out} has no results.csv: run the benchmark's scoring stage first")
    results = group_results(results_path)
    splits = _ordered_splits(results, meta)
    write_summary(out / "summary.csv", summarise(results, splits))

    notes = []
    if results.conflicting_duplicates:
        notes.append(f"{results.conflicting_duplicates} repeated rows of results.csv (same model, seed, split, "
                     "sample, step, variable and metric) disagree; their values were averaged.")
    dataset, problem = DatasetInfo.open(dataset_root, splits)
    if problem:
        notes.append(f"The dataset could not be read ({problem}): figures that need the true fields are left out.")
    speed = None
    speed_path = out / "speed.json"
    if speed_path.is_file():
        try:
            speed = json.loads(speed_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            notes.append(f"speed.json is not valid JSON ({error}): no timing.")

    figures = Figures(out, results, splits, dataset, meta)
    figures.draw_all()
    text = _report(results, splits, meta, speed, figures, notes)
    ensemble_lines, _ = ensemble_section(out, meta.get("ensemble_members", {}))
    text = text.rstrip("\n") + "\n\n" + "\n".join(ensemble_lines) if ensemble_lines else text
    return write_atomically(out / "report.md", lambda temporary: temporary.write_text(text, encoding="utf-8"))


__all__ = ["write_report"]
