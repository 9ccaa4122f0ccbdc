"""The Tracks dock's work, without Qt: finding, opening and saving tracks files, sending
frames to labeled-data. Run in workers; each takes copies, so edits made meanwhile in
the dock never reach a file half-way.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from markerless.poses import Poses
from markerless.tracking.proofread import (
    TracksFile,
    read_tracks_file,
    save_tracks,
    send_to_labeling,
)

#: DeepLabCut's final tracks of the ellipse, box and skeleton trackers.
TRACKS_SUFFIXES = ("_el", "_bx", "_sk")
#: what the file dialog offers.
TRACKS_FILTER = "Tracks (*_el.h5 *_bx.h5 *_sk.h5 *.h5 *.csv *.slp);;All files (*)"


def project_tracks(config: str | os.PathLike | None) -> list[tuple[Path, Path]]:
    """``(tracks file, video)`` for every tracks file beside the project's videos
    (``<video><scorer>_el.h5``, ``_bx``, ``_sk``), newest first per video."""
    if config is None or not Path(config).is_file():
        return []
    import glob

    from markerless.napari.project_files import project_videos

    out: list[tuple[Path, Path]] = []
    for video in project_videos(config):
        found = [p for s in TRACKS_SUFFIXES
                 for p in video.parent.glob(f"{glob.escape(video.stem)}*{s}.h5")]
        for path in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
            out.append((path, video))
    return out


def open_job(path: str | os.PathLike, video: str | os.PathLike | None = None) -> TracksFile:
    """Read a tracks file (the video found beside it unless ``video``)."""
    return read_tracks_file(path, video)


def save_job(tracks: TracksFile, path: str | os.PathLike | None = None,
             save_as_csv: bool | None = None) -> dict:
    """Save ``tracks`` (a copy the dock made); ``{"written": [paths]}``."""
    written = save_tracks(tracks, path, save_as_csv)
    return {"written": [str(p) for p in written]}


def snapshot(tracks: TracksFile) -> TracksFile:
    """``tracks`` with a copy of its poses, for a worker."""
    return dataclasses.replace(tracks, poses=tracks.poses.copy())


def send_job(config: str | os.PathLike, video: str | os.PathLike, poses: Poses,
             frames: Sequence[int]) -> dict:
    """:func:`~markerless.tracking.proofread.send_to_labeling`; ``{"sent", "skipped",
    "folder"}`` (skipped: frames labeled or waiting in a machine-labels file already)."""
    wanted = sorted({int(f) for f in frames})
    sent = send_to_labeling(config, video, poses, wanted)
    folder = Path(config).parent / "labeled-data" / Path(video).stem
    return {"sent": sent, "skipped": [f for f in wanted if f not in set(sent)],
            "folder": str(folder)}
