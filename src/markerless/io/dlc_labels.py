"""DeepLabCut label files ``CollectedData_<scorer>.h5`` / ``.csv`` <-> :class:`Poses`.

Reading, safe saving (atomic, ``.bak`` backup, refusal to drop labels), the
comparison and merge that saving needs, and the reader sniffer. The table
parsing is shared with analysis outputs (:mod:`.dlc_analysis`). Layout
details and choices: docs/formats.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import DataLossError, LabelFileError
from markerless.io.dlc_analysis import (
    H5_KEY,
    poses_to_frame,
    read_table,
    sniff_kind,
    table_to_poses,
    write_table,
)
from markerless.poses import UNIQUE_INDIVIDUAL, Poses

__all__ = [
    "H5_KEY",
    "find_label_loss",
    "find_labels_file",
    "is_dlc_labels",
    "labels_path",
    "merge_labels",
    "read_labels",
    "write_labels",
]


def find_labels_file(folder: str | os.PathLike) -> Path:
    """The single ``CollectedData_*.h5`` (else ``.csv``) in a labeled-data folder."""
    folder = Path(folder)
    for ext in ("h5", "csv"):
        found = sorted(folder.glob(f"CollectedData_*.{ext}"))
        if len(found) == 1:
            return found[0]
        if found:
            raise LabelFileError(
                f"{str(folder)!r} holds several label files {[p.name for p in found]}"
            )
    raise LabelFileError(f"No CollectedData_*.h5 or .csv in {str(folder)!r}")


def read_labels(path: str | os.PathLike) -> Poses:
    """Read ``CollectedData_<scorer>.h5`` or ``.csv`` (or the one in a folder).

    Single- or multi-animal, old (``'labeled-data/v/img.png'``) or new
    (3-level) row index; empty cells are NaN. ``frames`` are always
    ``'/'``-joined relative paths.
    """
    path = Path(path)
    if path.is_dir():
        path = find_labels_file(path)
    return table_to_poses(read_table(path))


def labels_path(project_dir: str | os.PathLike, video_stem: str, scorer: str) -> Path:
    """``<project>/labeled-data/<video_stem>/CollectedData_<scorer>.h5`` (DeepLabCut's layout)."""
    return Path(project_dir) / "labeled-data" / video_stem / f"CollectedData_{scorer}.h5"


def write_labels(
    poses: Poses,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    backup: bool = True,
    save_csv: bool = True,
) -> Path:
    """Save labels as DeepLabCut's ``CollectedData_<scorer>.h5`` and ``.csv``; returns the .h5.

    ``path`` is the .h5 (or .csv) file, or a folder (created if needed) that
    gets ``CollectedData_<poses.scorer>.h5``. Frames are written in the order
    given. Each file is replaced atomically and the previous one kept as
    ``<name>.bak``.

    Raises
    ------
    DataLossError
        When a point labeled in the file on disk would not be labeled after
        the save (dropped frame, bodypart, individual or point), unless
        ``overwrite=True``. :func:`merge_labels` combines both instead.
    """
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".csv"):
        path.mkdir(parents=True, exist_ok=True)
        path = path / f"CollectedData_{poses.scorer}.h5"
    path = path.with_suffix(".h5")
    df = poses_to_frame(poses)  # validates frames before anything is compared or written
    if not overwrite:
        on_disk = next((p for p in (path, path.with_suffix(".csv")) if p.exists()), None)
        if on_disk is not None:
            try:
                loss = find_label_loss(read_labels(on_disk), poses)
            except LabelFileError as err:
                raise DataLossError(
                    f"Cannot check {str(on_disk)!r} for labels the save would "
                    f"drop ({err}); pass overwrite=True to replace it"
                ) from err
            if loss:
                raise DataLossError(
                    f"Saving to {str(on_disk)!r} would drop labels: {loss}. "
                    "Pass overwrite=True to save anyway, or merge_labels(old, new) "
                    "to keep them."
                )
    return write_table(df, path, backup=backup, csv_too=save_csv)


# --- comparing and merging --------------------------------------------------
def _keys(frames: list) -> pd.Index:
    """Frame identity for matching: the '/'-separated string."""
    return pd.Index([str(f).replace("\\", "/") for f in frames], dtype=object)


def find_label_loss(old: Poses, new: Poses) -> str | None:
    """What saving ``new`` over ``old`` would drop, in words; None when nothing.

    A point is dropped when it is labeled in ``old`` and not labeled (or its
    frame, individual or bodypart column absent) in ``new``; matching is by
    name, so reordering is never a loss.
    """
    fi, ii, ki = (
        _keys(new.frames).get_indexer(_keys(old.frames)),
        pd.Index(new.individuals).get_indexer(old.individuals),
        pd.Index(new.bodyparts).get_indexer(old.bodyparts),
    )
    kept = np.zeros(old.xy.shape[:3], dtype=bool)
    f_ok, i_ok, k_ok = fi >= 0, ii >= 0, ki >= 0
    new_ok = new.labeled & new.defined[None]
    kept[np.ix_(f_ok, i_ok, k_ok)] = new_ok[np.ix_(fi[f_ok], ii[i_ok], ki[k_ok])]
    lost = old.labeled & old.defined[None] & ~kept
    if not lost.any():
        return None
    parts = [f"{int(lost.sum())} labeled point(s)"]
    had = old.labeled & old.defined[None]
    for what, names, ok, axes in (
        ("frames", old.frames, f_ok, (1, 2)),
        ("individuals", old.individuals, i_ok, (0, 2)),
        ("bodyparts", old.bodyparts, k_ok, (0, 1)),
    ):
        gone = [names[j] for j in np.flatnonzero(~ok & had.any(axis=axes))]
        if gone:
            parts.append(
                f"{what} missing from the new data: {gone[:10]}{' ...' if len(gone) > 10 else ''}"
            )
    f, i, k = np.argwhere(lost)[0]
    who = f" of {old.individuals[i]!r}" if old.multianimal else ""
    parts.append(f"first: frame {old.frames[f]!r}, bodypart {old.bodyparts[k]!r}{who}")
    return "; ".join(parts)


def merge_labels(old: Poses, new: Poses) -> Poses:
    """Frame-wise union of two label sets; ``new`` wins wherever it has a labeled point.

    Frames, individuals and bodyparts are matched by name: ``old``'s order
    first, then what only ``new`` has (``"single"`` stays last). Points that
    ``new`` leaves unlabeled keep ``old``'s value (napari-deeplabcut's
    merge-on-save). The scorer is ``old``'s (the file's owner).
    """
    if old.multianimal != new.multianimal:
        raise ValueError("Cannot merge single-animal with multi-animal labels")
    known = _keys(new.frames).isin(_keys(old.frames))
    frames = list(old.frames) + [f for f, k in zip(new.frames, known, strict=True) if not k]
    individuals = list(dict.fromkeys(old.individuals + new.individuals))
    if UNIQUE_INDIVIDUAL in individuals:
        individuals.remove(UNIQUE_INDIVIDUAL)
        individuals.append(UNIQUE_INDIVIDUAL)
    bodyparts = list(dict.fromkeys(old.bodyparts + new.bodyparts))
    out = Poses.empty(frames, bodyparts, individuals, old.scorer)
    out.defined[:] = False
    with_lik = old.likelihood is not None or new.likelihood is not None
    lik = np.full(out.xy.shape[:3], np.nan) if with_lik else None
    for src in (old, new):
        fi = _keys(frames).get_indexer(_keys(src.frames))
        ii = pd.Index(individuals).get_indexer(src.individuals)
        ki = pd.Index(bodyparts).get_indexer(src.bodyparts)
        ix = np.ix_(fi, ii, ki)
        out.defined[np.ix_(ii, ki)] |= src.defined
        take = src.labeled & src.defined[None]  # ``out`` starts all-NaN
        block = out.xy[ix]
        block[take] = src.xy[take]
        out.xy[ix] = block
        if lik is not None:
            lblock = lik[ix]
            lblock[take] = np.nan if src.likelihood is None else src.likelihood[take]
            lik[ix] = lblock
    out.likelihood = lik
    return out


def is_dlc_labels(path: str | os.PathLike) -> bool:
    """Cheap check (header and one row): a valid DeepLabCut labels table (x, y; no likelihood)."""
    return sniff_kind(path) == "labels"
