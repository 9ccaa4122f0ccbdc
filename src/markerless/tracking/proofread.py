"""Proofreading tracks: open a video's tracks, save them corrected, send frames to labeling.

* :func:`read_tracks_file` opens DeepLabCut's ``<video><scorer>_el.h5`` (or its .csv,
  or any multi-animal analysis table) or a SLEAP ``.slp`` as :class:`TracksFile`, its
  poses with one row per video frame (SLEAP files skip empty frames; they are filled
  with NaN), and finds the video beside it.
* :func:`save_tracks` writes them back in the same format, atomically, keeping the
  previous file as ``.bak`` (:mod:`markerless.io.atomic`): ``_el.h5`` with the table
  under ``df_with_missing`` and DeepLabCut's ``tracks`` key as a link
  (:func:`~markerless.tracking.tracks_io.write_tracks`), so DeepLabCut and movement still
  open it; the .csv beside it is rewritten too, so the two never disagree.
* :func:`send_to_labeling` puts chosen frames into the project's ``labeled-data/<video>/``
  as PNGs with the tracks as multi-animal machine labels (``machinelabels-iter<N>.h5``,
  DeepLabCut's refinement files, through ``extract_outlier_frames``), to be corrected in
  the Labeling or Refine dock and merged into ``CollectedData``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError, LabelFileError
from markerless.poses import Poses
from markerless.tracking.edit import frame_numbers

__all__ = [
    "TracksFile",
    "conform_to_project",
    "dense_frames",
    "read_tracks_file",
    "save_tracks",
    "send_to_labeling",
    "video_beside",
]

_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".webm", ".wmv")


@dataclass
class TracksFile:
    """A video's tracks as opened: poses (row = video frame), where they came from."""

    poses: Poses
    path: Path
    format: str  # "dlc" (.h5/.csv table) or "slp"
    video: Path | None = None  # the video file, when found
    video_name: str | None = None  # the video as the file names it (SLEAP), for saving
    edges: list[tuple[str, str]] = field(default_factory=list)


def dense_frames(poses: Poses, n_frames: int | None = None) -> Poses:
    """``poses`` with one row per video frame ``0..n_frames-1`` (missing rows all NaN)."""
    frames = frame_numbers(poses)
    n = int(frames.max()) + 1 if len(frames) else 0
    n = max(n, int(n_frames or 0))
    if len(frames) == n and np.array_equal(frames, np.arange(n)):
        return poses
    if (frames < 0).any():
        raise LabelFileError(f"negative frame number {int(frames.min())} in the tracks")
    xy = np.full((n, *poses.xy.shape[1:]), np.nan)
    xy[frames] = poses.xy
    lik = None
    if poses.likelihood is not None:
        lik = np.full(xy.shape[:3], np.nan)
        lik[frames] = poses.likelihood
    return Poses(xy, poses.bodyparts, poses.individuals, list(range(n)), poses.scorer, lik,
                 poses.defined.copy())


def video_beside(path: str | os.PathLike) -> Path | None:
    """The video a results file ``<video><scorer>..._el.h5`` belongs to, in its folder
    (the longest video name the file name starts with)."""
    path = Path(path)
    found = [v for v in path.parent.iterdir()
             if v.suffix.lower() in _VIDEO_SUFFIXES and v.stem and path.stem.startswith(v.stem)]
    return max(found, key=lambda v: len(v.stem)) if found else None


def read_tracks_file(path: str | os.PathLike, video: str | os.PathLike | None = None
                     ) -> TracksFile:
    """Open multi-animal tracks: ``_el.h5``/.csv (or another maDLC analysis table) or .slp.

    ``video`` overrides the video found beside the file (or named in the .slp).
    """
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"tracks file {str(path)!r} not found")
    if path.suffix.lower() == ".slp":
        from markerless.io.slp import read_slp

        part = read_slp(path)[0]
        poses, found, name, edges = part.poses, part.video, part.stored_video, list(part.edges)
        fmt = "slp"
    else:
        from markerless.io.dlc_analysis import read_table, table_to_poses

        poses = table_to_poses(read_table(path))
        found, name, edges, fmt = video_beside(path), None, [], "dlc"
    if not poses.multianimal:
        raise LabelFileError(f"{str(path)!r} is single-animal (no individuals): there are no "
                             "identities to proofread")
    if video is not None:
        found = Path(video)
    n_video = None
    if fmt == "slp" and found is not None and found.is_file():
        from markerless.io.video import probe_video

        try:
            n_video = probe_video(found).n_frames
        except Exception:  # noqa: BLE001 - a broken video does not stop proofreading
            n_video = None
    return TracksFile(dense_frames(poses, n_video), path, fmt, found, name, edges)


def save_tracks(
    tracks: TracksFile | Poses,
    path: str | os.PathLike | None = None,
    save_as_csv: bool | None = None,
    video: str | os.PathLike | None = None,
) -> list[Path]:
    """Write corrected tracks back (atomically; the previous file is kept as ``.bak``).

    ``path`` defaults to the file they were read from. A ``.h5``/``.csv`` target gets
    DeepLabCut's tracks table (``.h5``, plus ``.csv`` when ``save_as_csv``, by default
    when the .csv exists or is the target); ``.slp`` a SLEAP file with the individuals
    as tracks (``video`` or the one the source named). Returns the files written.
    """
    from markerless.tracking.tracks_io import write_tracks

    poses = tracks.poses if isinstance(tracks, TracksFile) else tracks
    if path is None:
        if not isinstance(tracks, TracksFile):
            raise LabelFileError("save_tracks needs path= for a Poses")
        path = tracks.path
    path = Path(path)
    if path.suffix.lower() == ".slp":
        from markerless.io.slp import write_slp

        vid = video
        if vid is None and isinstance(tracks, TracksFile):
            vid = tracks.video or tracks.video_name
        if vid is None:
            raise LabelFileError(f"saving {str(path)!r} needs the video it belongs to (video=)")
        edges = tracks.edges if isinstance(tracks, TracksFile) else []
        return [write_slp([(poses, Path(vid))], path, edges)]
    if path.suffix.lower() not in (".h5", ".csv"):
        raise LabelFileError(f"{str(path)!r}: tracks are saved as .h5 (+ .csv) or .slp")
    if save_as_csv is None:
        save_as_csv = path.suffix.lower() == ".csv" or path.with_suffix(".csv").is_file()
    h5 = write_tracks(poses, path.with_suffix(".h5"), save_as_csv=bool(save_as_csv),
                      backup=True)
    return [h5, h5.with_suffix(".csv")] if save_as_csv else [h5]


def conform_to_project(poses: Poses, cfg: Any, where: str = "the tracks") -> Poses:
    """``poses`` in the project's label layout (config.yaml's individuals, with ``single``
    for unique bodyparts, and bodyparts, in its order); names the project lacks are an error."""
    from markerless.io.config import pose_layout

    individuals, bodyparts, defined = pose_layout(cfg)
    extra_i = [n for n in poses.individuals if n not in individuals]
    extra_b = [b for b in poses.bodyparts if b not in bodyparts]
    if extra_i or extra_b:
        what = []
        if extra_i:
            what.append(f"individuals {extra_i} (config.yaml: {individuals})")
        if extra_b:
            what.append(f"bodyparts {extra_b} (config.yaml: {bodyparts})")
        raise ConfigError(f"{where} have {' and '.join(what)} that the project does not: "
                          "rename them in config.yaml or the tracks first")
    ii = np.asarray([individuals.index(n) for n in poses.individuals], int)
    kk = np.asarray([bodyparts.index(b) for b in poses.bodyparts], int)
    xy = np.full((poses.n_frames, len(individuals), len(bodyparts), 2), np.nan)
    lik = np.full(xy.shape[:3], np.nan)
    src = np.where(poses.defined[:, :, None], poses.xy, np.nan)
    xy[:, ii[:, None], kk[None, :]] = src
    if poses.likelihood is not None:
        lik[:, ii[:, None], kk[None, :]] = np.where(poses.defined, poses.likelihood, np.nan)
    else:
        lik[np.isfinite(xy).all(-1)] = 1.0
    xy[:, ~defined] = np.nan
    lik[:, ~defined] = np.nan
    return Poses(xy, bodyparts, individuals, list(poses.frames), poses.scorer, lik, defined)


def send_to_labeling(
    config: str | os.PathLike,
    video: str | os.PathLike,
    poses: Poses,
    frames: Sequence[int],
) -> list[int]:
    """Extract ``frames`` of ``video`` to ``labeled-data/<video>/`` with ``poses`` as
    multi-animal machine labels (``machinelabels-iter<N>.h5`` + .csv), for correction
    and :func:`~markerless.postprocessing.refine.refine_labels`.

    Frames already labeled by a person, or already waiting in a machine-labels file,
    are left out (as ``extract_outlier_frames`` does). Returns the frames added.
    """
    from markerless.io.config import read_config
    from markerless.postprocessing.outliers import extract_outlier_frames

    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    cfg = read_config(config)
    if not cfg.get("multianimalproject"):
        raise ConfigError(f"{str(config)!r} is not a multi-animal project: multi-animal "
                          "machine labels need one (multianimalproject: true)")
    wanted = sorted({int(f) for f in frames})
    if not wanted:
        return []
    machine = conform_to_project(dense_frames(poses), cfg)
    video = Path(video)
    picked = extract_outlier_frames(
        config, [str(video)], outlieralgorithm="manual", frames=wanted,
        extractionalgo="uniform", numframes2pick=len(wanted), analysis={str(video): machine},
    )
    return [int(f) for f in picked.get(str(video), [])]
