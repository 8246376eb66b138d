"""Every figure of the benchmark report, drawn by :class:`Figures` into ``OUT/figures``: the headline
metric against rollout step and against viscosity, energy spectra at the last scored frame, snapshots
of the lowest-viscosity sample, and the correlation time against viscosity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..evaluation import metrics
from ..evaluation.scoring import BASELINES
from .fields import DatasetInfo, Predictions, prediction_path, read_last_frame
from ..run_directory import write_atomically
from .intervals import Interval
from .results import Results
from .summary import CORRELATION_THRESHOLD, correlation_times, horizon_means

_BASELINE_STYLE = {"linestyle": "--"}


def _colours(models: Sequence[str]) -> dict[str, str]:
    palette = [f"C{i}" for i in range(10)]
    trained = [m for m in models if m not in BASELINES]
    colours = {m: palette[i % len(palette)] for i, m in enumerate(trained)}
    colours.update({"persistence": "0.35", "training_mean": "0.65"})
    return colours


def _arrays(intervals: Sequence[Interval]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The means, lower and upper bounds of ``intervals`` as arrays."""
    return (np.array([i.mean for i in intervals]), np.array([i.low for i in intervals]),
            np.array([i.high for i in intervals]))


def _band(axis, x, interval_rows: Sequence[Interval], colour: str, label: str, baseline: bool, marker: str | None = None):
    mean, low, high = _arrays(interval_rows)
    style = dict(_BASELINE_STYLE) if baseline else {}
    if not np.isfinite(mean).any():
        label += " (every sample diverged: no line)"
    axis.plot(x, mean, color=colour, label=label, marker=marker, markersize=4, **style)
    if np.isfinite(low).any():
        axis.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def _panels(count: int, width: float, height: float):
    """A figure with one row of ``count`` panels, ``width`` inches each (the figure 7 at the least), and the
    panels."""
    figure = Figure(figsize=(max(7.0, width * count), height), layout="constrained")
    return figure, figure.subplots(1, count, squeeze=False)[0]


def _metric_label(metric: str) -> str:
    labels = {"rel_l2": "relative L2 error [1]", "rmse": "RMSE [field units]", "nrmse": "NRMSE [1]",
              "vrmse": "VRMSE [1]", "max_error": "max error [field units]", "correlation": "correlation [1]"}
    return labels.get(metric, metric)


def _spectrum(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shell wavenumbers and the mean over samples of the isotropic spectrum of ``(sample, y, x)``."""
    k, energy = metrics.isotropic_spectrum(torch.from_numpy(np.ascontiguousarray(fields, dtype=np.float64)))
    return k.numpy(), energy.mean(0).numpy()


class Figures:
    """Draws every figure into ``out/figures``; remembers what was drawn and what could not be."""

    def __init__(self, out: Path, results: Results, splits: Sequence[str], dataset: DatasetInfo, meta: Mapping):
        self.out, self.results, self.splits, self.dataset, self.meta = out, results, splits, dataset, meta
        (out / "figures").mkdir(parents=True, exist_ok=True)
        self.metric = meta.get("headline_metric", "rel_l2")
        self.colours = _colours(results.models)
        self.drawn: dict[str, str] = {}  # relative path -> caption
        self.skipped: list[str] = []
        self._last_frames: dict[tuple[str, str, str], Predictions | None] = {}

    def _write(self, figure: Figure, name: str, caption: str) -> None:
        relative = f"figures/{name}"
        write_atomically(self.out / relative, lambda temporary: figure.savefig(temporary, format="png", dpi=110))
        self.drawn[relative] = caption

    def _train_range(self, axis) -> None:
        band = self.meta.get("train_viscosity")
        if band and len(band) == 2:
            axis.axvspan(float(band[0]), float(band[1]), color="tab:green", alpha=0.12,
                         label=f"training range ν ∈ [{float(band[0]):.3g}, {float(band[1]):.3g}]")

    def _last_frame(self, model: str, seed: str, split: str) -> Predictions | None:
        key = (model, seed, split)
        if key not in self._last_frames:
            path = prediction_path(self.out, model, seed, split)
            self._last_frames[key] = read_last_frame(path) if path.is_file() else None
        return self._last_frames[key]

    def draw_all(self) -> None:
        for split in self.splits:
            self.error_vs_step(split)
        self.error_vs_viscosity()
        for split in self.splits:
            self.spectra(split)
        self.snapshots_lowest_viscosity()
        self.correlation_time_vs_viscosity()

    # 1. error vs rollout step
    def error_vs_step(self, split: str) -> None:
        variables = self.results.variables_with(self.metric, [split])
        if not variables:
            self.skipped.append(f"error_vs_step_{split}.png: no {self.metric} rows for split {split}")
            return
        figure, axes = _panels(len(variables), 5.0, 4.4)
        for axis, variable in zip(axes, variables):
            for model in self.results.models:
                table = self.results.get(model, split, variable, self.metric)
                if table is None:
                    continue
                _band(axis, table.steps, Interval.columns(table.per_seed_step()), self.colours[model], model,
                      model in BASELINES, marker="o")
            axis.set_title(f"{variable}, split {split}")
            axis.set_xlabel("rollout step (scored frame number)")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.set_ylabel(_metric_label(self.metric))
            axis.grid(alpha=0.3)
            axis.legend(fontsize="small")
        figure.suptitle(f"{self.metric} vs rollout step, split {split}\n(band: 95 % CI over seeds; baselines dashed)")
        self._write(figure, f"error_vs_step_{split}.png",
                    f"{self.metric} vs rollout step on {split}, one panel per variable")

    # 2. error vs viscosity
    def error_vs_viscosity(self) -> None:
        variables = self.results.variables_with(self.metric, self.splits)
        if not variables:
            self.skipped.append(f"error_vs_viscosity.png: no {self.metric} rows")
            return
        figure, axes = _panels(len(variables), 5.5, 4.6)
        anything = False
        for axis, variable in zip(axes, variables):
            self._train_range(axis)
            for model in self.results.models:
                curve = horizon_means(self.results, model, variable, self.metric, self.splits)
                if not curve:
                    continue
                anything = True
                _band(axis, list(curve), list(curve.values()), self.colours[model], model, model in BASELINES, "o")
            axis.set_xscale("log")
            axis.set_title(f"{variable}: horizon-mean {self.metric} per viscosity")
            axis.set_xlabel(self.dataset.viscosity_label + " (log scale)")
            axis.set_ylabel(_metric_label(self.metric))
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="small")
        if not anything:
            self.skipped.append(f"error_vs_viscosity.png: no finite {self.metric} values")
            return
        figure.suptitle(f"{self.metric} vs viscosity over the samples of {', '.join(self.splits)}\n"
                        "(band: 95 % CI over seeds; baselines dashed)")
        self._write(figure, "error_vs_viscosity.png",
                    f"horizon-mean {self.metric} per viscosity value over every scored split, training range shaded")

    # 3. spectra
    def spectra(self, split: str) -> None:
        runs = {m: [(s, p) for s in self.results.seeds(m) if (p := self._last_frame(m, s, split)) is not None]
                for m in self.results.trained}
        runs = {m: r for m, r in runs.items() if r}
        if not runs:
            self.skipped.append(f"spectra_{split}.png: no predictions files for split {split}")
            return
        first = next(iter(runs.values()))[0][1]
        variables = list(first.fields)
        figure, axes = _panels(len(variables), 5.0, 4.6)
        drawn = False
        for axis, variable in zip(axes, variables):
            truth = self.dataset.truth(split, first.samples, variable, first.time)
            if truth is not None:
                k, energy = _spectrum(truth)
                axis.loglog(k[1:], energy[1:], color="black", linewidth=2, label="truth (dataset)")
                drawn = True
            for model, seeds in runs.items():
                per_seed = []
                for _, prediction in seeds:
                    if variable not in prediction.fields:
                        continue
                    fields = prediction.fields[variable]
                    finite = np.isfinite(fields).all(axis=(-2, -1))
                    if finite.any():
                        k, energy = _spectrum(fields[finite])
                        per_seed.append(energy)
                if not per_seed:
                    continue
                mean, low, high = _arrays(Interval.columns(np.stack(per_seed)))
                axis.loglog(k[1:], mean[1:], color=self.colours[model], label=f"{model} (mean of {len(per_seed)} seeds)")
                if np.isfinite(low).any():
                    # A log axis cannot show a band reaching zero or below: clip it well under the curve.
                    floor = np.nanmin(mean[1:][mean[1:] > 0]) * 1e-3 if (mean[1:] > 0).any() else 1e-30
                    axis.fill_between(k[1:], np.maximum(low[1:], floor), high[1:], color=self.colours[model], alpha=0.2,
                                      linewidth=0)
                drawn = True
            axis.set_title(f"{variable}, split {split}, t = {self.dataset.time(first.time)}")
            axis.set_xlabel("wavenumber k [cycles per domain]")
            axis.set_ylabel(f"E(k) of {variable} [field units²]")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="small")
        if not drawn:
            self.skipped.append(f"spectra_{split}.png: neither truth nor predictions could be read")
            return
        figure.suptitle(f"isotropic spectrum at the last scored frame, split {split}\n(mean over samples; "
                        "band: 95 % CI over seeds)")
        self._write(figure, f"spectra_{split}.png", f"isotropic energy spectrum at the last scored frame on {split}")

    # 4. snapshots
    def snapshots_lowest_viscosity(self) -> None:
        candidates = []  # (viscosity, split order, sample, split)
        for order, split in enumerate(self.splits):
            if not any(prediction_path(self.out, m, s, split).is_file()
                       for m in self.results.trained for s in self.results.seeds(m)):
                continue
            for (model, name, *_), table in self.results.tables.items():
                if name == split:
                    candidates += [(float(nu), order, int(sample), split)
                                   for nu, sample in zip(table.viscosity, table.samples)]
        if not candidates:
            self.skipped.append("snapshots_lowest_viscosity.png: no predictions files")
            return
        nu, _, sample, split = min(candidates)
        rows = []
        for model in self.results.trained:
            for seed in self.results.seeds(model):
                prediction = self._last_frame(model, seed, split)
                if prediction is not None and sample in prediction.samples:
                    rows.append((model, seed, prediction))
                    break
        if not rows:
            self.skipped.append(f"snapshots_lowest_viscosity.png: no predictions of sample {sample} of {split}")
            return
        variable = next(iter(rows[0][2].fields))
        time = rows[0][2].time
        truth = self.dataset.truth(split, np.array([sample]), variable, time)
        truth = truth[0] if truth is not None else None
        figure = Figure(figsize=(11.0, 3.3 * len(rows) + 0.6), layout="constrained")
        axes = figure.subplots(len(rows), 3, squeeze=False)
        x, y = rows[0][2].x, rows[0][2].y
        dx = float(x[1] - x[0]) if len(x) > 1 else 1.0
        dy = float(y[1] - y[0]) if len(y) > 1 else 1.0
        extent = (float(x[0]), float(x[-1]) + dx, float(y[0]), float(y[-1]) + dy)
        if truth is not None:
            vmax = float(np.nanmax(np.abs(truth)))
        else:
            vmax = max(float(np.nanmax(np.abs(np.nan_to_num(r[2].fields[variable], posinf=0, neginf=0)))) for r in rows)
        vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
        fields = [prediction.fields[variable][list(prediction.samples).index(sample)] for _, _, prediction in rows]
        errors = [f - truth if truth is not None else np.full_like(f, np.nan) for f in fields]
        finite_errors = [np.abs(e[np.isfinite(e)]).max() for e in errors if np.isfinite(e).any()]
        emax = max(finite_errors) if finite_errors else 1.0
        label = self.dataset.field_labels.get(variable, variable)
        unit = f" [{self.dataset.space_units}]" if self.dataset.space_units else ""
        shown = {}
        for r, ((model, seed, _), field_, error, row) in enumerate(zip(rows, fields, errors, axes)):
            panels = (("truth", truth, "RdBu_r", vmax), (f"{model} (seed {seed})", field_, "RdBu_r", vmax),
                      ("error = prediction − truth", error, "PuOr_r", emax))
            for c, (axis, (title, image, cmap, limit)) in enumerate(zip(row, panels)):
                if image is None:
                    axis.set_axis_off()
                    axis.set_title(f"{title}: not readable")
                    continue
                if not np.isfinite(image).all():
                    title += " (diverged)"
                shown[c == 2] = axis.imshow(image, origin="lower", extent=extent, cmap=cmap, vmin=-limit, vmax=limit)
                axis.set_title(title, fontsize="medium")
                if r == len(rows) - 1:
                    axis.set_xlabel(f"x{unit}")
                if c == 0:
                    axis.set_ylabel(f"y{unit}")
        # One colour bar for truth and predictions (a shared scale), one for the errors.
        if False in shown:
            figure.colorbar(shown[False], ax=axes[:, :2], shrink=0.8, label=label)
        if True in shown:
            figure.colorbar(shown[True], ax=axes[:, 2], shrink=0.8, label=f"error of {label}")
        figure.suptitle(f"lowest viscosity ν = {nu:.3g}: sample {sample} of {split}, {variable} at the last scored "
                        f"frame t = {self.dataset.time(time)}")
        self._write(figure, "snapshots_lowest_viscosity.png",
                    f"truth, prediction and error of sample {sample} of {split} (ν = {nu:.3g}) at t = {time:.4g}")

    # 5. correlation time
    def correlation_time_vs_viscosity(self) -> None:
        variables = self.results.variables_with("correlation", self.splits)
        if not variables:
            self.skipped.append("correlation_time_vs_viscosity.png: no correlation rows")
            return
        ends = [t.times[-1] for (m, s, v, metric), t in self.results.tables.items() if metric == "correlation"]
        horizon_end = float(np.nanmax(ends))
        figure, axes = _panels(len(variables), 5.5, 4.8)
        for axis, variable in zip(axes, variables):
            self._train_range(axis)
            for model in self.results.models:
                times, censored = correlation_times(self.results, model, variable, self.splits)
                if not times:
                    continue
                viscosities = sorted(times)
                intervals = [times[nu] for nu in viscosities]
                _band(axis, viscosities, intervals, self.colours[model], model, model in BASELINES)
                closed = [nu for nu in viscosities if not censored[nu]]
                opened = [nu for nu in viscosities if censored[nu]]
                axis.plot(closed, [times[nu].mean for nu in closed], "o", color=self.colours[model])
                axis.plot(opened, [times[nu].mean for nu in opened], "o", markerfacecolor="white",
                          color=self.colours[model])
            axis.axhline(horizon_end, color="black", linestyle=":", linewidth=1,
                         label=f"end of horizon t = {horizon_end:.4g}")
            axis.plot([], [], "o", markerfacecolor="white", color="black",
                      label=f"open: some samples stay ≥ {CORRELATION_THRESHOLD} over the horizon\n"
                            "(counted at the horizon end: a lower bound)")
            axis.set_xscale("log")
            axis.set_title(f"{variable}: time of first correlation < {CORRELATION_THRESHOLD}")
            axis.set_xlabel(self.dataset.viscosity_label + " (log scale)")
            unit = f" [{self.dataset.time_units}]" if self.dataset.time_units else ""
            axis.set_ylabel(f"correlation time (simulation time){unit}")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize="x-small")
        figure.suptitle("correlation time vs viscosity\n(mean over samples per seed; band: 95 % CI over seeds)")
        self._write(figure, "correlation_time_vs_viscosity.png",
                    f"first simulation time at which the correlation falls below {CORRELATION_THRESHOLD}, per viscosity; "
                    "open markers are lower bounds (no crossing within the horizon for some samples, counted at "
                    "the horizon end)")
