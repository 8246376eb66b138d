"""The result table, ``results.csv``: long form, one row per scored value, read by one reader.

Columns (:data:`RESULT_COLUMNS`): ``model`` (its name in tables); ``role`` (``model`` for a trained
surrogate, ``baseline`` for persistence and its kin, ``ensemble`` for an ensemble of trained
members); ``seed`` (an integer: the training seed of a benchmark model, the repetition of an
active-learning loop; empty for baselines and for an ensemble of all a benchmark's seeds);
``member`` (an integer: the ensemble member a ``model`` row belongs to; empty otherwise); ``split``;
``sample`` (the index in the dataset split); ``viscosity``; ``step`` (scored frame, from 1); ``time``
(the dataset's time of that frame); ``variable``; ``metric``; ``value``. Every summary reads the
table through :func:`read_results`, which types each column and refuses a file that is not such a
table in one line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..run_directory import write_atomically

RESULT_COLUMNS = ("model", "role", "seed", "member", "split", "sample", "viscosity", "step", "time", "variable",
                  "metric", "value")
ROLES = ("model", "baseline", "ensemble")
_TEXT = ("model", "role", "split", "variable", "metric")
_OPTIONAL_INTEGER = ("seed", "member")
_INTEGER = ("sample", "step")
_REAL = ("viscosity", "time", "value")


def write_results(path: str | Path, rows: Iterable[tuple] | pd.DataFrame) -> Path:
    """``results.csv`` from rows in :data:`RESULT_COLUMNS` order (or a frame of those columns),
    written atomically; a missing seed is an empty field."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(rows, pd.DataFrame):
        rows = rows[list(RESULT_COLUMNS)].itertuples(index=False, name=None)

    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(RESULT_COLUMNS)
            writer.writerows(tuple("" if v is None or v is pd.NA else v for v in row) for row in rows)

    return write_atomically(path, write)


def result_frame(rows: Iterable[tuple] | pd.DataFrame, source: str = "rows") -> pd.DataFrame:
    """The rows as a typed frame: text columns as strings, ``seed`` and ``member`` as nullable integers,
    ``sample`` and ``step`` as integers, the rest as floats; one :class:`UserError` per bad field."""
    table = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))
    for column in _TEXT:
        table[column] = table[column].astype(str)
    bad_roles = sorted(set(table["role"]) - set(ROLES))
    if bad_roles:
        raise UserError(f"{source}: role {bad_roles[0]!r} is not one of {', '.join(ROLES)}")
    try:
        for column in _OPTIONAL_INTEGER:
            number = table[column].replace("", np.nan).astype(np.float64)
            if not np.all(np.isnan(number) | (number == np.round(number))):
                raise ValueError(f"{column}: not an integer")
            table[column] = number.astype("Int64")
        for column in _INTEGER:
            table[column] = table[column].astype(np.int64)
        for column in _REAL:  # "nan" and "inf" are values a diverged rollout writes
            table[column] = table[column].astype(np.float64)
    except (ValueError, TypeError) as error:
        raise UserError(f"{source}: not a results table ({error})") from None
    return table


def read_results(path: str | Path) -> pd.DataFrame:
    """``results.csv`` as a typed frame (:func:`result_frame`), its header checked."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no results table there")
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), None)
    if header is None or tuple(header) != RESULT_COLUMNS:
        raise UserError(f"{path}: the header must be {','.join(RESULT_COLUMNS)} (got {','.join(header or [])})")
    try:
        optional = {c: str for c in _OPTIONAL_INTEGER}
        table = pd.read_csv(path, dtype={c: str for c in _TEXT} | optional, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: {' '.join(str(error).split())}") from None
    return result_frame(table, str(path))
