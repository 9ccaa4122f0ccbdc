"""The decoding layer behind :mod:`markerless.io.video`, and what it keeps.

Kept per file (per process): the packet index of :mod:`markerless.io.video_index`.
Kept per reader: open decoders and the frame each
will output next, and decoded frames in a byte-bounded LRU. (The per-process
readers that dask tasks share live in :mod:`markerless.io.video_dask`.)

Why a byte bound and not a frame count: one 4K frame weighs as much as 27
640x480 frames, and the user cares about RAM, not frames.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from markerless.errors import VideoError
from markerless.io.video_index import _Index, _open

__all__ = ["ByteLRU"]

_LOCAL = threading.local()


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame -> (H, W, 3) uint8, owned by the caller.

    A reformatter per thread keeps its swscale context between calls (half the
    cost of ``frame.to_ndarray(format="rgb24")``, identical output, identical to
    ``ffmpeg -pix_fmt rgb24``).
    """
    sws = getattr(_LOCAL, "sws", None)
    if sws is None:
        sws = _LOCAL.sws = VideoReformatter()
    rgb = sws.reformat(frame, format="rgb24")
    array = rgb.to_ndarray()
    if rgb is frame or not array.flags.c_contiguous:
        array = np.array(array)  # never hand out the decoder's own buffer
    return array


def _frame_nbytes(frame: av.VideoFrame) -> int:
    return sum(plane.buffer_size for plane in frame.planes)


class _Decoder:
    """One demuxer + decoder pair and the frame it will output next."""

    def __init__(self, index: _Index):
        self._index = index
        self._path = index.info.path
        self._container = _open(self._path)
        self._stream = self._container.streams.video[0]
        cc = self._stream.codec_context
        if index.x264_build is not None:  # see module docstring
            cc.options = {"x264_build": str(index.x264_build)}
        self._stream.thread_type = "AUTO"
        self._frames: Iterator[av.VideoFrame] | None = None
        #: display index of the next output frame (None: unknown, seek first)
        self.position: int | None = None
        #: frames displayed before the keyframe of the last seek may reference
        #: frames that were never decoded (open GOPs): never trusted
        self._floor = 0

    def close(self) -> None:
        self._frames = None
        self.position = None
        self._container.close()

    def _decode(self) -> Iterator[av.VideoFrame]:
        cc = self._stream.codec_context
        for pkt in self._container.demux(self._stream):
            if pkt.is_corrupt:
                continue
            try:
                frames = cc.decode(pkt)  # an empty packet at the end drains the decoder
            except av.FFmpegError:
                continue  # the frame it carried is reported missing by whoever asks
            yield from frames

    def _seek(self, keyframe: int | None) -> None:
        target = int(self._index.pts[keyframe if keyframe is not None else 0])
        try:
            self._container.seek(target, stream=self._stream, backward=True)
        except av.FFmpegError as exc:
            raise VideoError(f"seek failed: {exc}", self._path, keyframe) from exc
        self._stream.codec_context.flush_buffers()
        self._frames = self._decode()
        self._floor = keyframe or 0
        self.position = None if self._index.has_pts else self._floor

    def cost_to(self, k: int) -> int:
        """Frames to decode before frame ``k`` can come out (seek included)."""
        key = self._index.keyframe_before(k) or 0
        if self.position is not None and key <= self.position <= k:
            return k - self.position
        return k - key + 4  # a seek refills the decoder pipeline

    def frames(self, start: int, stop: int) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(index, frame)`` for every frame decoded until ``stop - 1``.

        Frames before ``start`` (from the keyframe on) are yielded too, so the
        caller may cache them. Raises VideoError naming the first missing frame.
        """
        info = self._index.info
        key = self._index.keyframe_before(start)
        if not (self.position is not None and (key or 0) <= self.position <= start):
            self._seek(key)
        retries = 0
        while self.position is None or self.position < stop:
            frame = next(self._frames, None) if self._frames is not None else None
            if frame is None:  # decoder drained before reaching the frame
                missing = max(self.position if self.position is not None else start, start)
                self.position, self._frames = None, None
                if missing >= info.n_frames:
                    msg = f"frame is past the decodable end: the video has {info.n_frames} frames"
                    if info.truncated:
                        msg += f" of {info.header_frames} (file truncated)"
                    raise VideoError(msg, self._path, missing)
                msg = "decoder produced no such frame (damaged data?)"
                raise VideoError(msg, self._path, missing)
            k = self._index.frame_of(frame.pts)
            if k is None:
                if self._index.has_pts:
                    continue  # outside the index (e.g. beyond a truncated tail)
                k = self.position
            if k < self._floor:
                continue
            if self.position is None and k > start:  # seek landed after the target
                retries += 1
                if retries > 3 or key is None:
                    raise VideoError("cannot seek to frame", self._path, start)
                key = self._index.keyframe_before(key - 1)
                self._seek(key)
                continue
            if self.position is not None and k != self.position:
                if k < self.position:
                    continue  # duplicate output
                if k > start:  # frames position..k-1 never came out
                    msg = "decoder skipped a frame (damaged data?)"
                    raise VideoError(msg, self._path, max(self.position, start))
            self.position = k + 1
            yield k, frame


class ByteLRU:
    """Thread-safe least-recently-used mapping bounded by the sum of item sizes.

    An item larger than the whole budget is not stored (storing it would evict
    everything else for a single entry).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> Any | None:
        """Return the value (marking it most recently used) or ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        """Store ``value`` under ``key``, evicting the oldest items over budget."""
        if nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            self._items[key] = (value, nbytes)
            self.nbytes += nbytes
            while self.nbytes > self.max_bytes:
                _, (_, size) = self._items.popitem(last=False)
                self.nbytes -= size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0
