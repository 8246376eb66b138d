"""Training: regime semantics, overfitting, loss decrease, checkpoints, resume, reproducibility."""

import json

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from pdesurrogate.errors import UserError
from pdesurrogate.data import PDEDataModule
from pdesurrogate.models import FNO, UNet
from pdesurrogate.training import REGIMES, SurrogateModule
from pdesurrogate.training.regimes import pushforward_random

TINY_FNO = dict(hidden_channels=12, layers=2, modes=6, lifting_channels=16, projection_channels=16, embedding_dim=8)


def tiny_module(regime="one_step", conditioning=(), history=2, **kwargs) -> SurrogateModule:
    network = FNO(["vorticity"], history, 1, conditioning=list(conditioning), **TINY_FNO)
    return SurrogateModule(network, regime=regime, warmup_steps=0, **kwargs)


def datamodule(root, unroll_steps=1, conditioning=(), **kwargs) -> PDEDataModule:
    return PDEDataModule(str(root), ["vorticity"], history=2, unroll_steps=unroll_steps, rollout_steps=3,
                         conditioning=list(conditioning), **kwargs)


def fixed_batch(dm: PDEDataModule, size: int = 8) -> dict:
    windows = dm.windows("train", dm.hparams.unroll_steps)
    items = [windows[i * (len(windows) // size)] for i in range(size)]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def trainer(**kwargs) -> pl.Trainer:
    defaults = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                    limit_train_batches=2, limit_val_batches=0, max_epochs=1)
    return pl.Trainer(**{**defaults, **kwargs})


class Scale(nn.Module):
    """``next = a · last frame``: a network whose rollouts are known in closed form."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(2.0))

    def forward(self, window, parameters=None):
        return self.a * window[:, -1:]


def test_regimes_in_closed_form():
    h = torch.ones(1, 2, 1, 1, 1)
    target = torch.zeros(1, 3, 1, 1, 1)
    network = Scale()
    prediction, matched = REGIMES["one_step"](network, h, None, target, 1)
    assert prediction.flatten().tolist() == [2.0] and matched.shape[1] == 1
    prediction, matched = REGIMES["unrolled"](network, h, None, target, 1)
    assert prediction.flatten().tolist() == [2.0, 4.0, 8.0] and matched.shape[1] == 3
    prediction.sum().backward()
    assert network.a.grad.item() == pytest.approx(1 + 2 * 2 + 3 * 4)  # d(a + a² + a³)/da at a = 2
    for unrolls in range(3):  # a · (a^u h without gradient): value a^(u+1), derivative a^u
        network.a.grad = None
        prediction, matched = REGIMES["pushforward"](network, h, None, target, 1, unrolls=unrolls)
        assert prediction.flatten().tolist() == [2.0 ** (unrolls + 1)]
        assert torch.equal(matched, target[:, unrolls : unrolls + 1])
        prediction.sum().backward()
        assert network.a.grad.item() == pytest.approx(2.0**unrolls)
    # By default the first s − 1 = 2 steps run without gradient (the definition) ...
    assert {REGIMES["pushforward"](network, h, None, target, 1)[0].item() for _ in range(10)} == {8.0}
    # ... and the random option draws every number of them.
    drawn = {pushforward_random(network, h, None, target, 1)[0].item() for _ in range(40)}
    assert drawn == {2.0, 4.0, 8.0}


@pytest.mark.parametrize("steps,expected", [("fixed", {2}), ("random", {0, 1, 2})])
def test_pushforward_takes_window_minus_one_steps_without_gradient_by_default(ns_dataset, steps, expected):
    dm = datamodule(ns_dataset, unroll_steps=3)
    module = tiny_module("pushforward", pushforward_steps=steps)
    module.normaliser.set_statistics(dm.stats, ["vorticity"])
    calls = []  # whether gradients were recorded, per network call
    module.network.register_forward_pre_hook(lambda network, inputs: calls.append(torch.is_grad_enabled()))
    batch, gradient_free = fixed_batch(dm, 2), set()
    torch.manual_seed(0)
    for _ in range(30):
        calls.clear()
        module.training_loss(batch)
        assert calls[-1] and not any(calls[:-1])  # one step with gradient, after all those without
        gradient_free.add(len(calls) - 1)
    assert gradient_free == expected


def test_tiny_model_overfits_one_batch(ns_dataset):
    torch.manual_seed(0)
    module = tiny_module()
    batch = fixed_batch(datamodule(ns_dataset))
    module.normaliser.set_statistics(datamodule(ns_dataset).stats, ["vorticity"])
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    initial = module.training_loss(batch).item()
    for _ in range(400):
        optimizer.zero_grad()
        loss = module.training_loss(batch)
        if loss.item() < initial / 100:
            break
        loss.backward()
        optimizer.step()
    assert loss.item() < initial / 100, (initial, loss.item())


@pytest.mark.parametrize("regime", ["one_step", "unrolled", "pushforward"])
def test_each_regime_lowers_its_loss(ns_dataset, regime):
    torch.manual_seed(0)
    dm = datamodule(ns_dataset, unroll_steps=3, conditioning=["viscosity"])
    module = tiny_module(regime, conditioning=["viscosity"], input_noise=0.01)
    module.normaliser.set_statistics(dm.stats, ["vorticity"])
    batch = fixed_batch(dm)
    optimizer = torch.optim.Adam(module.parameters(), lr=5e-3)
    with torch.no_grad():
        torch.manual_seed(1)
        before = module.training_loss(batch).item()
    for _ in range(20):
        optimizer.zero_grad()
        module.training_loss(batch).backward()
        optimizer.step()
    with torch.no_grad():
        torch.manual_seed(1)
        after = module.training_loss(batch).item()
    assert after < 0.5 * before, (before, after)


class StepLosses(pl.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.losses.append(outputs["loss"].item())


class Interrupt(pl.Callback):
    """Save a checkpoint at the end of the first epoch and stop, as a killed job would have."""

    def __init__(self, path):
        self.path = path

    def on_train_epoch_end(self, trainer, module):
        trainer.save_checkpoint(self.path)
        trainer.should_stop = True


def test_resume_from_checkpoint_gives_the_same_next_step_loss(ns_dataset, tmp_path):
    dm = datamodule(ns_dataset, batch_size=8)
    pl.seed_everything(0)
    uninterrupted = StepLosses()
    trainer(max_epochs=2, callbacks=[uninterrupted]).fit(tiny_module(regime="pushforward"), dm)

    pl.seed_everything(0)
    trainer(max_epochs=2, callbacks=[Interrupt(tmp_path / "epoch1.ckpt")]).fit(tiny_module(regime="pushforward"), dm)
    pl.seed_everything(123)  # the resumed run must not depend on the seed: everything is restored
    resumed = StepLosses()
    trainer(max_epochs=2, callbacks=[resumed]).fit(tiny_module(regime="pushforward"), dm,
                                                     ckpt_path=tmp_path / "epoch1.ckpt")
    assert len(uninterrupted.losses) == 4 and len(resumed.losses) == 2
    assert resumed.losses == pytest.approx(uninterrupted.losses[2:], rel=1e-6)


def test_checkpoint_holds_state_dict_and_hyperparameters_only(ns_dataset, tmp_path):
    dm = datamodule(ns_dataset, conditioning=["viscosity"])
    module = SurrogateModule(UNet(["vorticity"], 2, 1, conditioning=["viscosity"], resolution=16, hidden_channels=8,
                                  blocks_per_level=1, fourier_levels=1, modes=4, embedding_dim=8))
    fit = trainer()
    fit.fit(module, dm)
    fit.save_checkpoint(tmp_path / "unet.ckpt")
    checkpoint = torch.load(tmp_path / "unet.ckpt", weights_only=True)  # refuses pickled objects
    assert checkpoint["hyper_parameters"]["network"]["class_path"] == "pdesurrogate.models.unet.UNet"
    loaded = SurrogateModule.load_from_checkpoint(tmp_path / "unet.ckpt")
    batch = fixed_batch(dm, 2)
    module.eval(), loaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.predict_rollout(batch), module.predict_rollout(batch))
    torch.testing.assert_close(loaded.normaliser.std, torch.tensor([dm.stats["vorticity"][1]], dtype=torch.float32))


def test_seeded_runs_are_reproducible(ns_dataset):
    states = []
    for _ in range(2):
        pl.seed_everything(7)
        module = tiny_module(input_noise=0.05)
        trainer(max_epochs=2).fit(module, datamodule(ns_dataset, batch_size=4))
        states.append(module.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_validation_logs_one_step_loss_and_rollout_error(ns_dataset):
    module = tiny_module()
    # With every weight zero the network outputs 0 in normalised units: it predicts the training mean
    # at every step, and the rollout error, on deviations from that mean, is exactly 1 per frame.
    with torch.no_grad():
        for parameter in module.network.parameters():
            parameter.zero_()
    per_loader = trainer(limit_val_batches=1).validate(module, datamodule(ns_dataset), verbose=False)
    results = {key: value for logged in per_loader for key, value in logged.items()}
    assert set(results) == {"val/one_step_mse", "val/rollout_rel_l2", "val/rollout_rel_l2/vorticity"}
    assert results["val/rollout_rel_l2"] == results["val/rollout_rel_l2/vorticity"]  # one variable
    assert results["val/rollout_rel_l2"] == pytest.approx(1.0, rel=1e-5)


def test_data_disagreeing_with_the_model_is_named(ns_dataset):
    module = tiny_module(history=3)
    with pytest.raises(UserError, match="data.history = 2 disagrees with the model's history = 3"):
        trainer().validate(module, datamodule(ns_dataset), verbose=False)


def test_bf16_mixed_precision_trains_with_spectral_layers_in_float32(ns_dataset):
    torch.manual_seed(0)
    network = UNet(["vorticity"], 2, 1, conditioning=["viscosity"], resolution=16, hidden_channels=8,
                   blocks_per_level=1, fourier_levels=2, modes=4, embedding_dim=8)
    module = SurrogateModule(network, warmup_steps=0, learning_rate=3e-3)
    dtypes = []
    spectral = network.down[0][0].spectral1
    spectral.register_forward_hook(lambda layer, inputs, output: dtypes.append(output.dtype))
    losses = StepLosses()
    dm = datamodule(ns_dataset, conditioning=["viscosity"], batch_size=8)
    trainer(precision="bf16-mixed", max_epochs=3, callbacks=[losses]).fit(module, dm)
    assert set(dtypes) == {torch.float32}  # autocast is off inside the spectral convolution
    assert all(torch.isfinite(torch.tensor(losses.losses))) and losses.losses[-1] < losses.losses[0]


def test_resolution_mismatch_is_named_for_resolution_dependent_models_only(ns_dataset):
    unet = UNet(["vorticity"], 2, 1, resolution=32, hidden_channels=8, blocks_per_level=1)
    with pytest.raises(UserError, match="data.root: .* has data.resolution 16, but the model's UNet was "
                                        "trained at resolution 32"):
        trainer().validate(SurrogateModule(unet), datamodule(ns_dataset), verbose=False)
    fno = FNO(["vorticity"], 2, 1, resolution=32, **TINY_FNO)  # resolution independent: runs at 16²
    trainer(limit_val_batches=1).validate(SurrogateModule(fno), datamodule(ns_dataset), verbose=False)


def test_a_checkpoint_trained_on_other_data_is_refused_before_its_weights_load(ns_dataset, tmp_path):
    fit = trainer()
    fit.fit(tiny_module(history=2), datamodule(ns_dataset))
    fit.save_checkpoint(tmp_path / "history2.ckpt")
    # The CLI builds the network for the data at hand (history 3): consistent with the data, but
    # not with the checkpoint, whose weights would not even fit.
    data = PDEDataModule(str(ns_dataset), ["vorticity"], history=3, rollout_steps=3)
    with pytest.raises(UserError, match="^data.history = 3 disagrees with the checkpoint's history = 2$"):
        trainer(limit_val_batches=1).validate(tiny_module(history=3), data, ckpt_path=tmp_path / "history2.ckpt",
                                              verbose=False)


def test_evaluation_rollouts_of_different_histories_score_the_same_frames(ns_dataset):
    # A bug other benchmarks shipped: scoring from frame `history`, so a history-4 model was scored
    # on later (and different) frames than a history-1 one. With one score_from both see frames 3…5.
    targets = []
    for history in (1, 3):
        dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=history, rollout_steps=3, score_from=3)
        item = dm.windows("test_ood", 3, first_only=True)[0]
        assert item["history"].shape[0] == history
        targets.append(item["target"])
    full = PDEDataModule(str(ns_dataset), ["vorticity"], history=1, rollout_steps=8).windows("test_ood", 9, True)[0]
    assert torch.equal(targets[0], targets[1])
    assert torch.equal(targets[0], full["target"][2:5])  # frames 3, 4, 5 of the trajectory
    with pytest.raises(UserError, match=r"data.score_from must be an integer >= 3"):
        PDEDataModule(str(ns_dataset), ["vorticity"], history=3, score_from=2)


def test_height_is_scored_on_its_deviation_from_the_mean_depth(multi_dataset):
    network = FNO(["height", "u", "v"], 2, 1, **TINY_FNO)
    with torch.no_grad():
        for parameter in network.projection.parameters():
            parameter.zero_()  # predicts 0 in normalised units: the training mean of each variable
    module = SurrogateModule(network)
    dm = PDEDataModule(str(multi_dataset), ["height", "u", "v"], history=2, rollout_steps=3)
    per_loader = trainer(limit_val_batches=1).validate(module, dm, verbose=False)
    results = {key: value for logged in per_loader for key, value in logged.items()}
    # ‖(μ − μ) − (t − μ)‖ / ‖t − μ‖ = 1 for every variable; against the total depth, height's
    # error would be |h − H|/H ≈ 0.01 and hide behind the velocities.
    for variable in ("height", "u", "v"):
        assert results[f"val/rollout_rel_l2/{variable}"] == pytest.approx(1.0, rel=1e-3)


def test_last_checkpoint_is_the_last_epoch_even_when_it_is_not_the_best(tmp_path):
    from lightning.pytorch.demos.boring_classes import BoringModel

    from pdesurrogate.training.checkpointing import SelectedCheckpoint

    class Worsening(BoringModel):
        def validation_step(self, batch, batch_idx):
            self.log("val/error", float(self.current_epoch))  # epoch 0 is the best, and stays so

    callback = SelectedCheckpoint(dirpath=tmp_path, monitor="val/error", mode="min", save_last=True,
                                  filename="best-epoch{epoch:03d}", auto_insert_metric_name=False)
    trainer(max_epochs=3, limit_val_batches=1, callbacks=[callback], enable_checkpointing=True).fit(Worsening())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-epoch000.ckpt", "budget.json", "last.ckpt"]
    assert json.loads((tmp_path / "budget.json").read_text())["epochs_completed"] == 3
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["epoch"] == 2
    assert torch.load(tmp_path / "best-epoch000.ckpt", weights_only=True)["epoch"] == 0
