"""2D predictions per camera for triangulation: DeepLabCut analysis files and SLEAP's
analysis HDF5 export, as :class:`~markerless.poses.Poses`.

SLEAP's ``*.analysis.h5`` holds ``tracks`` (tracks, 2, nodes, frames), ``point_scores``
(tracks, nodes, frames), ``node_names`` and ``track_names``; its coordinates use pixel
centres at integers (SLEAP >= 1.1), as OpenCV and DeepLabCut. Proofread labels have no
scores: visible points get likelihood 1.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from markerless.errors import LabelFileError
from markerless.poses import SINGLE_ANIMAL, Poses


def is_sleap_analysis(path: str | os.PathLike) -> bool:
    path = Path(path)
    if path.suffix.lower() != ".h5":
        return False
    try:
        import tables

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tables.open_file(str(path), "r") as f:
                return "tracks" in f.root and "node_names" in f.root
    except Exception:  # noqa: BLE001 - a sniffer answers "no"
        return False


def read_sleap_analysis(path: str | os.PathLike) -> Poses:
    import tables

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tables.open_file(str(path), "r") as f:
                tracks = np.asarray(f.root.tracks[:], dtype=np.float64)
                nodes = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in f.root.node_names[:]]
                names = ([n.decode() if isinstance(n, bytes) else str(n)
                          for n in f.root.track_names[:]] if "track_names" in f.root else [])
                scores = (np.asarray(f.root.point_scores[:], dtype=np.float64)
                          if "point_scores" in f.root else None)
    except (OSError, tables.HDF5ExtError, tables.NoSuchNodeError) as err:
        raise LabelFileError(f"cannot read SLEAP analysis file {str(path)!r}: {err}") from err
    if tracks.ndim != 4 or tracks.shape[1] != 2:
        raise LabelFileError(f"{str(path)!r}: tracks must be (tracks, 2, nodes, frames), got "
                             f"{tracks.shape}")
    xy = tracks.transpose(3, 0, 2, 1)  # (frames, tracks, nodes, 2)
    n_tracks = xy.shape[1]
    if n_tracks == 1:
        individuals = [SINGLE_ANIMAL]
    else:
        individuals = names if len(names) == n_tracks and len(set(names)) == n_tracks \
            else [f"track_{i}" for i in range(n_tracks)]
    visible = np.isfinite(xy).all(axis=-1)
    if scores is not None and scores.shape == (n_tracks, xy.shape[2], xy.shape[0]):
        lik = scores.transpose(2, 0, 1)
        lik = np.where(np.isfinite(lik), lik, 1.0)
    else:
        lik = np.ones(xy.shape[:3])
    # proofread (user) instances carry no scores: SLEAP writes NaN or 0 there
    lik = np.where(visible & ~(lik > 0), 1.0, lik)
    lik[~visible] = 0.0
    return Poses(xy, nodes, individuals, list(range(xy.shape[0])), "sleap", lik)


def read_2d(path: str | os.PathLike) -> Poses:
    """A camera's 2D predictions: DeepLabCut analysis .h5/.csv or SLEAP analysis .h5."""
    from markerless.io.dlc_analysis import read_analysis

    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"2D predictions {str(path)!r} not found")
    if is_sleap_analysis(path):
        return read_sleap_analysis(path)
    return read_analysis(path)


_SCORER = re.compile(r"DLC(_|(?=[A-Z]))")


def video_stem(path: str | os.PathLike) -> str:
    """The video a 2D file belongs to: ``vid-cam1DLC_resnet50_x.h5`` -> ``vid-cam1``,
    ``m_back.analysis.h5`` -> ``m_back``."""
    stem = Path(path).name
    for ext in (".analysis.h5", ".h5", ".csv", ".slp"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    else:
        stem = Path(path).stem
    m = _SCORER.search(stem)
    return stem[: m.start()] if m and m.start() > 0 else stem


def recording_name(paths: list[str | os.PathLike], cameras: list[str]) -> str:
    """The name shared by one recording's files, without the camera names (DeepLabCut's
    ``video1-camera-1.avi`` + ``video1-camera-2.avi`` -> ``video1``)."""
    stem = video_stem(paths[0])
    for cam in sorted(cameras, key=len, reverse=True):
        if cam and cam in stem:
            stem = stem.replace(cam, "", 1)
            break
    stem = re.sub(r"[-_.]{2,}", "_", stem).strip("-_. ")
    return stem or "recording"
