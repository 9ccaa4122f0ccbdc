"""``filterpredictions_3d``: gate 3D points by reprojection error, bridge gaps, median-filter.

As anipose's ``filter-3d``: points whose reprojection error is above ``error_threshold``
px become missing; gaps of at most ``max_gap`` frames are interpolated linearly (longer
gaps stay NaN rather than being invented); a running median of ``windowlength`` frames
that ignores missing values smooths what is left. Bridged points keep NaN error and 0
cameras, so a reader can tell measured from interpolated.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from markerless.errors import ArgumentError, LabelFileError
from markerless.pose3d.outputs import (
    Points3D,
    read_anipose_csv,
    read_dlc_3d,
    write_anipose_csv,
    write_dlc_3d,
)


def filter_points3d(res: Points3D, error_threshold: float | None = 15.0, max_gap: int = 10,
                    windowlength: int = 5) -> Points3D:
    """The filtered copy of ``res`` (see module doc); ``windowlength=1`` skips the median."""
    from markerless.postprocessing.timeseries import fill_gaps, nanmedian_filter

    if windowlength < 1 or windowlength % 2 == 0:
        raise ArgumentError(f"windowlength must be a positive odd number, got {windowlength}")
    pts = res.points.copy()
    keep = np.isfinite(pts).all(axis=-1)
    if error_threshold is not None:
        with np.errstate(invalid="ignore"):
            keep &= ~(res.error > error_threshold)
    pts[~keep] = np.nan
    F = pts.shape[0]
    flat = pts.reshape(F, -1)
    flat = fill_gaps(flat, max_gap=max_gap)
    if windowlength > 1:
        flat = nanmedian_filter(flat, windowlength)
        flat[np.isnan(fill_gaps(pts.reshape(F, -1), max_gap=max_gap))] = np.nan
    out = flat.reshape(pts.shape)
    bridged = np.isfinite(out).all(-1) & ~keep
    error = np.where(keep, res.error, np.nan)
    ncams = np.where(keep, res.ncams, np.where(bridged, 0.0, np.nan))
    score = np.where(keep, res.score, np.nan)
    return Points3D(out, list(res.bodyparts), list(res.individuals), error, ncams, score,
                    list(res.camera_names), None, res.scorer, list(res.skeleton))


def _load(path: Path) -> tuple[Points3D, Path]:
    """A 3D result and the stem its outputs are named after (``<name>_DLC_3D``)."""
    if path.suffix.lower() == ".csv" and path.stem.endswith("_anipose"):
        res = read_anipose_csv(path)
        return res, path.with_name(path.stem[: -len("_anipose")])
    res = read_dlc_3d(path)
    sibling = path.with_name(path.stem + "_anipose.csv")
    if sibling.is_file():  # the errors live in the anipose CSV
        stats = read_anipose_csv(sibling)
        if stats.points.shape == res.points.shape:
            res.error, res.ncams, res.score = stats.error, stats.ncams, stats.score
    return res, path.with_suffix("")


def filterpredictions_3d(config, paths: str | os.PathLike | Sequence[str | os.PathLike],
                         error_threshold: float | None = 15.0, max_gap: int = 10,
                         windowlength: int = 5, save_as_csv: bool = False,
                         destfolder: str | os.PathLike | None = None) -> list[Path]:
    """Filter triangulated results (``<name>_DLC_3D.h5`` or ``..._anipose.csv``).

    ``config`` (the 3D config.yaml, or None) supplies nothing but is kept for DeepLabCut's
    argument order. Writes ``<name>_DLC_3D_filtered.h5`` (+ .csv) and
    ``<name>_DLC_3D_filtered_anipose.csv``; returns the .h5 paths.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    out = []
    for item in items:
        path = Path(item)
        if not path.is_file():
            raise LabelFileError(f"3D result {str(path)!r} not found")
        res, stem = _load(path)
        filt = filter_points3d(res, error_threshold, max_gap, windowlength)
        base = (Path(destfolder) / stem.name) if destfolder else stem
        base.parent.mkdir(parents=True, exist_ok=True)
        h5 = write_dlc_3d(filt, Path(f"{base}_filtered.h5"), save_as_csv)
        for i, ind in enumerate(filt.individuals):
            tag = f"_{ind}" if filt.multianimal else ""
            write_anipose_csv(filt, Path(f"{base}_filtered{tag}_anipose.csv"), i)
        out.append(h5)
    return out
