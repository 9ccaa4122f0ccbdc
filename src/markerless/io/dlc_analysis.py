"""DeepLabCut pose tables <-> Poses: analysis outputs, and the engine label files share.

Analysis outputs (``<video><scorer>.h5``, ``_filtered``, ``_el``/``_tr``):
``x, y, likelihood`` per bodypart under column levels ``scorer/bodyparts/coords``
or ``scorer/individuals/bodyparts/coords``, one row per video frame (row index
= frame number), written by DeepLabCut with ``to_hdf(key="df_with_missing",
format="table")`` and, with ``save_as_csv``, a .csv beside them.

Label files (:mod:`.dlc_labels`) are the same table without ``likelihood``, so
the parsing and building below serve both. Names and their order come from
the columns *in file order* (pandas sorts MultiIndex levels; DeepLabCut's
users care about their order). See docs/formats.md.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.io.atomic import atomic_write
from markerless.poses import SINGLE_ANIMAL, Poses

LEVELS_SINGLE = ("scorer", "bodyparts", "coords")
LEVELS_MULTI = ("scorer", "individuals", "bodyparts", "coords")
#: key DeepLabCut writes; napari-deeplabcut writes "keypoints", tracklet stitching "tracks".
H5_KEY = "df_with_missing"
_H5_KEYS = (H5_KEY, "keypoints", "tracks")
_COORDS = ("x", "y", "likelihood")
_INT = re.compile(r"-?\d+")


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
        raise _fail(
            path, f"cannot read as a pandas HDF5 file ({type(err).__name__}: {err})"
        ) from err
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


def table_to_poses(table: _Table, require_likelihood: bool = False) -> Poses:
    """Vectorised: one scatter of the value block into ``xy`` (and ``likelihood``)."""
    path, lv = table.path, table.levels
    coords = lv["coords"]
    cc = pd.Index(_COORDS).get_indexer(coords)
    if (cc < 0).any():
        j = int(np.argmax(cc < 0))
        raise _fail(path, f"{table.where(j)}: coordinate {coords[j]!r} is not x, y or likelihood")
    scorers = pd.unique(lv["scorer"][lv["scorer"] != ""]).tolist()
    if len(scorers) > 1:
        raise _fail(path, f"several scorers {scorers} in one file")
    multi = "individuals" in lv
    ind_vals = lv["individuals"] if multi else np.full(len(coords), SINGLE_ANIMAL)
    if multi and (ind_vals == "").any():
        raise _fail(path, f"{table.where(int(np.argmax(ind_vals == '')))}: empty individual name")
    individuals = pd.unique(ind_vals).tolist()
    bodyparts = pd.unique(lv["bodyparts"]).tolist()
    ii = pd.Index(individuals).get_indexer(ind_vals)
    kk = pd.Index(bodyparts).get_indexer(lv["bodyparts"])
    n_ind, n_kp = len(individuals), len(bodyparts)
    flat = (ii * n_kp + kk) * 3 + cc
    counts = np.bincount(flat, minlength=n_ind * n_kp * 3)
    if (counts > 1).any():
        j = int(np.argmax(pd.Index(flat).duplicated()))
        raise _fail(path, f"{table.where(j)}: duplicate column")
    present = counts.reshape(n_ind, n_kp, 3) > 0
    defined = present.any(axis=-1)
    incomplete = defined & ~(present[..., 0] & present[..., 1])
    if incomplete.any():
        i, k = np.argwhere(incomplete)[0]
        have = [c for c, p in zip(_COORDS, present[i, k], strict=True) if p]
        who = f"bodypart {bodyparts[k]!r}" + (f" of {individuals[i]!r}" if multi else "")
        raise _fail(
            path,
            f"{who} has coordinate columns {have}, expected x and y "
            "(odd number of coordinate columns?)",
        )
    has_lik = present[..., 2][defined]
    if has_lik.any() != has_lik.all():
        raise _fail(path, "likelihood columns for some bodyparts but not for others")
    if require_likelihood and not has_lik.all():
        raise _fail(path, "no 'likelihood' columns: this is a labels file, not an analysis output")
    seen = pd.Index([str(f) for f in table.frames])
    if seen.has_duplicates:
        raise _fail(path, f"frame {seen[seen.duplicated()][0]!r} appears twice")
    n = len(table.frames)
    xy = np.full((n, n_ind, n_kp, 2), np.nan)
    m = cc < 2
    xy[:, ii[m], kk[m], cc[m]] = table.values[:, m]
    likelihood = None
    if has_lik.all() and has_lik.size:
        likelihood = np.full((n, n_ind, n_kp), np.nan)
        likelihood[:, ii[~m], kk[~m]] = table.values[:, ~m]
    frames = [f.replace("\\", "/") if isinstance(f, str) else f for f in table.frames]
    return Poses(
        xy, bodyparts, individuals, frames, scorers[0] if scorers else "", likelihood, defined
    )


# --- writing -----------------------------------------------------------------
def frames_index(frames: list) -> pd.Index:
    """DeepLabCut >= 2.2 row index: 3 levels for ``labeled-data/<video>/<image>`` paths.

    Other frame names stay a flat index (ints for video frame numbers).
    """
    if frames and all(
        isinstance(f, (int, np.integer)) and not isinstance(f, bool) for f in frames
    ):
        return pd.Index(np.asarray(frames, dtype=np.int64))
    names = [str(f).replace("\\", "/") for f in frames]
    parts = [n.split("/") for n in names]
    if names and all(len(p) == 3 and all(p) for p in parts):
        return pd.MultiIndex.from_tuples([tuple(p) for p in parts])
    return pd.Index(names, dtype=object)


def poses_to_frame(poses: Poses, likelihood: bool = False) -> pd.DataFrame:
    """DeepLabCut DataFrame of the ``defined`` columns, built with one reshape.

    ``likelihood=True`` adds the analysis-output ``likelihood`` coordinate
    (1.0 for labeled points when ``poses.likelihood`` is None).
    """
    keys = pd.Index([str(f).replace("\\", "/") for f in poses.frames])
    if keys.has_duplicates:
        raise ValueError(
            f"Frame {keys[keys.duplicated()][0]!r} appears twice; frames must be unique"
        )
    mask = poses.defined
    n_def = int(mask.sum())
    if not n_def:
        raise ValueError("Nothing to write: no (individual, bodypart) column is defined")
    block = poses.xy[:, mask]  # (frames, defined columns, 2), row-major = file order
    coords = ["x", "y"]
    if likelihood:
        lik = poses.likelihood
        if lik is None:
            lik = np.where(poses.labeled, 1.0, np.nan)
        block = np.concatenate([block, lik[:, mask][..., None]], axis=-1)
        coords.append("likelihood")
    nc = len(coords)
    cols = poses.columns()
    arrays = [[poses.scorer] * (n_def * nc)]
    if poses.multianimal:
        arrays.append([ind for ind, _ in cols for _ in coords])
    arrays += [[bp for _, bp in cols for _ in coords], coords * n_def]
    columns = pd.MultiIndex.from_arrays(
        arrays, names=LEVELS_MULTI if poses.multianimal else LEVELS_SINGLE
    )
    values = block.reshape(poses.n_frames, n_def * nc)
    return pd.DataFrame(values, index=frames_index(poses.frames), columns=columns)


def _stamp_pandas_version(path: Path) -> None:
    """Let pandas < 3 read table-format files written by pandas 3.

    pandas 3 no longer writes the ``pandas_version`` attribute; pandas 2.x then
    takes the file for a pre-0.10.1 one and fails on it (AttributeError). The
    attribute pandas 0.15.2-2.x write restores compatibility both ways.
    """
    import tables

    with tables.open_file(path, mode="a") as f:
        attrs = f.get_node("/" + H5_KEY)._v_attrs
        if "pandas_version" not in attrs:
            attrs.pandas_version = "0.15.2"


def write_table(df: pd.DataFrame, path: Path, backup: bool, csv_too: bool) -> Path:
    """``df`` to ``path`` (.h5, key ``df_with_missing``) and optionally the .csv beside it.

    PyTables' "table" format (as DeepLabCut) when the index is flat; "fixed"
    for the 3-level row index, which the table format cannot store together
    with MultiIndex columns (DeepLabCut 2.2+ and napari-deeplabcut do the same),
    and for empty tables (a no-op in table format).
    """
    fmt = "table" if not isinstance(df.index, pd.MultiIndex) and len(df) else "fixed"

    def _h5(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            df.to_hdf(tmp, key=H5_KEY, mode="w", format=fmt)
        if fmt == "table":
            _stamp_pandas_version(tmp)

    h5 = atomic_write(path.with_suffix(".h5"), _h5, backup=backup)
    if csv_too:
        atomic_write(path.with_suffix(".csv"), lambda tmp: df.to_csv(tmp), backup=backup)
    return h5


# --- sniffing ----------------------------------------------------------------
def sniff_kind(path: str | os.PathLike) -> str | None:
    """``"labels"``, ``"analysis"`` (has likelihood) or None, from header + 1 row; never raises."""
    try:
        path = Path(path)
        if not path.is_file() or path.suffix.lower() not in (".h5", ".csv"):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            poses = table_to_poses(read_table(path, nrows=1))
        return "labels" if poses.likelihood is None else "analysis"
    except Exception:  # noqa: BLE001 - a sniffer answers "no" instead of raising
        return None


# --- analysis outputs ---------------------------------------------------------
def read_analysis(path: str | os.PathLike) -> Poses:
    """Read a DeepLabCut analysis output (.h5 or .csv) with its likelihood.

    ``frames`` are the row index: video frame numbers (ints), or image paths
    for outputs of image folders (``machinelabels-iter0.h5``).

    Raises
    ------
    LabelFileError
        Malformed file, or no ``likelihood`` columns (a labels file).
    """
    return table_to_poses(read_table(path), require_likelihood=True)


def write_analysis(
    poses: Poses,
    path: str | os.PathLike,
    save_as_csv: bool = False,
    *,
    backup: bool = False,
) -> Path:
    """Write ``poses`` as a DeepLabCut analysis output; returns the .h5 path.

    ``poses.likelihood`` None (human labels) is written as 1.0 for labeled
    points and NaN elsewhere. Files are replaced atomically; analysis results
    are re-computable, so no ``.bak`` is kept unless ``backup=True``.
    """
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".csv"):
        raise LabelFileError(f"{str(path)!r}: analysis outputs are .h5 (and .csv) files")
    return write_table(
        poses_to_frame(poses, likelihood=True), path, backup=backup, csv_too=save_as_csv
    )


def analysis_path(
    video: str | os.PathLike,
    scorer: str,
    suffix: str = "",
    destfolder: str | os.PathLike | None = None,
) -> Path:
    """DeepLabCut's output name: ``<destfolder>/<video stem><scorer><suffix>.h5``.

    ``suffix`` is e.g. ``"_filtered"``, ``"_el"`` or ``"_tr"``; ``destfolder``
    defaults to the video's folder.
    """
    video = Path(video)
    folder = Path(destfolder) if destfolder is not None else video.parent
    return folder / f"{video.stem}{scorer}{suffix}.h5"


def is_dlc_analysis(path: str | os.PathLike) -> bool:
    """Cheap check (header and one row): a valid DeepLabCut table with ``likelihood`` columns."""
    return sniff_kind(path) == "analysis"
