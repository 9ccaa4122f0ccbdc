"""The final tracks file ``<video><scorer>_el.h5`` (+ ``.csv``) that DeepLabCut and movement open.

Columns ``scorer/individuals/bodyparts/coords`` (x, y, likelihood), one row per
video frame, the unique bodyparts under individual ``single``.

HDF5 keys: DeepLabCut's stitcher stores the table under ``tracks``, but every
DeepLabCut reader of ``_el.h5`` calls ``pd.read_hdf(path)`` without a key (or
with ``"df_with_missing"``, as ``extract_outlier_frames``), and movement's
``load_poses.from_dlc_file`` and dlc2kinematics require ``df_with_missing``.
So the table is stored once, under ``df_with_missing``, and ``/tracks`` is an
HDF5 soft link to it: pandas sees a single table (``read_hdf`` without a key
works), movement validates and reads it, and ``h5py`` readers find ``tracks``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

from markerless.io.atomic import atomic_write
from markerless.io.dlc_analysis import H5_KEY, _stamp_pandas_version, poses_to_frame
from markerless.poses import Poses

__all__ = ["TRACKS_LINK", "tracks_frame", "write_tracks"]

#: DeepLabCut's key of stitched tracks, kept as a soft link to the table.
TRACKS_LINK = "tracks"


def tracks_frame(poses: Poses) -> pd.DataFrame:
    """DeepLabCut's multi-animal table of ``poses`` (row index = video frame)."""
    return poses_to_frame(poses, likelihood=True)


def write_tracks(
    poses: Poses, path: str | os.PathLike, save_as_csv: bool = False, backup: bool = True
) -> Path:
    """Write tracked ``poses`` to ``path`` (.h5) and optionally the .csv beside it.

    Tracks may have been proofread, so the previous file is kept as ``.bak``.
    """
    import tables

    path = Path(path).with_suffix(".h5")
    df = tracks_frame(poses)

    def _h5(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            df.to_hdf(tmp, key=H5_KEY, mode="w", format="table")
        _stamp_pandas_version(tmp)
        with tables.open_file(tmp, mode="a") as f:
            f.create_soft_link("/", TRACKS_LINK, "/" + H5_KEY)

    atomic_write(path, _h5, backup=backup)
    if save_as_csv:
        atomic_write(path.with_suffix(".csv"), lambda tmp: df.to_csv(tmp), backup=backup)
    return path
