"""Architectures: shapes for every option, every parameter trained, resolution independence, conditioning."""

import lightning.pytorch as pl
import pytest
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.model_summary import ModelSummary

from pdesurrogate.data import PDEDataModule
from pdesurrogate.errors import UserError
from pdesurrogate.models import FNO, UNet
from pdesurrogate.training import SurrogateModule

TINY_FNO = dict(hidden_channels=8, layers=2, modes=4, lifting_channels=8, projection_channels=8, embedding_dim=8)
TINY_UNET = dict(hidden_channels=8, blocks_per_level=1, modes=4, embedding_dim=8, norm_groups=4)

FNO_OPTIONS = {
    "default": {},
    "identity_skip": dict(skip="identity"),
    "channel_mlp": dict(channel_mlp=True),
    "no_grid": dict(grid_embedding="none"),
    "linear_grid": dict(grid_embedding="linear"),
    "padding": dict(domain_padding=0.25),
    "conditioned": dict(conditioning=["viscosity", "forcing_amplitude"]),
    "conditioned_all": dict(conditioning=["viscosity"], channel_mlp=True, skip="identity", domain_padding=0.1),
}
UNET_OPTIONS = {
    "default": {},
    "attention": dict(attention=True),
    "fourier_first_two": dict(fourier_levels=2),
    "fourier_all": dict(fourier_levels=4),
    "walls": dict(periodic=False),
    "two_blocks": dict(blocks_per_level=2),
    "five_levels": dict(channel_multipliers=[1, 1, 2, 2, 4], resolution=32),
    "conditioned": dict(conditioning=["viscosity"], attention=True, fourier_levels=1),
}
SHAPES = [  # variables, history, future
    (["vorticity"], 1, 1),
    (["height", "u", "v"], 3, 2),
]


def build(kind: str, option: dict, variables=("vorticity",), history=2, future=1):
    cls, base = (FNO, TINY_FNO) if kind == "fno" else (UNet, TINY_UNET)
    kwargs = {**base, "resolution": 16, **option}
    return cls(list(variables), history, future, **kwargs)


def inputs(model, batch=2, n=16):
    fields = torch.randn(batch, model.history, len(model.variables), n, n)
    parameters = None
    if model.conditioning:
        parameters = torch.rand(batch, len(model.conditioning)) * 1e-3 + 1e-4
    return fields, parameters


CASES = [("fno", name) for name in FNO_OPTIONS] + [("unet", name) for name in UNET_OPTIONS]


@pytest.mark.parametrize("kind,name", CASES)
@pytest.mark.parametrize("variables,history,future", SHAPES)
def test_output_shape(kind, name, variables, history, future):
    option = (FNO_OPTIONS if kind == "fno" else UNET_OPTIONS)[name]
    model = build(kind, option, variables, history, future)
    n = option.get("resolution", 16)
    fields, parameters = inputs(model, n=n)
    assert model(fields, parameters).shape == (2, future, len(variables), n, n)


@pytest.mark.parametrize("kind,name", CASES)
def test_every_parameter_gets_a_gradient(kind, name):
    torch.manual_seed(0)
    option = (FNO_OPTIONS if kind == "fno" else UNET_OPTIONS)[name]
    model = build(kind, option)
    fields, parameters = inputs(model, n=option.get("resolution", 16))
    model(fields, parameters).square().mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().max() > 0)]
    assert not dead, f"parameters without gradient: {dead}"


def band_limited(n: int, k_max: int, seed: int = 0, channels: int = 2) -> torch.Tensor:
    """A random real field with Fourier modes |kx|, |ky| ≤ k_max, sampled on an n×n grid."""
    generator = torch.Generator().manual_seed(seed)
    coefficients = torch.zeros(1, channels, 2 * k_max + 1, k_max + 1, dtype=torch.cfloat)
    coefficients.real = torch.randn(coefficients.shape, generator=generator)
    coefficients.imag = torch.randn(coefficients.shape, generator=generator)
    spectrum = torch.zeros(1, channels, n, n // 2 + 1, dtype=torch.cfloat)
    spectrum[..., : k_max + 1, : k_max + 1] = coefficients[..., : k_max + 1, :]
    spectrum[..., n - k_max :, : k_max + 1] = coefficients[..., k_max + 1 :, :]
    return torch.fft.irfft2(spectrum * n * n, s=(n, n))  # same amplitude on every grid


def test_fno_is_resolution_independent_on_band_limited_input():
    torch.manual_seed(0)
    # Built for 16² (as the CLI does for a 16² dataset) and evaluated at 32² as well.
    model = FNO(["vorticity", "u"], history=1, future=1, resolution=16, channel_mlp=True, **TINY_FNO)
    coarse = band_limited(16, k_max=2).reshape(1, 1, 2, 16, 16)
    fine = band_limited(32, k_max=2).reshape(1, 1, 2, 32, 32)
    scale = 1 / coarse.std()  # unit variance, like normalised data
    coarse, fine = coarse * scale, fine * scale
    torch.testing.assert_close(fine[..., ::2, ::2], coarse, atol=1e-5, rtol=0)  # the same field
    with torch.no_grad():
        out_coarse, out_fine = model(coarse), model(fine)
    # Differences come only from the aliasing of the GELU harmonics on the coarse grid.
    error = (out_fine[..., ::2, ::2] - out_coarse).norm() / out_coarse.norm()
    assert error < 1e-4, error


@pytest.mark.parametrize("kind", ["fno", "unet"])
def test_conditioning_changes_the_output_and_receives_gradients(kind):
    torch.manual_seed(0)
    model = build(kind, dict(conditioning=["viscosity"]))
    fields = torch.randn(1, 2, 1, 16, 16).expand(2, -1, -1, -1, -1)
    viscosity = torch.tensor([[1e-3], [1e-4]])
    out = model(fields, viscosity)
    assert (out[0] - out[1]).abs().max() > 1e-4 * out.abs().max()
    (out[0] - out[1]).square().mean().backward()
    for name, p in model.parameter_embedding.named_parameters():
        assert p.grad is not None and p.grad.abs().max() > 0, name


def test_unconditioned_and_conditioned_are_the_same_class_differing_by_config():
    plain = build("fno", {})
    conditioned = build("fno", dict(conditioning=["viscosity"]))
    assert type(plain) is type(conditioned)
    assert plain.parameter_embedding is None and conditioned.parameter_embedding is not None


@pytest.mark.parametrize("kind", ["fno", "unet"])
def test_model_under_bf16_autocast_matches_float32(kind):
    torch.manual_seed(0)
    model = build(kind, dict(conditioning=["viscosity"]))
    fields, parameters = inputs(model)
    with torch.no_grad():
        reference = model(fields, parameters)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(fields, parameters)
    assert (mixed.float() - reference).norm() / reference.norm() < 0.05


@pytest.mark.parametrize("kind,name", CASES)
def test_every_architecture_runs_in_float64_and_passes_gradcheck_on_its_input(kind, name):
    """Inverse problems and gradient checks need float64 end to end (no silent float32 inside)."""
    torch.manual_seed(0)
    model = build(kind, FNO_OPTIONS[name] if kind == "fno" else UNET_OPTIONS[name], history=1).double().eval()
    fields, parameters = inputs(model, batch=1)
    fields = fields.double().requires_grad_()
    parameters = None if parameters is None else parameters.double()
    out = model(fields, parameters)
    assert out.dtype == torch.float64
    # One directional derivative against central differences (a full gradcheck is slow here).
    direction = torch.randn_like(fields)
    weights = torch.randn_like(out)
    (grad,) = torch.autograd.grad((model(fields, parameters) * weights).sum(), fields)
    eps = 1e-6
    with torch.no_grad():
        plus = (model(fields + eps * direction, parameters) * weights).sum()
        minus = (model(fields - eps * direction, parameters) * weights).sum()
    numeric = (plus - minus) / (2 * eps)
    analytic = (grad * direction).sum()
    assert torch.isclose(analytic, numeric, rtol=1e-6, atol=1e-9), (float(analytic), float(numeric))


@pytest.mark.parametrize("make,field,message", [
    (lambda: UNet(["w"], 1, 1, channel_multipliers=[1, 2, 4]), "channel_multipliers", "must give at least 4 levels"),
    (lambda: UNet(["w"], 1, 1, resolution=20), "resolution", "must be divisible by 2\\^\\(levels-1\\) = 8"),
    (lambda: UNet(["w"], 1, 1, hidden_channels=8, attention=True, attention_heads=3), "attention_heads", "must divide the coarsest level's 32"),
    (lambda: FNO(["w"], 1, 1, modes=12, resolution=16), "modes", "must be <= resolution // 2 = 8"),
    (lambda: FNO(["w"], 1, 1, layers=0), "layers", "must be an integer >= 1"),
    (lambda: FNO(["w"], 0, 1), "history", "must be an integer >= 1"),
])
def test_inconsistent_architectures_are_refused_by_name(make, field, message):
    with pytest.raises(UserError, match=f"^{field} {message}") as error:
        make()
    assert error.value.field == field  # what the CLI maps to the config key


def test_wrong_input_layout_is_named():
    model = build("fno", dict(conditioning=["viscosity"]))
    with pytest.raises(ValueError, match="history=2, variables=1"):
        model(torch.randn(2, 3, 1, 16, 16), torch.ones(2, 1))
    with pytest.raises(ValueError, match=r"parameters must be \(batch, 1\)"):
        model(torch.randn(2, 2, 1, 16, 16))


def fno_parameters_by_hand(inputs, outputs, width, lifting, projection, layers, modes) -> int:
    """An unconditioned FNO with periodic grid embedding and linear skip, counted from its definition."""
    lifting_mlp = (inputs + 4) * lifting + lifting + lifting * width + width  # 1×1 convs with bias; 4 grid channels
    spectral = width * width * (2 * modes) * modes * 2  # complex in×out weights on 2·modes × modes wavenumbers
    skip = width * width  # 1×1 convolution without bias
    projection_mlp = width * projection + projection + projection * outputs + outputs
    return lifting_mlp + layers * (spectral + skip) + projection_mlp


def test_parameter_count_is_logged_and_matches_the_architecture(ns_dataset, tmp_path):
    network = FNO(["vorticity"], history=2, future=1, hidden_channels=6, layers=3, modes=4, lifting_channels=5,
                  projection_channels=7)
    expected = fno_parameters_by_hand(2, 1, width=6, lifting=5, projection=7, layers=3, modes=4)
    assert expected == 71 + 3 * (2304 + 36) + 57 == 7148
    module = SurrogateModule(network, warmup_steps=0)
    logger = CSVLogger(tmp_path)
    pl.Trainer(accelerator="cpu", logger=logger, max_steps=1, limit_val_batches=0, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False).fit(
        module, PDEDataModule(str(ns_dataset), ["vorticity"], history=2, rollout_steps=2, batch_size=4))
    logged = yaml.safe_load((tmp_path / "lightning_logs" / "version_0" / "hparams.yaml").read_text())
    assert logged["parameters"] == expected
    assert ModelSummary(module).total_parameters == expected  # what the model summary shows
