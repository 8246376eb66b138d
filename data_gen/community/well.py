"""Read one file of The Well (HDF5, one file per parameter set) as a :class:`SourceFile`.

The published layout: root attributes ``dataset_name``, ``grid_type``, ``n_spatial_dims``,
``n_trajectories``, ``simulation_parameters`` (the parameter names) and one attribute per
parameter; ``dimensions/{time, x, y}``; ``boundary_conditions/<name>`` with ``bc_type`` and
``mask``; ``t0_fields/<f>`` shaped ``(trajectory, time, x, y)`` and ``t1_fields/<f>`` with a
trailing component axis. Arrays are ordered ``(x, y)``; pdesurrogate stores ``(y, x)``, so every
field is transposed on reading. A vector field's components become variables ``<f>_x``, ``<f>_y``
(``velocity`` becomes ``u``, ``v``, pdesurrogate's names).

Only metadata is read when the file is opened, and every field's declared size is checked against
the bytes the file stores for it before a value is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import SourceError, require_module
from .source import SourceFile, check_declared, check_uniform, expect_shape

# Attributes a pdesurrogate export adds (foreign readers ignore them); an import restores them.
SPLIT_ATTRIBUTE = "pdesurrogate_split"
ATTRIBUTES_ATTRIBUTE = "pdesurrogate_attributes"
SEED_SCALAR = "seed"

# What the datasets of The Well this importer knows are, and how a viscosity follows from their
# parameters (ν = 1/Re for shear_flow: the velocity jump and the box width are 1).
KNOWN_DATASETS = {
    "shear_flow": {
        "equation": "incompressible Navier-Stokes with a passive tracer (periodic shear layers)",
        "viscosity": ("Reynolds", "reciprocal"),
        "viscosity_note": "nu = 1/Reynolds (unit velocity jump and unit box width, so Re = U L / nu = 1/nu)",
    },
}
VISCOSITY_NAMES = ("viscosity", "nu")


def vector_components(name: str) -> tuple[str, str]:
    return ("u", "v") if name == "velocity" else (f"{name}_x", f"{name}_y")


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return str(value)


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [_text(value)]
    return [_text(v) for v in np.asarray(value).reshape(-1)]


def _flag(attrs, key: str, default: bool = True) -> bool:
    return bool(np.asarray(attrs.get(key, default)).all())


def check_hdf5_storage(h5py, path: Path, name: str, dataset, file_size: int) -> None:
    """Refuse a dataset the file cannot hold: declared size vs stored bytes, extents vs file size."""
    filters = bool(dataset.compression) or bool(dataset.id.get_create_plist().get_nfilters())
    layout = dataset.id.get_create_plist().get_layout()
    itemsize = dataset.dtype.itemsize
    if layout == h5py.h5d.CONTIGUOUS:
        offset = dataset.id.get_offset()
        if offset is None:  # never written: the declared shape holds no data at all
            check_declared(path, name, dataset.shape, itemsize, stored_bytes=0, compressed=False)
            return
        check_declared(path, name, dataset.shape, itemsize, stored_bytes=file_size, compressed=False)
        end = offset + dataset.id.get_storage_size()
        if end > file_size:
            raise SourceError(f"{path.name}: {name} ends at byte {end} but the file has {file_size}: "
                              "the file is truncated")
    elif layout == h5py.h5d.CHUNKED:
        check_declared(path, name, dataset.shape, itemsize, stored_bytes=dataset.id.get_storage_size(),
                       compressed=filters)
        for i in range(dataset.id.get_num_chunks()):
            chunk = dataset.id.get_chunk_info(i)
            if chunk.byte_offset + chunk.size > file_size:
                raise SourceError(f"{path.name}: {name} has a chunk beyond the end of the file "
                                  f"(byte {chunk.byte_offset + chunk.size} of {file_size}): the file is truncated")
    else:  # compact: stored in the header, which h5py has already read
        check_declared(path, name, dataset.shape, itemsize, compressed=False)


def open_well(path: Path) -> SourceFile:
    h5py = require_module("h5py", "importing The Well (HDF5)")
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise SourceError(f"{path.name}: not an HDF5 file (The Well's files are HDF5, .hdf5/.h5)")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise SourceError(f"{path.name}: truncated or corrupted HDF5 file ({error})") from None
    try:
        return _describe(h5py, path, f)
    except SourceError:
        f.close()
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        f.close()
        raise SourceError(f"{path.name}: truncated or corrupted HDF5 file ({error})") from None


def _group(path: Path, f, name: str):
    group = f.get(name)
    if group is None:
        raise SourceError(f"{path.name}: group '{name}' missing (not a file of The Well's format)")
    return group


def _dataset(path: Path, group, name: str):
    item = group.get(name)
    if item is None or not hasattr(item, "shape"):
        raise SourceError(f"{path.name}: dataset '{group.name.strip('/')}/{name}' missing")
    return item


def _describe(h5py, path: Path, f) -> SourceFile:
    attrs = f.attrs
    for key in ("dataset_name", "n_spatial_dims", "n_trajectories", "simulation_parameters"):
        if key not in attrs:
            raise SourceError(f"{path.name}: root attribute '{key}' missing (not a file of The Well's format)")
    dims = int(np.asarray(attrs["n_spatial_dims"]).item())
    if dims != 2:
        raise SourceError(f"{path.name}: n_spatial_dims = {dims}; only 2-D datasets can be imported")
    grid_type = _text(attrs.get("grid_type", "cartesian"))
    if grid_type != "cartesian":
        raise SourceError(f"{path.name}: grid_type = {grid_type!r}; only 'cartesian' grids can be imported")
    trajectories = int(np.asarray(attrs["n_trajectories"]).item())
    dataset_name = _text(attrs["dataset_name"])

    parameters = {}
    for name in _names(attrs["simulation_parameters"]):
        if name not in attrs:
            raise SourceError(f"{path.name}: simulation_parameters names '{name}', but the file has no root "
                              f"attribute '{name}'")
        try:
            parameters[name] = float(np.asarray(attrs[name]).item())
        except (TypeError, ValueError):
            raise SourceError(f"{path.name}: parameter '{name}' = {attrs[name]!r} is not a number") from None

    dimensions = _group(path, f, "dimensions")
    spatial = _names(dimensions.attrs.get("spatial_dims", ["x", "y"]))
    if spatial != ["x", "y"]:
        raise SourceError(f"{path.name}: dimensions.spatial_dims = {spatial}; expected ['x', 'y']")
    file_size = path.stat().st_size
    axes = {}
    for axis in ("time", "x", "y"):
        dataset = _dataset(path, dimensions, axis)
        check_hdf5_storage(h5py, path, f"dimensions/{axis}", dataset, file_size)
        values = np.asarray(dataset[()], dtype=np.float64)
        if axis == "time" and values.ndim == 2:  # sample-varying times: accepted when all agree
            if not (values == values[:1]).all():
                raise SourceError(f"{path.name}: dimensions/time differs between trajectories; "
                                  "only a common time axis can be imported")
            values = values[0]
        axes[axis] = check_uniform(path, f"dimensions/{axis}", values)
    times, x, y = axes["time"], axes["x"], axes["y"]

    _check_periodic(path, _group(path, f, "boundary_conditions"))

    variables, readers, skipped = {}, {}, []
    expected = (trajectories, len(times), len(x), len(y))
    for kind in ("t0_fields", "t1_fields", "t2_fields"):
        group = f.get(kind)
        if group is None:
            continue
        names = _names(group.attrs.get("field_names")) or list(group.keys())
        for name in names:
            dataset = _dataset(path, group, name)
            where = f"{kind}/{name}"
            if kind == "t2_fields":
                skipped.append(f"{where}: tensor fields are not imported")
                continue
            if not (_flag(dataset.attrs, "sample_varying") and _flag(dataset.attrs, "time_varying")):
                skipped.append(f"{where}: constant in time or across trajectories, not a trajectory field")
                continue
            shape = expected + ((2,) if kind == "t1_fields" else ())
            meaning = "(n_trajectories, time, x, y" + (", component)" if kind == "t1_fields" else ")")
            expect_shape(path, where, dataset.shape, shape, meaning)
            check_hdf5_storage(h5py, path, where, dataset, file_size)
            long_name = _text(dataset.attrs.get("long_name", name.replace("_", " ")))
            units = _text(dataset.attrs.get("units", "1"))
            if kind == "t0_fields":
                variables[name] = (long_name, units)
                readers[name] = (dataset, None)
            else:
                for c, component in enumerate(vector_components(name)):
                    variables[component] = (_text(dataset.attrs.get(f"long_name_{'xy'[c]}",
                                                                    f"{long_name} ({'xy'[c]} component)")), units)
                    readers[component] = (dataset, c)
    if not variables:
        raise SourceError(f"{path.name}: no t0_fields or t1_fields of shape (n_trajectories, time, x, y) to import")

    recorded = json.loads(_text(attrs[ATTRIBUTES_ATTRIBUTE])) if ATTRIBUTES_ATTRIBUTE in attrs else {}
    order = recorded.get("variables") or []
    if sorted(order) == sorted(variables):  # a pdesurrogate export: restore its channel order
        variables = {v: variables[v] for v in order}

    def read(trajectory: int) -> dict[str, np.ndarray]:
        out, cache = {}, {}
        try:
            for name, (dataset, component) in readers.items():
                if dataset.name not in cache:
                    cache[dataset.name] = dataset[trajectory]  # (time, x, y[, component])
                values = cache[dataset.name]
                values = values if component is None else values[..., component]
                out[name] = np.ascontiguousarray(np.swapaxes(values, -1, -2), dtype=np.float32)
        except OSError as error:
            raise SourceError(f"{path.name}: trajectory {trajectory} cannot be read (truncated or corrupted "
                              f"file: {error})") from None
        return out

    seeds = None
    scalars = f.get("scalars")
    if scalars is not None and SEED_SCALAR in scalars:
        seeds = np.asarray(scalars[SEED_SCALAR][()], dtype=np.int64).reshape(-1)
        expect_shape(path, f"scalars/{SEED_SCALAR}", seeds.shape, (trajectories,), "(n_trajectories,)")
    attributes = {"dataset_name": dataset_name}
    known = KNOWN_DATASETS.get(dataset_name, {})
    if "equation" in known:
        attributes["equation"] = known["equation"]
    for key in ("time", "x"):
        units = dimensions[key].attrs.get("units")
        if units is not None:
            attributes[f"{'time' if key == 'time' else 'length'}_units"] = _text(units)
    if recorded:
        attributes["pdesurrogate"] = recorded
    split = _text(attrs[SPLIT_ATTRIBUTE]) if SPLIT_ATTRIBUTE in attrs else None
    return SourceFile(path=path, trajectories=trajectories, times=times, x=x, y=y, variables=variables, read=read,
                      parameters=parameters, attributes=attributes, seeds=seeds, split=split, skipped=skipped,
                      close=f.close)


def _check_periodic(path: Path, boundaries) -> None:
    covered = set()
    for name, group in boundaries.items():
        kind = _text(group.attrs.get("bc_type", "")).lower()
        dims = _names(group.attrs.get("associated_dims"))
        fields = _names(group.attrs.get("associated_fields"))
        if kind != "periodic":
            raise SourceError(f"{path.name}: boundary_conditions/{name} is '{kind or 'unspecified'}' on "
                              f"{'/'.join(dims) or 'unnamed axes'} for {', '.join(fields) or 'all fields'}; "
                              "only periodic boundaries can be imported")
        covered.update(dims)
    missing = [axis for axis in ("x", "y") if axis not in covered]
    if missing:
        raise SourceError(f"{path.name}: boundary_conditions declares no periodic boundary along "
                          f"{' and '.join(missing)}; only doubly periodic grids can be imported")
