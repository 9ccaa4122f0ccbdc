"""The project's videos: config.yaml ``video_sets`` keys resolved to files, in one place.

Why one helper: DeepLabCut stores absolute paths as ``video_sets`` keys, written on
whatever machine made the project. A project made on Windows holds keys such as
``C:\\Users\\alice\\videos\\clip.mp4``; on Linux ``Path(key).name`` is then the whole
key (``pathlib`` splits only on ``/``), so looking the video up in the project's
``videos/`` folder failed silently. Every stage (project, frames, refinement, the napari
docks) resolves keys here: the key as written, relative keys against the project folder,
then ``videos/<file name>``, with the file name split on both separators.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

__all__ = ["ProjectVideo", "iter_project_videos", "resolve_video", "video_name", "video_stem"]


def _pure(key: str | os.PathLike) -> PurePosixPath | PureWindowsPath:
    text = os.fspath(key)
    # a drive letter or a backslash: a Windows path (a POSIX file name with a backslash
    # in it is far rarer than a Windows project)
    if "\\" in text or (len(text) > 1 and text[1] == ":"):
        return PureWindowsPath(text)
    return PurePosixPath(text)


def video_name(key: str | os.PathLike) -> str:
    """The file name of a ``video_sets`` key, whichever OS wrote it (``clip.mp4``)."""
    return _pure(key).name


def video_stem(key: str | os.PathLike) -> str:
    """The name without its suffix: the ``labeled-data/<stem>`` folder of the video."""
    return _pure(key).stem


def resolve_video(project: str | os.PathLike, key: str | os.PathLike) -> Path | None:
    """The file a ``video_sets`` key (or any video path) names, or None when none exists.

    Tried in order: the key itself (relative keys against the project folder), then
    ``<project>/videos/<file name>``.
    """
    project = Path(project)
    text = os.fspath(key)
    pure = _pure(text)
    candidates = []
    if isinstance(pure, PurePosixPath):
        path = Path(text).expanduser()
        candidates.append(path if path.is_absolute() else project / path)
        if not path.is_absolute():
            candidates.append(Path(text))
    candidates.append(project / "videos" / pure.name)
    return next((p for p in candidates if p.is_file()), None)


@dataclass(frozen=True)
class ProjectVideo:
    """One ``video_sets`` entry: its key as written, the file found (or None), its entry."""

    key: str
    path: Path | None
    entry: Mapping[str, Any]

    @property
    def name(self) -> str:
        return video_name(self.key)

    @property
    def stem(self) -> str:
        return video_stem(self.key)

    @property
    def display_path(self) -> Path:
        """The file, or where it was expected (``videos/<name>``) for messages."""
        return self.path if self.path is not None else Path("videos") / self.name


def iter_project_videos(cfg: Mapping[str, Any], project: str | os.PathLike
                        ) -> Iterator[ProjectVideo]:
    """Every ``video_sets`` entry of ``cfg`` resolved against ``project`` (file order)."""
    for key, entry in (cfg.get("video_sets") or {}).items():
        yield ProjectVideo(str(key), resolve_video(project, key), entry or {})
