"""Parsing DeepLabCut's pose tables (.h5 and .csv) into plain arrays.

Label files and analysis outputs share one layout (column levels
``scorer/[individuals/]bodyparts/coords``, one row per frame); this module reads either into
a `_Table` of level names, a value block and frame keys, which :mod:`.dlc_analysis` turns into
`Poses`. Names keep their *file order* (pandas sorts MultiIndex levels), ragged CSV rows are
padded with NaN, and every error names the file and the column or row at fault.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError, short_reason

LEVELS_SINGLE = ("scorer", "bodyparts", "coords")
LEVELS_MULTI = ("scorer", "individuals", "bodyparts", "coords")
#: key DeepLabCut writes; napari-deeplabcut writes "keypoints", tracklet stitching "tracks".
H5_KEY = "df_with_missing"
_H5_KEYS = (H5_KEY, "keypoints", "tracks")
_INT = re.compile(r"-?\d+")

__all__ = ["H5_KEY", "LEVELS_MULTI", "LEVELS_SINGLE", "read_table"]


@dataclass
class _Table:
    """A DeepLabCut table as parsed from a file, before it becomes a ``Poses``."""

    path: Path
    levels: dict[str, np.ndarray]  # level name -> (columns,) str
    values: np.ndarray  # (rows, columns) float64
    frames: list
    where: Callable[[int], str]  # column position -> how to point at it in a message


# --- reading -----------------------------------------------------------------
def _fail(path: Path, what: str) -> LabelFileError:
    return LabelFileError(f"{str(path)!r}: {what}")


def _read_h5(path: Path, nrows: int | None = None) -> _Table:
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = [k.lstrip("/") for k in store]
            key = next((k for k in _H5_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise _fail(path, f"no DeepLabCut table (keys {keys}, expected {H5_KEY!r})")
            df = store.select(key, stop=nrows) if nrows is not None else store.get(key)
    except LabelFileError:
        raise
    except Exception as err:  # noqa: BLE001 - PyTables/pandas raise many types here
        raise _fail(path, f"cannot read as a pandas HDF5 file ({short_reason(err)})") from err
    if not isinstance(df, pd.DataFrame):
        raise _fail(path, f"key {key!r} holds a {type(df).__name__}, not a DataFrame")
    cols = df.columns
    if cols.nlevels not in (3, 4):
        raise _fail(
            path,
            f"columns have {cols.nlevels} levels {list(cols.names)}, expected "
            f"{list(LEVELS_SINGLE)} or {list(LEVELS_MULTI)}",
        )
    names = LEVELS_SINGLE if cols.nlevels == 3 else LEVELS_MULTI
    if any(n is not None for n in cols.names) and tuple(cols.names) != names:
        raise _fail(path, f"column levels are {list(cols.names)}, expected {list(names)}")
    levels = {n: np.asarray(cols.get_level_values(i)).astype(str) for i, n in enumerate(names)}
    try:
        values = df.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        for j in range(df.shape[1]):
            col = pd.to_numeric(df.iloc[:, j], errors="coerce")
            bad = col.isna() & df.iloc[:, j].notna()
            if bad.any():
                raise _fail(
                    path,
                    f"column {cols[j]}, row {df.index[bad.to_numpy()].tolist()[0]!r}: "
                    f"{df.iloc[:, j][bad].iloc[0]!r} is not a number",
                ) from None
        raise
    idx = df.index
    if isinstance(idx, pd.MultiIndex):
        parts = [pd.Series(idx.get_level_values(i)).astype(str) for i in range(idx.nlevels)]
        frames = parts[0].str.cat(parts[1:], sep="/").tolist()
    elif idx.dtype.kind in "iu":
        frames = [int(f) for f in idx]
    else:
        frames = [str(f) for f in idx]
    return _Table(path, levels, values, frames, lambda j: f"column {cols[j]}")


def _csv_header(path: Path) -> tuple[list[list[str]], list[int], int]:
    """The header rows (up to the ``coords`` one), their line numbers, and lines consumed."""
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in islice(reader, 12):
                if not any(c.strip() for c in row):
                    continue  # blank line
                rows.append(row)
                lines.append(reader.line_num)
                if row[0].strip() == "coords" or len(rows) == 4:
                    break
            return rows, lines, reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise _fail(path, f"cannot read as CSV ({err})") from err


def _csv_body_fast(path: Path, skip: int, width: int, n_index: int, nrows: int | None):
    """pandas' C parser; None when the body needs the careful parser (ragged, bad cells)."""
    data = range(n_index, width)
    # pandas < 3 parses floats inexactly unless asked; pandas 3 is exact and deprecates it.
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    try:
        body = pd.read_csv(
            path, skiprows=skip, header=None, names=range(width), nrows=nrows,
            dtype=dict.fromkeys(range(n_index), str), keep_default_na=False,
            na_values={j: [""] for j in data}, encoding="utf-8-sig", **exact,
        )  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return None
    if not isinstance(body.index, pd.RangeIndex):
        return None  # rows longer than the header: pandas moved cells into an index
    if not all(body[j].dtype.kind in "fi" for j in data):
        return None
    index = body.iloc[:, :n_index].fillna("").to_numpy(dtype=str)
    values = body.iloc[:, n_index:].to_numpy(dtype=np.float64)
    blank = (np.char.strip(index) == "").all(axis=1) & np.isnan(values).all(axis=1)  # ",,,"
    return index[~blank], values[~blank]


def _csv_body_careful(path: Path, skip: int, width: int, n_index: int, nrows, levels):
    """Cell by cell, to pad ragged rows and to name the row and column of a bad cell."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        rows, lines = [], []
        for row in islice(reader, skip, None):
            if not any(c.strip() for c in row):
                continue
            if len(row) > width and any(c.strip() for c in row[width:]):
                raise _fail(
                    path, f"row {reader.line_num} has {len(row)} cells but the 'coords' "
                    f"header only {width}",
                )  # fmt: skip
            rows.append(row[:width] + [""] * (width - len(row)))  # pad ragged rows
            lines.append(reader.line_num)
            if nrows is not None and len(rows) == nrows:
                break
    grid = np.array(rows, dtype=str).reshape(len(rows), width)
    cells = np.char.strip(grid[:, n_index:])
    try:
        values = np.where(cells == "", "nan", cells).astype(np.float64)
    except ValueError:
        for (r, c), cell in np.ndenumerate(cells):
            try:
                float(cell or "nan")
            except ValueError:
                raise _fail(
                    path,
                    f"row {lines[r]}, column {n_index + c + 1} "
                    f"({levels['bodyparts'][c]}/{levels['coords'][c]}): {cell!r} is not a number",
                ) from None
        raise
    return grid[:, :n_index], values


def _read_csv(path: Path, nrows: int | None = None) -> _Table:
    head, lines, skip = _csv_header(path)
    names = tuple(r[0].strip() for r in head)
    if names not in (LEVELS_SINGLE, LEVELS_MULTI):
        raise _fail(
            path,
            f"header rows start with {[r[0] for r in head]}, expected {list(LEVELS_SINGLE)} "
            f"or {list(LEVELS_MULTI)} (one header row per column level)",
        )
    width = len(head[-1])  # the coords row is complete; other header rows may be short
    n_index = 1
    while n_index < width and not head[-1][n_index].strip():
        n_index += 1
    if n_index == width:
        raise _fail(path, f"row {lines[-1]} ('coords') names no coordinate columns")
    for row, line in zip(head, lines, strict=True):
        if len(row) > width and any(c.strip() for c in row[width:]):
            raise _fail(
                path, f"row {line} has {len(row)} cells but the 'coords' header only {width}"
            )
    padded = np.array([r[:width] + [""] * (width - len(r)) for r in head], dtype=str)
    levels = {n: padded[i, n_index:] for i, n in enumerate(names)}
    for i, n in enumerate(names[1:], start=1):
        empty = np.flatnonzero(np.char.str_len(np.char.strip(levels[n])) == 0)
        if empty.size:
            raise _fail(path, f"row {lines[i]} ({n!r}): column {empty[0] + n_index + 1} is empty")
    body = _csv_body_fast(path, skip, width, n_index, nrows)
    if body is None:
        body = _csv_body_careful(path, skip, width, n_index, nrows, levels)
    index, values = body
    frames = reduce(lambda a, b: np.char.add(np.char.add(a, "/"), b), index.T).tolist()
    if frames and all(_INT.fullmatch(f) for f in frames):
        frames = [int(f) for f in frames]
    return _Table(path, levels, values, frames, lambda j: f"column {n_index + j + 1}")


def read_table(path: str | os.PathLike, nrows: int | None = None) -> _Table:
    """Parse a DeepLabCut .h5/.csv table (only the first ``nrows`` rows when given)."""
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"{str(path)!r} does not exist or is not a file")
    suffixes = [s.lower() for s in path.suffixes]
    kind = suffixes[-2] if suffixes[-1:] == [".bak"] and len(suffixes) > 1 else path.suffix.lower()
    if kind == ".csv":
        return _read_csv(path, nrows)
    if kind in (".h5", ".hdf5", ".hdf"):
        return _read_h5(path, nrows)
    raise _fail(path, "expected a DeepLabCut .h5 or .csv file (or its .bak backup)")
