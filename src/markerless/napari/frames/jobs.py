"""The Frames dock's work, without Qt: frame extraction and one frame saved, in a worker.

Both write ``labeled-data/<video stem>/img<index>.png`` through
:mod:`markerless.project.frames`, which never overwrites an existing image.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def iter_extract(config: Path, videos: list[Path], algo: str, n: int) -> Iterator[tuple]:
    """Worker body: extract frames video by video, yielding (done, total, written paths)."""
    from markerless.project.frames import extract_frames

    for i, video in enumerate(videos):
        written = extract_frames(config, algo=algo, videos=[video], numframes2pick=n)
        yield i + 1, len(videos), video, [str(p) for p in written.get(str(video), [])]


def write_current_frame(video: Path, index: int, folder: Path) -> list[str]:
    """Worker body: save one video frame as a PNG (kept if it exists already)."""
    from markerless.project.frames import write_frames

    return [str(p) for p in write_frames(video, [index], folder)]
