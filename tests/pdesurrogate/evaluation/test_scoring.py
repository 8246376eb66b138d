"""The scoring window, baselines, result rows and predictions file (the evaluation contract)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from torch import nn

from pdesurrogate.data import DatasetReader
from pdesurrogate.errors import UserError
from pdesurrogate.evaluation.evaluate import evaluate_split
from pdesurrogate.evaluation.results import RESULT_COLUMNS, read_results, result_frame, write_results
from pdesurrogate.evaluation.scoring import ScoringWindow, persistence
from pdesurrogate.models import Surrogate
from pdesurrogate.training import SurrogateModule


class CopyLast(Surrogate):
    """Predicts its last input frame: exactly the persistence baseline, if the plumbing is right."""

    def __init__(self, variables, history, future=1, conditioning=()):
        super().__init__(variables, history, future, conditioning)
        self.unused = nn.Parameter(torch.zeros(()))  # a device to run on

    def forward_channels(self, x, embedding):
        last = x[:, -len(self.variables):]
        return last.repeat(1, self.future, 1, 1)


def copy_last_module(reader: DatasetReader, variables, history: int, future: int = 1) -> SurrogateModule:
    module = SurrogateModule(CopyLast(variables, history, future))
    module.normaliser.set_statistics(reader.stats(), variables)  # stats of the train split, not the test split
    return module.eval()


def frames_scored(rows, model):
    table = result_frame(rows)
    return sorted({(int(r.step), float(r.time)) for r in table[table.model == model].itertuples()})


def test_models_with_different_histories_are_scored_on_the_same_frames(ns_dataset):
    reader = DatasetReader(ns_dataset)
    times = xr.open_dataset(ns_dataset / "test_ood" / "shard-00000.nc", decode_times=False)["time"].values
    window = ScoringWindow(score_from=3, horizon=4)
    short = evaluate_split(copy_last_module(reader, ["vorticity"], 1), reader, "test_ood", window, "h1").rows
    long = evaluate_split(copy_last_module(reader, ["vorticity"], 3, future=2), reader, "test_ood", window, "h3").rows
    expected = [(step + 1, float(times[3 + step])) for step in range(4)]  # frames 3…6, never the context 0…2
    assert frames_scored(short, "h1") == frames_scored(long, "h3") == frames_scored(short, "persistence") == expected


def test_the_test_split_is_fed_in_physical_units_and_matches_persistence(ns_dataset):
    # A model that copies its input reproduces persistence only if it normalises with its own
    # statistics and its output is denormalised before scoring.
    reader = DatasetReader(ns_dataset)
    module = copy_last_module(reader, ["vorticity"], 2)
    mean, std = reader.stats()["vorticity"]
    assert abs(mean) > 0 and std != 1  # otherwise the test could not tell
    rows = evaluate_split(module, reader, "test_id", ScoringWindow(2, 5), "copy").rows
    table = result_frame(rows)
    values = {(r.model, r.sample, r.step, r.metric): r.value for r in table.itertuples()}
    model_rows = [k for k in values if k[0] == "copy"]
    assert model_rows
    for key in model_rows:
        assert values[key] == pytest.approx(values[("persistence", *key[1:])], rel=1e-5, abs=1e-6)
    # And persistence is no free lunch on these flows: its error grows with the step.
    assert values[("persistence", 0, 5, "rel_l2")] > values[("persistence", 0, 1, "rel_l2")] > 0


def test_result_rows_and_predictions_file_follow_the_contract(ns_dataset, tmp_path):
    reader = DatasetReader(ns_dataset)
    window = ScoringWindow(2, 3)
    path = tmp_path / "run" / "predictions" / "test_ood.nc"
    rows = evaluate_split(copy_last_module(reader, ["vorticity"], 2), reader, "test_ood", window, "copy", seed=7,
                          predictions=path, checkpoint="none.ckpt").rows
    results = write_results(tmp_path / "run" / "results.csv", rows)
    with results.open() as handle:
        assert tuple(next(csv.reader(handle))) == RESULT_COLUMNS
    table = read_results(results)
    assert {r.model: (r.role, r.seed) for r in table.itertuples()} == {
        "copy": ("model", 7), "persistence": ("baseline", pd.NA), "training_mean": ("baseline", pd.NA)}
    assert table["seed"].dtype == "Int64" and table["member"].isna().all()
    metrics = set(table.metric)
    assert {"rel_l2", "rmse", "nrmse", "vrmse", "max_error", "correlation", "band_low", "band_mid", "band_high",
            "spectrum_low", "spectrum_mid", "spectrum_high", "enstrophy_drift", "energy_drift"} <= metrics
    # persistence at step 1 predicts frame 1 for frame 2: its enstrophy drift is (Z₁ − Z₂) / Z₂
    with xr.open_dataset(ns_dataset / "test_ood" / "shard-00000.nc", decode_times=False) as shard:
        omega = shard["vorticity"].values[0].astype(np.float64)
    z1, z2 = 0.5 * np.mean(omega[1] ** 2), 0.5 * np.mean(omega[2] ** 2)
    (drift,) = table.value[(table.model == "copy") & (table["sample"] == 0) & (table.step == 1)
                           & (table.metric == "enstrophy_drift")]
    assert drift == pytest.approx((z1 - z2) / z2, rel=1e-5) and drift != 0
    # 2 samples × 3 frames × 1 variable per metric and model
    assert ((table.model == "copy") & (table.metric == "rmse")).sum() == 6

    source = xr.open_dataset(ns_dataset / "test_ood" / "shard-00000.nc", decode_times=False)
    with xr.open_dataset(path, decode_times=False) as written:
        assert written["vorticity"].dims == ("sample", "time", "y", "x")
        assert written["vorticity"].attrs["units"] == source["vorticity"].attrs["units"]
        np.testing.assert_array_equal(written["sample"], [0, 1])
        np.testing.assert_allclose(written["time"], source["time"][2:5])
        np.testing.assert_allclose(written["viscosity"], source["viscosity"])
        np.testing.assert_array_equal(written["seed"], source["seed"])
        assert written.attrs["score_from"] == 2 and written.attrs["horizon"] == 3
        assert written.attrs["model"] == "copy" and written.attrs["checkpoint"] == "none.ckpt"
        # persistence: every scored frame is frame score_from − 1 of the truth
        np.testing.assert_allclose(written["vorticity"][:, -1], source["vorticity"][:, 1], rtol=1e-5, atol=1e-6)


def test_windows_a_model_or_the_data_cannot_fill_are_refused(ns_dataset):
    reader = DatasetReader(ns_dataset)
    module = copy_last_module(reader, ["vorticity"], 3)
    with pytest.raises(UserError, match=r"score_from = 2 is below the history 3 of m"):
        evaluate_split(module, reader, "test_ood", ScoringWindow(2, 3), "m").rows
    with pytest.raises(UserError, match=r"horizon: score_from 3 \+ horizon 8 needs 11 frames; split 'test_ood' has 10"):
        evaluate_split(module, reader, "test_ood", ScoringWindow(3, 8), "m").rows


def test_a_diverged_rollout_is_reported_not_dropped(ns_dataset):
    class Diverging(CopyLast):
        def forward_channels(self, x, embedding):
            return super().forward_channels(x, embedding) * float("nan")

    reader = DatasetReader(ns_dataset)
    module = SurrogateModule(Diverging(["vorticity"], 1)).eval()
    module.normaliser.set_statistics(reader.stats(), ["vorticity"])
    rows = evaluate_split(module, reader, "test_ood", ScoringWindow(1, 2), "broken", baselines=False).rows
    assert rows and all(np.isnan(r[9]) for r in rows if r[8] == "rmse")


def test_persistence_repeats_the_last_context_frame():
    fields = torch.arange(5.0)[None, :, None, None, None].expand(2, 5, 1, 4, 4)
    guess = persistence(fields, ScoringWindow(3, 2))
    assert guess.shape == (2, 2, 1, 4, 4) and torch.all(guess == 2.0)


def test_baselines_alone_equal_those_beside_a_model(ns_dataset):
    from pdesurrogate.evaluation.evaluate import evaluate_baselines

    reader = DatasetReader(ns_dataset)
    window = ScoringWindow(2, 3)
    beside = result_frame(evaluate_split(copy_last_module(reader, ["vorticity"], 2), reader, "test_id", window,
                                         "copy").rows)
    beside = beside[beside.role == "baseline"]
    alone = result_frame(evaluate_baselines(reader, "test_id", window, ["vorticity"]))
    keys = [c for c in RESULT_COLUMNS if c != "value"]
    assert len(alone) == len(beside) > 0
    joined = alone.merge(beside, on=keys, suffixes=("_alone", "_beside"))
    assert len(joined) == len(alone)
    np.testing.assert_allclose(joined.value_alone, joined.value_beside, rtol=1e-6)


def test_shallow_water_invariants_drift_against_the_truth(multi_dataset):
    # Persistence at step 1 predicts frame 1 for frame 2: the drift of the energy above rest is
    # (E₁ − E₂) / |E₂| with E = mean(½ h (u² + v²) + ½ g h²) − ½ g H², computed here by hand.
    reader = DatasetReader(multi_dataset)
    variables = ["height", "u", "v", "vorticity"]
    rows = evaluate_split(copy_last_module(reader, variables, 2), reader, "test_ood", ScoringWindow(2, 3),
                          "copy").rows
    with xr.open_dataset(multi_dataset / "test_ood" / "shard-00000.nc", decode_times=False) as shard:
        h, u, v, zeta = (shard[name].values[0].astype(np.float64) for name in variables)
        g, depth, f = (float(shard[name].values[0]) for name in ("gravity", "mean_depth", "coriolis"))

    def energy(t):
        return np.mean(0.5 * h[t] * (u[t] ** 2 + v[t] ** 2) + 0.5 * g * h[t] ** 2) - 0.5 * g * depth ** 2

    def potential_enstrophy(t):
        return np.mean(0.5 * (zeta[t] + f) ** 2 / h[t])

    table = result_frame(rows)
    found = dict(table[(table.model == "copy") & (table["sample"] == 0) & (table.step == 1)
                       & (table.variable == "flow")][["metric", "value"]].itertuples(index=False, name=None))
    assert found["energy_drift"] == pytest.approx((energy(1) - energy(2)) / abs(energy(2)), rel=1e-5)
    assert found["potential_enstrophy_drift"] == pytest.approx(
        (potential_enstrophy(1) - potential_enstrophy(2)) / potential_enstrophy(2), rel=1e-5)
    assert found["energy_drift"] != 0
