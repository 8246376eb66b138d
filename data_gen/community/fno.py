"""Read the FNO paper's Navier–Stokes files: MATLAB ``.mat`` (v5, v7.3) and neuraloperator ``.pt``.

``.mat``: ``a`` the initial vorticity ``(N, x, y)``, ``u`` the trajectory ``(N, x, y, T)`` without
the ``t = 0`` frame, optionally ``t`` its times; vorticity of 2-D Navier–Stokes on the unit square
forced by ``0.1 (sin 2π(x+y) + cos 2π(x+y))``, at points ``x_i = i/s``. v5 files are read by
scipy; v7.3 files are HDF5, read by h5py, where MATLAB's column-major storage shows every array
with its axes reversed. The viscosity is in no file (only in its name, ``ns_V1e-3_…``), so the
import config gives it.

``.pt``: a ``torch.save`` dictionary of tensors, loaded with ``weights_only=True`` (nothing is
unpickled) and memory-mapped (nothing is read before it is used): keys ``a``/``u`` as above, or
neuraloperator's ``x`` (input vorticity) and ``y`` (vorticity one ``saved_interval`` later).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from .errors import SourceError, require_module
from .source import SourceFile, check_declared, expect_shape

FORCING = "0.1 (sin 2 pi (x + y) + cos 2 pi (x + y)) on the unit square (FNO Navier-Stokes)"
EQUATION = "navier_stokes"
VORTICITY = {"vorticity": ("vorticity", "1")}
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def viscosity_in_name(path: Path) -> float | None:
    """``ns_V1e-3_N5000_T50.mat`` -> 1e-3 (a hint for the error message, never used silently)."""
    match = re.search(r"_V(\d+(?:\.\d+)?e-?\d+)", path.name)
    return float(match.group(1)) if match else None


def _fno_source(path: Path, n: int, s: tuple[int, int], frames: int, times: np.ndarray | None,
                saved_interval: float, read) -> SourceFile:
    """``s`` is the source grid ``(nx, ny)``; ``frames`` counts t = 0."""
    if times is None:
        times = np.arange(frames, dtype=np.float64) * saved_interval
    nx, ny = s
    return SourceFile(path=path, trajectories=n, times=times, x=np.arange(nx) / nx, y=np.arange(ny) / ny,
                      variables=dict(VORTICITY), read=read,
                      attributes={"dataset_name": "fno_navier_stokes", "equation": EQUATION, "forcing": FORCING,
                                  "initial_condition": "Gaussian random field (FNO paper)"})


def _frame_times(path: Path, t, frames: int) -> np.ndarray | None:
    """Times of the saved frames with t = 0 first, from the file's ``t`` when it has one."""
    if t is None:
        return None
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if t.size != frames - 1:
        raise SourceError(f"{path.name}: 't' has {t.size} times but 'u' has {frames - 1} frames")
    return np.concatenate([[0.0], t])


# --- MATLAB ---------------------------------------------------------------------------------------


def mat_version(path: Path) -> str:
    with open(path, "rb") as f:
        header = f.read(520)
    if len(header) < 128 or not header.startswith(b"MATLAB"):
        raise SourceError(f"{path.name}: not a MATLAB .mat file (no 'MATLAB … MAT-file' header)")
    if header[512:520] == HDF5_SIGNATURE:
        return "7.3"
    if header[124:126] in (b"\x00\x01", b"\x01\x00"):
        return "5"
    raise SourceError(f"{path.name}: MATLAB file of an unknown version (neither v5 nor v7.3)")


def open_mat(path: Path, saved_interval: float) -> SourceFile:
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    version = mat_version(path)
    return _open_mat73(path, saved_interval) if version == "7.3" else _open_mat5(path, saved_interval)


def _check_fno_shapes(path: Path, a_shape, u_shape) -> tuple[int, tuple[int, int], int]:
    if len(a_shape) != 3:
        raise SourceError(f"{path.name}: 'a' has shape {tuple(a_shape)}, expected (N, x, y)")
    if len(u_shape) != 4:
        raise SourceError(f"{path.name}: 'u' has shape {tuple(u_shape)}, expected (N, x, y, T)")
    expect_shape(path, "'u' (N, x, y)", tuple(u_shape[:3]), tuple(a_shape), "the shape of 'a'")
    return int(a_shape[0]), (int(a_shape[1]), int(a_shape[2])), int(u_shape[3]) + 1


def _open_mat5(path: Path, saved_interval: float) -> SourceFile:
    sio = require_module("scipy.io", "importing MATLAB v5 .mat files")
    try:
        listed = {name: (shape, kind) for name, shape, kind in sio.whosmat(path)}
    except Exception as error:  # scipy raises ValueError, TypeError, OSError … for a damaged file
        raise SourceError(f"{path.name}: truncated or corrupted .mat file ({error})") from None
    for key in ("a", "u"):
        if key not in listed:
            raise SourceError(f"{path.name}: variable '{key}' missing (the FNO files hold 'a' and 'u'; "
                              f"this one holds {', '.join(listed) or 'nothing'})")
    n, s, frames = _check_fno_shapes(path, listed["a"][0], listed["u"][0])
    for key, (shape, kind) in listed.items():
        if key in ("a", "u", "t"):
            if kind not in ("double", "single"):
                raise SourceError(f"{path.name}: '{key}' is a MATLAB {kind} array, expected double or single")
            check_declared(path, f"'{key}'", shape, 8 if kind == "double" else 4)
    try:
        # v5 variables are one compressed record each: scipy reads them whole, within the bound above.
        contents = sio.loadmat(path, variable_names=[k for k in ("a", "u", "t") if k in listed])
    except Exception as error:
        raise SourceError(f"{path.name}: truncated or corrupted .mat file ({error})") from None
    a, u = contents["a"], contents["u"]
    times = _frame_times(path, contents.get("t"), frames)
    return _fno_source(path, n, s, frames, times, saved_interval, _reader(a, u))


def _open_mat73(path: Path, saved_interval: float) -> SourceFile:
    h5py = require_module("h5py", "importing MATLAB v7.3 .mat files (HDF5)")
    from .well import check_hdf5_storage  # one storage check for every HDF5 container

    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise SourceError(f"{path.name}: truncated or corrupted .mat v7.3 file ({error})") from None
    try:
        for key in ("a", "u"):
            if key not in f or not hasattr(f[key], "shape"):
                raise SourceError(f"{path.name}: variable '{key}' missing (the FNO files hold 'a' and 'u'; "
                                  f"this one holds {', '.join(f.keys()) or 'nothing'})")
        # MATLAB is column-major: h5py shows an (N, x, y, T) array as (T, y, x, N).
        a, u = f["a"], f["u"]
        n, s, frames = _check_fno_shapes(path, a.shape[::-1], u.shape[::-1])
        size = path.stat().st_size
        for key in ("a", "u", "t"):
            if key in f:
                check_hdf5_storage(h5py, path, f"'{key}'", f[key], size)
        times = _frame_times(path, f["t"][()] if "t" in f else None, frames)

        def read(i: int) -> dict[str, np.ndarray]:
            try:
                initial = a[:, :, i]  # (y, x): already pdesurrogate's order
                rest = u[:, :, :, i]  # (T, y, x)
            except OSError as error:
                raise SourceError(f"{path.name}: trajectory {i} cannot be read (truncated or corrupted file: "
                                  f"{error})") from None
            return {"vorticity": np.ascontiguousarray(np.concatenate([initial[None], rest]), dtype=np.float32)}

        source = _fno_source(path, n, s, frames, times, saved_interval, read)
        source.close = f.close
        return source
    except SourceError:
        f.close()
        raise
    except (OSError, KeyError, ValueError) as error:
        f.close()
        raise SourceError(f"{path.name}: truncated or corrupted .mat v7.3 file ({error})") from None


def _reader(a, u):
    """``a`` (N, x, y) and ``u`` (N, x, y, T) arrays -> trajectory i as (T+1, y, x) float32."""
    def read(i: int) -> dict[str, np.ndarray]:
        initial = np.asarray(a[i]).T  # (y, x)
        rest = np.transpose(np.asarray(u[i]), (2, 1, 0))  # (T, y, x)
        return {"vorticity": np.ascontiguousarray(np.concatenate([initial[None], rest]), dtype=np.float32)}

    return read


# --- torch .pt ------------------------------------------------------------------------------------


def open_pt(path: Path, saved_interval: float) -> SourceFile:
    import torch

    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise SourceError(f"{path.name}: not a torch.save archive (a legacy or raw pickle is refused: "
                          "it could run code when loaded)")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # weights_only refuses any pickled object by raising UnpicklingError
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SourceError(f"{path.name}: refused: not a plain dictionary of tensors, or a damaged archive "
                          f"({message})") from None
    if not isinstance(contents, dict) or not all(isinstance(v, torch.Tensor) for v in contents.values()):
        kinds = type(contents).__name__ if not isinstance(contents, dict) else \
            ", ".join(f"{k}: {type(v).__name__}" for k, v in contents.items() if not isinstance(v, torch.Tensor))
        raise SourceError(f"{path.name}: expected a dictionary of tensors (got {kinds})")
    if {"a", "u"} <= contents.keys():
        a, u = contents["a"], contents["u"]
        n, s, frames = _check_fno_shapes(path, tuple(a.shape), tuple(u.shape))
        times = _frame_times(path, contents["t"].numpy() if "t" in contents else None, frames)
        return _fno_source(path, n, s, frames, times, saved_interval, _reader(_numpy(path, "a", a), _numpy(path, "u", u)))
    if {"x", "y"} <= contents.keys():
        x, y = (contents[k].squeeze(1) if contents[k].ndim == 4 and contents[k].shape[1] == 1 else contents[k]
                for k in ("x", "y"))
        if x.ndim != 3:
            raise SourceError(f"{path.name}: 'x' has shape {tuple(x.shape)}, expected (N, x, y)")
        expect_shape(path, "'y'", tuple(y.shape), tuple(x.shape), "the shape of 'x'")
        return _fno_source(path, x.shape[0], (x.shape[1], x.shape[2]), 2, None, saved_interval,
                           _pair_reader(_numpy(path, "x", x), _numpy(path, "y", y)))
    raise SourceError(f"{path.name}: keys {', '.join(contents) or 'none'}; expected 'a' and 'u' (FNO) or 'x' and "
                      "'y' (neuraloperator)")


def _numpy(path: Path, name: str, tensor) -> np.ndarray:
    """A memory-mapped tensor as a numpy view (float16/bfloat16 are converted per trajectory below)."""
    import torch

    if not tensor.is_floating_point():
        raise SourceError(f"{path.name}: '{name}' has dtype {tensor.dtype}; expected floating-point vorticity")
    return tensor.numpy() if tensor.dtype in (torch.float32, torch.float64) else tensor.float().numpy()


def _pair_reader(initial, later):
    """neuraloperator's ``x``, ``y`` (N, x, y): trajectory i as the two frames (2, y, x)."""
    def read(i: int) -> dict[str, np.ndarray]:
        return {"vorticity": np.ascontiguousarray(np.stack([np.asarray(initial[i]).T, np.asarray(later[i]).T]),
                                                  dtype=np.float32)}

    return read
