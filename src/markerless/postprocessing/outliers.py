"""``extract_outlier_frames``: frames where the model is probably wrong, queued for correction.

Same name, arguments and files as DeepLabCut's: candidate frames are found from
the analysis results (``jump``, ``uncertain``, ``fitting`` or a ``manual`` list),
``numframes2pick`` of them are chosen (k-means on thumbnails or uniformly), their
PNGs go to ``labeled-data/<video stem>/`` and the model's predictions for them to
``machinelabels-iter<N>.h5`` (+ .csv) there, ready to be corrected in napari and
merged into ``CollectedData_<scorer>.h5`` (:mod:`markerless.postprocessing.refine`).

Frames that already carry human labels, or already wait in a machine-labels file,
are never picked again, and existing PNGs are never overwritten.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError, LabelFileError
from markerless.poses import Poses
from markerless.postprocessing.common import (
    PoseSource,
    list_videos,
    read_project,
    resolve_analysis,
    select_names,
)
from markerless.validate import positive_int

__all__ = [
    "OUTLIER_ALGORITHMS",
    "extract_outlier_frames",
    "find_outliers",
    "machinelabels_path",
    "pick_frames",
]

log = logging.getLogger(__name__)

OUTLIER_ALGORITHMS = ("jump", "uncertain", "fitting", "manual")
#: k-means never looks at more candidates than this (they are subsampled evenly first).
MAX_KMEANS_CANDIDATES = 5000


def machinelabels_path(folder: str | os.PathLike, iteration: int) -> Path:
    """``<labeled-data folder>/machinelabels-iter<N>.h5`` (DeepLabCut's name)."""
    return Path(folder) / f"machinelabels-iter{int(iteration)}.h5"


# --- finding candidates ----------------------------------------------------------------
def _fitting_distance(xy: np.ndarray, lik: np.ndarray | None, p_bound: float, alpha: float,
                      ar: int, ma: int) -> np.ndarray:
    """Per frame, the mean over keypoints of |observed - ARMA one-step prediction|."""
    from markerless.postprocessing.timeseries import arma_predict

    n = xy.shape[0]
    obs = xy.reshape(n, -1, 2)
    fit_input = obs.copy()
    if lik is not None:  # uncertain estimates are missing data for the fit (as DLC)
        fit_input[lik.reshape(n, -1) < p_bound] = np.nan
    pred, _ = arma_predict(fit_input.reshape(n, -1), ar, ma, alpha)
    dist = np.linalg.norm(obs - pred.reshape(obs.shape), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(dist, axis=1)


def find_outliers(
    poses: Poses,
    outlieralgorithm: str = "jump",
    comparisonbodyparts: str | Sequence[str] = "all",
    epsilon: float = 20,
    p_bound: float = 0.01,
    ARdegree: int = 3,  # noqa: N803 (DeepLabCut's names)
    MAdegree: int = 1,  # noqa: N803
    alpha: float = 0.01,
    frames: Sequence[int] | None = None,
    start: float = 0.0,
    stop: float = 1.0,
    numframes2pick: int = 20,
) -> np.ndarray:
    """Sorted row positions of ``poses`` that are putative outliers (DeepLabCut's rules).

    * ``"jump"``: some compared keypoint moved more than ``epsilon`` px since the previous frame;
    * ``"uncertain"``: some compared keypoint has likelihood below ``p_bound``;
    * ``"fitting"``: the mean distance of the keypoints to an ARMA(``ARdegree``,
      ``MAdegree``) one-step prediction exceeds ``epsilon`` (points below ``p_bound``
      are missing data for the fit); when fewer than ``2 * numframes2pick`` frames
      qualify, the ``2 * numframes2pick`` most distant frames are taken instead;
    * ``"manual"``: the given ``frames``.

    Only rows within the ``start``/``stop`` fractions of the video are considered;
    all individuals count.
    """
    n = poses.n_frames
    first = max(int(math.floor(n * float(start))), 0)
    last = min(int(math.ceil(n * float(stop))), n)
    kp = select_names(poses.bodyparts, comparisonbodyparts)
    xy = poses.xy[first:last][:, :, kp]
    lik = None if poses.likelihood is None else poses.likelihood[first:last][:, :, kp]
    if outlieralgorithm == "uncertain":
        if lik is None:
            raise LabelFileError("outlieralgorithm='uncertain' needs likelihoods (analysis "
                                 "results), but these poses have none")  # fmt: skip
        hits = np.flatnonzero((lik < p_bound).any(axis=(1, 2)))
    elif outlieralgorithm == "jump":
        step = np.sum(np.diff(xy, axis=0) ** 2, axis=-1)  # NaN compares False
        hits = np.flatnonzero((step > float(epsilon) ** 2).any(axis=(1, 2))) + 1
    elif outlieralgorithm == "fitting":
        d = _fitting_distance(xy, lik, p_bound, alpha, ARdegree, MAdegree)
        hits = np.flatnonzero(d > epsilon)
        want = 2 * int(numframes2pick)
        if len(hits) < want and len(d) > want:
            hits = np.sort(np.argsort(np.nan_to_num(d, nan=-np.inf))[::-1][:want])
    elif outlieralgorithm in ("manual", "list"):
        if frames is None:
            raise ConfigError(
                "outlieralgorithm='manual' needs the frames to extract (frames=[...])"
            )
        wanted = np.unique(np.asarray(list(frames), dtype=int))
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= n):
            raise ConfigError(f"frames {wanted[(wanted < 0) | (wanted >= n)][:5].tolist()} are "
                              f"outside the video's {n} analysed frames")  # fmt: skip
        hits = wanted[(wanted >= first) & (wanted < last)] - first
    else:
        raise ConfigError(f"Unknown outlieralgorithm {outlieralgorithm!r}; choose one of "
                          f"{list(OUTLIER_ALGORITHMS)}")  # fmt: skip
    return np.unique(np.asarray(hits, dtype=int) + first)


# --- choosing among candidates ---------------------------------------------------------
def pick_frames(
    video: str | os.PathLike, candidates: Sequence[int], n: int, algo: str = "kmeans",
    seed: int = 0,
) -> np.ndarray:
    """``n`` of the candidate frame indices, spread over appearance (``kmeans``) or time.

    k-means clusters grey thumbnails (as ``extract_frames``) and takes, from each
    cluster, the frame nearest its centre; ``uniform`` takes evenly spaced candidates.
    """
    cand = np.unique(np.asarray(list(candidates), dtype=int))
    n = int(n)
    if n <= 0:
        return np.zeros(0, int)
    if len(cand) <= n:
        return cand
    if algo == "uniform":
        return cand[np.unique(np.linspace(0, len(cand) - 1, n).round().astype(int))]
    if algo != "kmeans":
        raise ConfigError(f"Unknown extraction algorithm {algo!r}: use 'kmeans' or 'uniform'")
    if len(cand) > MAX_KMEANS_CANDIDATES:
        cand = cand[np.unique(np.linspace(0, len(cand) - 1, MAX_KMEANS_CANDIDATES).astype(int))]
    from markerless.project.frames import kmeans_pick, thumbnails

    return kmeans_pick(thumbnails(video, cand), cand, n, seed)


# --- files -----------------------------------------------------------------------------
def _taken_frames(folder: Path, human_scorer: str) -> set[str]:
    """Image names in ``folder`` that have human labels or wait in a machine-labels file."""
    from markerless.io.dlc_analysis import read_table, table_to_poses

    taken: set[str] = set()
    for ext in ("h5", "csv"):
        path = folder / f"CollectedData_{human_scorer}.{ext}"
        if path.is_file():
            labels = table_to_poses(read_table(path))
            has = labels.labeled.any(axis=(1, 2))
            taken |= {Path(str(f)).name for f, h in zip(labels.frames, has, strict=True) if h}
            break
    for path in sorted(folder.glob("machinelabels-iter*.h5")):
        taken |= {Path(str(f)).name for f in table_to_poses(read_table(path)).frames}
    return taken


def _add_video_to_config(config: Path, cfg: Mapping[str, Any], video: Path) -> None:
    """Register ``video`` in config.yaml ``video_sets`` (as DeepLabCut does) when missing."""
    from markerless.project.videos import video_stem

    known = {video_stem(v) for v in (cfg.get("video_sets") or {})}
    if video.stem not in known:
        from markerless.project.create import add_new_videos

        add_new_videos(config, [video])


def _write_machine_labels(poses: Poses, picked: np.ndarray, video: Path, folder: Path,
                          iteration: int) -> Path:
    """Predictions of the picked frames, renamed to their PNGs, merged into the machine file."""
    from markerless.io.dlc_analysis import read_analysis, write_analysis
    from markerless.io.dlc_labels import merge_labels
    from markerless.io.video import probe_video
    from markerless.project.frames import frame_name

    n_video = probe_video(video).n_frames
    rows = _rows_of(poses, picked)
    machine = poses.select_frames(rows)
    machine.frames = [f"labeled-data/{folder.name}/{frame_name(int(i), n_video)}" for i in picked]
    path = machinelabels_path(folder, iteration)
    if path.is_file():  # frames already there keep their first predictions (as DLC)
        machine = merge_labels(machine, read_analysis(path))
        order = np.argsort([str(f) for f in machine.frames], kind="stable")
        machine = machine.select_frames(order)
    return write_analysis(machine, path, save_as_csv=True)


def _rows_of(poses: Poses, indices: np.ndarray) -> np.ndarray:
    """Row positions of video frame ``indices`` in ``poses`` (frames are video frame numbers)."""
    try:
        names = np.asarray([int(f) for f in poses.frames])
    except (TypeError, ValueError):
        return np.asarray(indices, dtype=int)  # no frame numbers: rows are frames
    pos = {int(f): r for r, f in enumerate(names)}
    missing = [int(i) for i in indices if int(i) not in pos]
    if missing:
        raise LabelFileError(f"frames {missing[:5]} are not in the analysis results")
    return np.asarray([pos[int(i)] for i in indices], dtype=int)


def extract_outlier_frames(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    outlieralgorithm: str = "jump",
    comparisonbodyparts: str | Sequence[str] = "all",
    epsilon: float = 20,
    p_bound: float = 0.01,
    ARdegree: int = 3,  # noqa: N803 (DeepLabCut's names)
    MAdegree: int = 1,  # noqa: N803
    alpha: float = 0.01,
    extractionalgo: str = "kmeans",
    automatic: bool = True,
    cluster_resizewidth: int = 30,
    numframes2pick: int | None = None,
    destfolder: str | os.PathLike | None = None,
    frames: Sequence[int] | None = None,
    *,
    analysis: PoseSource | Mapping[str, PoseSource] | None = None,
    filtered: bool = False,
    seed: int = 0,
    **dlc_kwargs: Any,
) -> dict[str, list[int]]:
    """Extract likely mispredicted frames of analysed videos for correction (DeepLabCut's API).

    Parameters
    ----------
    config, videos, videotype, shuffle, trainingsetindex
        As in DeepLabCut: the analysis results ``<video stem><scorer>.h5`` of this
        shuffle's model are read from ``destfolder`` (default: next to each video).
    outlieralgorithm, comparisonbodyparts, epsilon, p_bound, ARdegree, MAdegree, alpha, frames
        Which frames are candidates: see :func:`find_outliers` (``frames`` for ``"manual"``).
    extractionalgo
        ``"kmeans"`` or ``"uniform"`` choice of ``numframes2pick`` (config default) frames.
    automatic, cluster_resizewidth
        Accepted for compatibility: nothing is ever asked interactively, and thumbnails
        have the size ``extract_frames`` uses.
    analysis
        Results to use instead of the file found by scorer: Poses or a path, or a
        mapping from video path/stem to one (tests, napari).
    filtered
        Read ``..._filtered.h5`` instead.

    Returns
    -------
    dict
        Video path -> the frame indices whose predictions were added to
        ``labeled-data/<stem>/machinelabels-iter<N>.h5`` (their PNGs saved beside it).
    """
    from markerless.project.frames import frame_index, write_frames

    extractionalgo = dlc_kwargs.pop("extractionalgorithm", extractionalgo)
    frames2use = dlc_kwargs.pop("frames2use", None)  # DeepLabCut's name for ``frames``
    frames = frames2use if frames is None else frames
    if dlc_kwargs:
        warnings.warn(f"ignored DeepLabCut options: {sorted(dlc_kwargs)}", stacklevel=2)
    cfg, project = read_project(config)
    config_path = project / "config.yaml"
    n_pick = positive_int(cfg.get("numframes2pick") or 20 if numframes2pick is None
                          else numframes2pick, "numframes2pick")
    iteration = int(cfg.get("iteration", 0) or 0)
    start, stop = float(cfg.get("start", 0) or 0), float(cfg.get("stop", 1) or 1)
    out: dict[str, list[int]] = {}
    for video in list_videos(videos, videotype):
        poses, _ = resolve_analysis(config_path, video, shuffle, trainingsetindex, filtered,
                                    destfolder, analysis)  # fmt: skip
        rows = find_outliers(poses, outlieralgorithm, comparisonbodyparts, epsilon, p_bound,
                             ARdegree, MAdegree, alpha, frames, start, stop, n_pick)  # fmt: skip
        candidates = np.asarray([int(poses.frames[r]) for r in rows], dtype=int)
        folder = project / "labeled-data" / video.stem
        taken = {frame_index(name) for name in _taken_frames(folder, str(cfg["scorer"]))}
        fresh = candidates[~np.isin(candidates, list(taken - {None}))]
        log.info("%s: %s found %d putative outlier frames, %d not labeled yet",
                 video.name, outlieralgorithm, len(candidates), len(fresh))  # fmt: skip
        picked = pick_frames(video, fresh, n_pick, extractionalgo, seed)
        out[str(video)] = picked.tolist()
        if not len(picked):
            continue
        write_frames(video, picked, folder)
        _write_machine_labels(poses, picked, video, folder, iteration)
        _add_video_to_config(config_path, cfg, video)
    return out
