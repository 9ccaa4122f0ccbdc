"""Videos as lazy dask arrays, read through one shared reader per video and process.

Why shared readers: napari indexes a video layer one frame at a time from many dask
tasks; a reader per video and process keeps the decoder's position and the frame cache
warm between those tasks (a fresh reader per task would seek from the last keyframe each
time). Kept apart from :mod:`markerless.io.video` so that module (the reader itself)
depends on nothing above it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markerless.io.video import DEFAULT_CHUNK_BYTES, VideoReader, probe_video, video_chunks

__all__ = ["clear_shared_readers", "read_video", "shared_reader"]

#: Cache budget of each reader in the per-process registry (bytes).
SHARED_CACHE_BYTES = 256 * 2**20
#: Open readers kept per process; older ones are dropped (closed when unreferenced).
SHARED_READERS = 4


_READERS: OrderedDict[tuple[str, int, int], VideoReader] = OrderedDict()
_READERS_LOCK = threading.Lock()


def _file_key(path: str | Path) -> tuple[str, int, int]:
    """Identity of a file's *content* as far as cheaply knowable: a rewritten
    video (same name, new bytes) must not be served from a stale reader."""
    resolved = os.path.realpath(path)
    stat = os.stat(resolved)
    return resolved, stat.st_mtime_ns, stat.st_size


def shared_reader(path: str | Path) -> VideoReader:
    """The process-wide :class:`VideoReader` for ``path`` (opened on first use)."""
    try:
        key = _file_key(path)
    except OSError:
        return VideoReader(path)  # raises a VideoError naming the file
    with _READERS_LOCK:
        reader = _READERS.get(key)
        if reader is not None:
            _READERS.move_to_end(key)
            return reader
    reader = VideoReader(path, cache_bytes=SHARED_CACHE_BYTES)
    with _READERS_LOCK:
        reader = _READERS.setdefault(key, reader)
        _READERS.move_to_end(key)
        while len(_READERS) > SHARED_READERS:
            # Not closed explicitly: another thread may still be reading from it;
            # PyAV closes the container when the last reference goes away.
            _READERS.popitem(last=False)
    return reader


def clear_shared_readers() -> None:
    """Forget every shared reader of this process (tests; after editing videos)."""
    with _READERS_LOCK:
        _READERS.clear()


@dataclass(frozen=True)
class _VideoFrames:
    """Picklable array-like for dask: the video by path, read through the
    process's shared reader so single-frame reads hit its decoders and cache."""

    path: str
    shape: tuple[int, int, int, int]
    dtype = np.dtype(np.uint8)
    ndim = 4

    def __getitem__(self, key):
        return shared_reader(self.path)[key]


def read_video(path: str | Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
    """The video as a lazy dask array (T, H, W, 3) uint8 chunked on keyframes.

    Computing a chunk decodes it with one sequential read; indexing one frame
    (``darr[k]``, as napari does) decodes only up to that frame through the
    process's shared :class:`VideoReader`.
    """
    import dask.array as da
    from dask.base import tokenize

    info = probe_video(path)
    plan = video_chunks(info, chunk_bytes)
    stat = os.stat(info.path)
    name = "video-" + tokenize(os.path.realpath(info.path), stat.st_mtime_ns, stat.st_size, plan)
    frames = _VideoFrames(str(info.path), info.shape)
    chunks = (tuple(b - a for a, b in plan), (info.height,), (info.width,), (3,))
    meta = np.empty((0, 0, 0, 0), np.uint8)
    return da.from_array(frames, chunks, name=name, asarray=False, inline_array=True, meta=meta)
