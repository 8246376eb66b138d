"""Reading checkpoints that users hand in, which are untrusted files.

A checkpoint is a zip archive of tensors and plain containers: it is read with
``torch.load(weights_only=True)``, which refuses pickled objects. That is not enough on its own: the
hyper-parameters name classes (``network.class_path``), and the Lightning CLI hands those names to
jsonargparse, which imports the module before it checks the type. So every class a checkpoint names
is checked here against an allowlist *by its name*, before anything is imported: the architectures of
this package, and those a user registers under the ``pdesurrogate.networks`` entry-point group of an
installed distribution (a choice made by installing code, never by a file).

The allocation a checkpoint can cause is bounded by its own size: the network its hyper-parameters
describe is built on the ``meta`` device first (no memory), and its parameter count must equal the
number of values the checkpoint's state_dict holds.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import torch

from ..errors import UserError
from ..models import FNO, GroupAveragedFNO, Hybrid, Surrogate, UNet
from .module import SurrogateModule

NETWORKS: dict[str, type[Surrogate]] = {
    f"{module}.{cls.__name__}": cls
    for cls in (FNO, GroupAveragedFNO, Hybrid, UNet)
    for module in ("pdesurrogate.models", cls.__module__)
}
"""The architectures a checkpoint or config may name, by every class path that reaches them."""

MODULE_CLASS_PATHS = ("pdesurrogate.training.SurrogateModule", "pdesurrogate.training.module.SurrogateModule")
INSTANTIATOR = "lightning.pytorch.cli.instantiate_module"  # what SurrogateModule stores; Lightning's own
ENTRY_POINT_GROUP = "pdesurrogate.networks"


def registered_networks() -> dict[str, str]:
    """Class paths of architectures registered by installed distributions (``module.Class`` form),
    read from their metadata without importing them."""
    return {point.value.replace(":", "."): point.name for point in entry_points(group=ENTRY_POINT_GROUP)}


def allowed_network(class_path: object, field: str) -> str:
    """``class_path`` when it names an allowed architecture; otherwise a :class:`UserError` naming it."""
    if isinstance(class_path, str) and (class_path in NETWORKS or class_path in registered_networks()):
        return class_path
    accepted = sorted({f"pdesurrogate.models.{cls.__name__}" for cls in NETWORKS.values()} | set(registered_networks()))
    raise UserError(f"{field}: {class_path!r} is not an architecture this package may load (accepted: "
                    f"{', '.join(accepted)}; others must be registered under the {ENTRY_POINT_GROUP!r} "
                    "entry-point group of an installed package); nothing was imported")


def same_network(a: str, b: str) -> bool:
    """Whether two allowed class paths name the same class (``pdesurrogate.models.FNO`` is
    ``pdesurrogate.models.fno.FNO``)."""
    return a == b or (a in NETWORKS and NETWORKS[a] is NETWORKS.get(b))


CLASS_KEYS = ("class_path", "_class_path", "_instantiator")
"""Keys whose value jsonargparse or Lightning imports."""


def class_paths(value, key: str = "", names: tuple[str, ...] = CLASS_KEYS):
    """Every ``(key path, class path)`` that a nested dict or list (a checkpoint's hyper-parameters,
    a parsed config file) names under one of ``names``."""
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{key}.{name}" if key else str(name)
            if name in names:
                yield path, item
            else:
                yield from class_paths(item, path, names)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from class_paths(item, f"{key}[{i}]", names)


def read_checkpoint(path: str | Path, field: str = "ckpt_path") -> dict:
    """The checkpoint at ``path``, loaded without unpickling anything and checked to be one that
    ``pdesurrogate fit`` wrote: a state_dict and hyper-parameters whose every class path is allowed.

    Every way a file can fail to be that is one :class:`UserError` naming ``field`` and the path.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{field}: {path} does not exist")
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.ckpt"))
        hint = f" (it holds {', '.join(inside[:4])}{', …' if len(inside) > 4 else ''})" if inside else ""
        raise UserError(f"{field}: {path} is a directory, not a checkpoint file{hint}")
    if path.stat().st_size == 0:
        raise UserError(f"{field}: {path} is empty (0 bytes), not a checkpoint")
    if not zipfile.is_zipfile(path):
        # torch.save writes zip archives; anything else is another kind of file or a cut-off copy.
        raise UserError(f"{field}: {path} is not a pdesurrogate checkpoint (not a PyTorch zip archive: "
                        "a truncated copy, or another kind of file)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        named = re.search(r"GLOBAL (\S+)", str(error))
        detail = f" ({named.group(1)})" if named else ""
        raise UserError(f"{field}: {path} is unsafe: it holds a pickled Python object{detail}, which a pdesurrogate "
                        "checkpoint never contains; refusing to load it") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"{field}: {path} is not a readable checkpoint ({first}); it may be truncated") from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    network = hparams.get("network") if isinstance(hparams, dict) else None
    if (not isinstance(network, dict) or not isinstance(network.get("init_args"), dict)
            or not isinstance(checkpoint.get("state_dict"), dict)):
        raise UserError(f"{field}: {path} is not a pdesurrogate checkpoint (no state_dict and "
                        "hyper_parameters.network; it was not written by `pdesurrogate fit`)")
    for key, class_path in class_paths(hparams, "hyper_parameters"):
        if key == "hyper_parameters.network.class_path":
            allowed_network(class_path, f"{field}: {path}: {key}")
        elif key.endswith("._instantiator") and class_path == INSTANTIATOR:
            continue
        elif key == "hyper_parameters._class_path" and class_path in MODULE_CLASS_PATHS:
            continue
        else:
            raise UserError(f"{field}: {path}: {key} names {class_path!r}, which a pdesurrogate checkpoint "
                            "never does; refusing it (nothing was imported)")
    _check_size(checkpoint, network, path, field)
    return checkpoint


def build_network(class_path: str, init_args: dict) -> Surrogate:
    """The allowed architecture ``class_path`` built from ``init_args`` (imports only registered code)."""
    if class_path in NETWORKS:
        return NETWORKS[class_path](**init_args)
    point = next(p for p in entry_points(group=ENTRY_POINT_GROUP) if p.value.replace(":", ".") == class_path)
    return point.load()(**init_args)


def _check_size(checkpoint: dict, network: dict, path: Path, field: str) -> None:
    """Refuse hyper-parameters that describe another network than the stored weights, before any
    real allocation: a hostile file could ask for ``hidden_channels: 10**9``."""
    try:
        with torch.device("meta"):
            built = build_network(network["class_path"], network["init_args"])
    except (TypeError, ValueError, RuntimeError, UserError) as error:  # RuntimeError: sizes past int64
        raise UserError(f"{field}: {path}: hyper_parameters.network.init_args do not build a "
                        f"{network['class_path']} ({error})") from None
    expected = sum(p.numel() for p in built.state_dict().values())
    stored = sum(t.numel() for k, t in checkpoint["state_dict"].items()
                 if k.startswith("network.") and isinstance(t, torch.Tensor))
    if stored != expected:
        raise UserError(f"{field}: {path}: the state_dict holds {stored:,} network values but its "
                        f"hyper-parameters describe a {network['class_path'].rpartition('.')[2]} of {expected:,}; "
                        "the checkpoint is inconsistent")


def load_surrogate(path: str | Path, field: str = "checkpoint"):
    """The :class:`~pdesurrogate.training.SurrogateModule` stored at ``path``, in eval mode on the CPU
    (move it with ``.to(device)``), read through :func:`read_checkpoint`."""
    checkpoint = read_checkpoint(path, field)
    settings = {k: v for k, v in checkpoint["hyper_parameters"].items()
                if k not in ("network", "_instantiator", "_class_path")}
    network = checkpoint["hyper_parameters"]["network"]
    try:
        module = SurrogateModule(build_network(network["class_path"], network["init_args"]), **settings)
        module.load_state_dict(checkpoint["state_dict"])
    except (TypeError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise UserError(f"{field}: {path} does not load into a SurrogateModule ({first})") from None
    return module.eval()
