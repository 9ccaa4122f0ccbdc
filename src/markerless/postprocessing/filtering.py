"""``filterpredictions``: smooth analysis results over time, drop and bridge unreliable points.

Same name, arguments and output file as DeepLabCut (``<video stem><scorer>_filtered.h5``,
+ .csv). What differs, on purpose:

* points with likelihood below ``p_bound`` are treated as missing for *every*
  filter (DeepLabCut does so only for ``arima``), gaps of at most ``max_gap``
  frames are bridged, longer gaps stay NaN rather than being invented;
* the median filter ignores missing values and shrinks its window at the ends of
  the video instead of padding with zeros (``scipy.signal.medfilt`` drags the
  first and last frames towards pixel 0);
* ``arima`` uses a vectorised ARMA fit (see :mod:`markerless.postprocessing.timeseries`).

Likelihoods are copied unchanged, so ``pcutoff`` still hides what the network was unsure of.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError
from markerless.poses import Poses
from markerless.postprocessing.common import (
    PoseSource,
    list_videos,
    model_scorer,
    read_project,
    resolve_analysis,
)
from markerless.postprocessing.timeseries import (
    arma_predict,
    fill_gaps,
    gap_lengths,
    nanmedian_filter,
    whittaker_smooth,
)

__all__ = ["FILTER_TYPES", "filter_poses", "filterpredictions"]

log = logging.getLogger(__name__)

FILTER_TYPES = ("median", "arima", "savgol", "spline")


def _savgol(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay along time for all columns; missing values bridged for the filter only."""
    from scipy.signal import savgol_filter

    n = x.shape[0]
    window = min(int(window), n if n % 2 else n - 1)
    if window <= polyorder:
        return x.copy()  # too short to fit the polynomial: nothing to smooth
    bridged = fill_gaps(x, edges=True)
    out = bridged.copy()
    ok = ~np.isnan(bridged).any(axis=0)  # all-NaN columns stay NaN
    out[:, ok] = savgol_filter(bridged[:, ok], window, polyorder, axis=0, mode="interp")
    return out


def filter_poses(
    poses: Poses,
    filtertype: str = "median",
    windowlength: int = 5,
    p_bound: float = 0.001,
    ARdegree: int = 3,  # noqa: N803 (DeepLabCut's names)
    MAdegree: int = 1,  # noqa: N803
    alpha: float = 0.01,
    max_gap: int | None = None,
    polyorder: int = 2,
) -> Poses:
    """Filtered copy of ``poses`` (every keypoint coordinate filtered along time).

    Parameters
    ----------
    filtertype
        ``"median"`` (running median of ``windowlength`` frames, odd), ``"savgol"``
        (Savitzky-Golay, ``windowlength`` frames, ``polyorder``), ``"spline"`` (discrete
        cubic smoothing spline, smoothing over about ``windowlength`` frames:
        ``lam = (windowlength / 2) ** 4``; it also bridges the gaps) or ``"arima"`` (one-step ARMA(
        ``ARdegree``, ``MAdegree``) prediction, as DeepLabCut).
    p_bound
        Points with a lower likelihood are dropped before filtering.
    max_gap
        Longest run of missing frames that is bridged (linear interpolation, or the
        spline); longer runs, and missing frames at the start or end, stay NaN.
        Default: ``windowlength``.
    """
    if filtertype not in FILTER_TYPES:
        raise ConfigError(f"Unknown filtertype {filtertype!r}; choose one of {list(FILTER_TYPES)}")
    windowlength = int(windowlength)
    if filtertype in ("median", "savgol") and (windowlength < 1 or windowlength % 2 == 0):
        raise ConfigError(f"windowlength must be a positive odd number, got {windowlength}")
    max_gap = windowlength if max_gap is None else int(max_gap)
    n = poses.n_frames
    xy = poses.xy.copy()
    if poses.likelihood is not None:
        xy[poses.likelihood < float(p_bound)] = np.nan
    flat = xy.reshape(n, -1)
    bridged = fill_gaps(flat, max_gap)
    missing = np.isnan(bridged)  # long gaps and the ends: NaN whatever the filter says
    if filtertype == "median":
        out = nanmedian_filter(bridged, windowlength)
    elif filtertype == "savgol":
        out = _savgol(bridged, windowlength, int(polyorder))
    elif filtertype == "spline":  # smoothness ~ windowlength frames
        out = whittaker_smooth(flat, (windowlength / 2) ** 4)
        missing = gap_lengths(flat) > max_gap
    else:
        out, _ = arma_predict(flat, ARdegree, MAdegree, alpha)
        if n:
            out[0] = bridged[0]  # no past to predict the first frame from (as DLC)
    out = np.where(missing, np.nan, out)
    return Poses(out.reshape(xy.shape), list(poses.bodyparts), list(poses.individuals),
                 list(poses.frames), poses.scorer,
                 None if poses.likelihood is None else poses.likelihood.copy(),
                 poses.defined.copy())  # fmt: skip


def filterpredictions(
    config: str | os.PathLike,
    video: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtertype: str = "median",
    windowlength: int = 5,
    p_bound: float = 0.001,
    ARdegree: int = 3,  # noqa: N803 (DeepLabCut's names)
    MAdegree: int = 1,  # noqa: N803
    alpha: float = 0.01,
    save_as_csv: bool = True,
    destfolder: str | os.PathLike | None = None,
    max_gap: int | None = None,
    *,
    polyorder: int = 2,
    analysis: PoseSource | Mapping[str, PoseSource] | None = None,
    redo: bool = False,
    **dlc_kwargs: Any,
) -> dict[str, Path]:
    """Filter the analysis results of videos into ``<video stem><scorer>_filtered.h5`` (+ .csv).

    Results are read from and written to ``destfolder`` (default: next to each video).
    A video whose filtered file exists is skipped (as DeepLabCut) unless ``redo``.
    ``analysis`` (Poses, a file, or a mapping video -> either) replaces the file found by
    the model's scorer. See :func:`filter_poses` for the filter parameters.

    Returns video path -> filtered .h5 path.
    """
    from markerless.io.dlc_analysis import analysis_path, write_analysis

    if dlc_kwargs:
        warnings.warn(f"ignored DeepLabCut options: {sorted(dlc_kwargs)}", stacklevel=2)
    _, project = read_project(config)
    scorer = None if analysis is not None else model_scorer(project, shuffle, trainingsetindex)
    out: dict[str, Path] = {}
    for v in list_videos(video, videotype):
        poses, name = resolve_analysis(project, v, shuffle, trainingsetindex, False, destfolder,
                                       analysis, scorer)  # fmt: skip
        target = analysis_path(v, name, "_filtered", destfolder)
        if target.is_file() and not redo:
            log.warning("%s is already filtered (%s); pass redo=True to filter again",
                        v.name, target)  # fmt: skip
            out[str(v)] = target
            continue
        filtered = filter_poses(poses, filtertype, windowlength, p_bound, ARdegree, MAdegree,
                                alpha, max_gap, polyorder)  # fmt: skip
        out[str(v)] = write_analysis(filtered, target, save_as_csv=save_as_csv)
    return out
