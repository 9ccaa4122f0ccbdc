"""``import_slp``: a SLEAP labels file becomes a multi-animal DeepLabCut project.

The project is made by :func:`~markerless.project.create.create_new_project`
(so it is exactly what ``create_new_project`` makes), then config.yaml gets the
skeleton's nodes as ``multianimalbodyparts``, its edges as ``skeleton`` and the
tracks as ``individuals``; each video's labeled frames are extracted as
``labeled-data/<video>/img<frame>.png`` and its labels written as
``CollectedData_<scorer>.h5``/``.csv``. Frames are read from the video at
import time (nothing but the project is written).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from markerless.errors import ConfigError, VideoError
from markerless.io.slp import SlpWarning, read_slp
from markerless.poses import Poses

__all__ = ["import_slp"]


def import_slp(
    labels: str | os.PathLike,
    working_directory: str | os.PathLike | None = None,
    frames: Iterable[int] | None = None,
    project: str | None = None,
    experimenter: str = "sleap",
    video: str | os.PathLike | None = None,
    copy_videos: bool = False,
    include_predictions: bool | None = None,
) -> str:
    """Create a multi-animal project from a SLEAP ``.slp``; returns its config.yaml path.

    Parameters
    ----------
    labels
        The .slp file.
    working_directory
        Where the project folder ``<project>-<experimenter>-<date>`` goes (default: cwd).
    frames
        Video frame indices to import (e.g. ``range(0, 1100, 4)``); default all
        labeled frames. Frames without labels are skipped.
    project, experimenter
        Task and scorer names (default: the .slp's stem, ``"sleap"``).
    video
        The video to use when the one the .slp names cannot be found (single-video files).
    copy_videos
        Copy the videos into the project instead of linking them.
    include_predictions
        See :func:`~markerless.io.slp.read_slp`.
    """
    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import labels_path, write_labels
    from markerless.project.create import create_new_project
    from markerless.project.frames import frame_name, write_frames

    labels = Path(labels)
    parts = read_slp(labels, include_predictions=include_predictions)
    if video is not None:
        if len(parts) != 1:
            raise ConfigError(f"{str(labels)!r} has {len(parts)} videos; video= fits only one")
        parts[0].video = Path(video)
    missing = [p.stored_video for p in parts if p.video is None or not p.video.is_file()]
    if missing:
        raise VideoError(
            f"the video {missing[0]!r} named in {str(labels)!r} was not found (as stored nor "
            f"beside the .slp); pass video=<path>", labels,
        )
    stems = [p.video.stem for p in parts]
    if len(set(stems)) != len(stems):
        raise ConfigError(f"{str(labels)!r}: several videos share a name {stems}; "
                          "DeepLabCut keys labeled-data folders by video name")
    wanted = None if frames is None else {int(f) for f in frames}
    bodyparts = parts[0].poses.bodyparts
    individuals: list[str] = []
    for p in parts:
        if p.poses.bodyparts != bodyparts:
            raise ConfigError(f"{str(labels)!r}: videos use different nodes")
        individuals += [n for n in p.poses.individuals if n not in individuals]
    config = create_new_project(project or labels.stem, experimenter, [p.video for p in parts],
                                working_directory, copy_videos=copy_videos, multianimal=True,
                                individuals=individuals, bodyparts=bodyparts)
    cfg = read_config(config)
    cfg["multianimalbodyparts"] = list(bodyparts)
    cfg["individuals"] = individuals
    cfg["uniquebodyparts"] = []
    cfg["skeleton"] = [list(e) for e in parts[0].edges]
    write_config(cfg, config)
    project_dir = Path(config).parent
    for p in parts:
        poses = p.poses
        idx = np.asarray(poses.frames, dtype=np.int64)
        keep = np.flatnonzero([wanted is None or int(f) in wanted for f in idx])
        if not keep.size:
            warnings.warn(f"{str(labels)!r}: no labeled frame of {p.video.name} selected",
                          SlpWarning, stacklevel=2)
            continue
        poses = poses.select_frames(keep)
        from markerless.io.video import probe_video

        n_video = probe_video(p.video).n_frames
        out_of_range = [int(f) for f in poses.frames if int(f) >= n_video]
        if out_of_range:
            raise VideoError(f"{str(labels)!r} labels frame {out_of_range[0]} but the video has "
                             f"{n_video} frames", p.video, out_of_range[0])
        folder = project_dir / "labeled-data" / p.video.stem
        write_frames(p.video, [int(f) for f in poses.frames], folder)
        names = [f"labeled-data/{p.video.stem}/{frame_name(int(f), n_video)}"
                 for f in poses.frames]
        ind = [individuals.index(n) for n in poses.individuals]
        xy = np.full((poses.n_frames, len(individuals), len(bodyparts), 2), np.nan)
        xy[:, ind] = poses.xy
        write_labels(Poses(xy, bodyparts, individuals, names, experimenter),
                     labels_path(project_dir, p.video.stem, experimenter))
    return str(config)
