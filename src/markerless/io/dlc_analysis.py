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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.io.atomic import atomic_write
from markerless.io.dlc_tables import (
    H5_KEY,
    LEVELS_MULTI,
    LEVELS_SINGLE,
    _fail,
    _Table,
    read_table,
)
from markerless.poses import SINGLE_ANIMAL, Poses

__all__ = [
    "H5_KEY", "LEVELS_MULTI", "LEVELS_SINGLE", "analysis_path", "frames_index",
    "is_dlc_analysis", "poses_to_frame", "read_analysis", "read_table", "sniff_kind",
    "table_to_poses", "write_analysis", "write_table",
]

_COORDS = ("x", "y", "likelihood")


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
        if ("/" + H5_KEY) not in f:
            return  # nothing was written (full disk): verification reports it
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

    h5 = atomic_write(path.with_suffix(".h5"), _h5, backup=backup,
                      verify=lambda tmp: verify_h5_table(tmp, df))
    if csv_too:
        atomic_write(path.with_suffix(".csv"), lambda tmp: df.to_csv(tmp), backup=backup,
                     verify=lambda tmp: verify_csv_table(tmp, df))
    return h5


def verify_h5_table(path: Path, df: pd.DataFrame, key: str = H5_KEY) -> None:
    """Raise unless ``path`` holds ``key`` with ``df``'s shape, columns and end rows.

    Why: ``to_hdf`` can return normally on a full disk and leave an empty file;
    :func:`markerless.io.atomic.atomic_write` calls this before replacing the old file.
    """
    back = pd.read_hdf(path, key=key)
    if back.shape != df.shape:
        raise ValueError(f"table {key!r} has shape {back.shape}, expected {df.shape}")
    if not back.columns.equals(df.columns):
        raise ValueError(f"table {key!r} has other columns than were written")
    if len(df):
        for row in (0, len(df) - 1):
            a, b = back.iloc[row].to_numpy(), df.iloc[row].to_numpy()
            if not np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True):
                raise ValueError(f"row {row} of table {key!r} reads back different values")


def verify_csv_table(path: Path, df: pd.DataFrame) -> None:
    """Raise unless the CSV at ``path`` ends with a whole last row of ``df`` (cheap check)."""
    n_fields = df.index.nlevels + df.shape[1]
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] != b"":
        raise ValueError("the CSV does not end with a newline (truncated)")
    rows = [ln for ln in lines[:-1] if ln]
    if len(rows) < len(df) + df.columns.nlevels:
        raise ValueError(f"the CSV has {len(rows)} lines, expected at least "
                         f"{len(df) + df.columns.nlevels}")
    if len(df) and len(next(csv.reader([rows[-1].decode("utf-8", "replace")]))) != n_fields:
        raise ValueError("the CSV's last row is incomplete")


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
