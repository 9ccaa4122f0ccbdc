"""The decoding layer behind :mod:`markerless.io.video`, and what it keeps.

Kept per file (per process): the packet index, i.e. the display-order timestamp
of every frame and the keyframes (container headers lie about counts, so every
packet is scanned once). Kept per reader: open decoders and the frame each
will output next, and decoded frames in a byte-bounded LRU. Kept per process:
one reader per video for dask tasks (:func:`shared_reader`), so the tasks that
napari triggers while scrubbing find their decoder position and cache warm.

Why a byte bound and not a frame count: one 4K frame weighs as much as 27
640x480 frames, and the user cares about RAM, not frames.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from markerless.errors import VideoError

if TYPE_CHECKING:
    from markerless.io.video import VideoReader


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video after a packet scan.

    ``n_frames`` is the exact number of decodable frames; ``header_frames`` what
    the container claims (0 if it does not say). ``keyframes`` are frame indices
    where decoding can start. ``truncated`` is True when the file ends early.
    """

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int
    is_grey: bool
    keyframes: tuple[int, ...]
    codec: str
    pix_fmt: str
    duration: float
    header_frames: int = 0
    truncated: bool = False

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.n_frames, self.height, self.width, 3)

    @property
    def frame_bytes(self) -> int:
        """Size of one decoded RGB frame."""
        return self.height * self.width * 3


@dataclass(eq=False)
class _Index:
    """Packet scan result: the display-order timestamp of every frame."""

    info: VideoInfo
    pts: np.ndarray  # int64, sorted; frame k has timestamp pts[k]
    has_pts: bool  # False: frames carry no usable timestamps, count instead
    x264_build: int | None
    time_base: Fraction  # of pts
    rate: Fraction | None  # the container's frame rate, exact
    grey: bool | None = None  # filled by the first reader (needs decoding)

    def frame_of(self, pts: int | None) -> int | None:
        if pts is None or not self.has_pts:
            return None
        k = int(np.searchsorted(self.pts, pts))
        return k if k < len(self.pts) and self.pts[k] == pts else None

    def keyframe_before(self, k: int) -> int | None:
        if not self.has_pts:
            return None  # without timestamps, only a read from the start is exact
        keys = self.info.keyframes
        i = bisect.bisect_right(keys, k) - 1
        return keys[i] if i >= 0 else None


def _open(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise VideoError("video file not found", path)
    if path.is_dir():
        raise VideoError("expected a video file, got a directory", path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"not a readable video (truncated or not a video?): {exc}", path) from exc
    if not container.streams.video:
        container.close()
        raise VideoError("file contains no video stream", path)
    return container


_X264 = re.compile(rb"x264 - core (\d+)")
_SCANS: dict[tuple[str, int, int], _Index] = {}
_SCANS_LOCK = threading.Lock()


def _index(path: str | Path) -> _Index:
    """Scan ``path`` once per process per file version (the scan is O(packets))."""
    path = Path(path)
    if not path.exists():
        raise VideoError("video file not found", path)
    stat = path.stat()
    key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    with _SCANS_LOCK:
        hit = _SCANS.get(key)
    if hit is not None:
        return hit
    index = _scan(path, stat.st_size)
    with _SCANS_LOCK:
        if len(_SCANS) > 64:
            _SCANS.clear()
        _SCANS[key] = index
    return index


def _scan(path: Path, file_size: int) -> _Index:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        pts, key, bad = [], [], []
        n_skipped = 0
        head = b""
        error = None
        try:
            for pkt in container.demux(stream):
                if pkt.size == 0 or pkt.is_discard:  # flush packets, dropped-frame markers
                    n_skipped += pkt.dts is not None
                    continue
                if len(pts) < 3:
                    head += bytes(pkt)
                pts.append(pkt.pts if pkt.pts is not None else pkt.dts)
                key.append(pkt.is_keyframe)
                pos = pkt.pos if pkt.pos is not None else -1
                bad.append(pkt.is_corrupt or (pos >= 0 and pos + pkt.size > file_size))
        except (av.FFmpegError, EOFError) as exc:  # damaged tail
            error = exc
        cc = stream.codec_context
        width, height, codec, pix_fmt = cc.width, cc.height, cc.name, cc.pix_fmt or "?"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        time_base = stream.time_base or Fraction(1, 1)
        stream_dur = stream.duration
        if stream_dur is None and len(container.streams) == 1 and container.duration:
            stream_dur = int(container.duration / 1e6 / time_base)
        header = stream.frames or 0
        margin = 0 if header else 2  # a count derived from a duration is approximate
        real_pts = "avi" not in container.format.name  # AVI stores no pts: FFmpeg guesses
        head += bytes(cc.extradata or b"")
    finally:
        container.close()

    if not (width and height):  # codec parameters only known after decoding
        width, height, pix_fmt = _first_frame_geometry(path)
    n_packets = len(pts)
    while n_packets and bad[n_packets - 1]:  # partial / missing packets at the cut
        n_packets -= 1
    has_pts = None not in pts[:n_packets] and len(set(pts[:n_packets])) == n_packets
    if not has_pts:
        pts_arr = np.arange(n_packets, dtype=np.int64)
    else:
        pts_arr = np.asarray(pts[:n_packets], dtype=np.int64)
    order = np.argsort(pts_arr, kind="stable")
    sorted_pts = pts_arr[order]
    steps = np.diff(sorted_pts)
    step = float(np.median(steps)) if len(steps) else 1.0
    if not header and stream_dur and step > 0:
        header = int(round(stream_dur / step))
    truncated = error is not None or n_packets < len(pts) or header > len(pts) + n_skipped + margin
    n_frames = n_packets
    if truncated and has_pts and n_packets:
        # A frame is displayed at most `delay` places before it is decoded
        # (B-frames), so the missing packets (decoded after every present one)
        # are displayed at place >= n_packets - delay: the frames before are all
        # here. Beyond that, trust real timestamps (not AVI's guesses) while they
        # stay contiguous, i.e. while no hidden B-frame can sit in between.
        rank = np.empty(n_packets, np.int64)
        rank[order] = np.arange(n_packets)
        n_frames = n_packets - max(0, int((np.arange(n_packets) - rank).max()))
        while real_pts and n_frames < n_packets and steps[n_frames - 1] < 1.5 * step:
            n_frames += 1
    if n_frames == 0:
        raise VideoError("no decodable frames", path)
    sorted_pts = sorted_pts[:n_frames]
    keyframes = tuple(int(i) for i in np.flatnonzero(np.asarray(key)[order][:n_frames]))
    fps = float(rate) if rate else (1.0 / float(step * time_base) if has_pts else 30.0)
    if has_pts and n_frames > 1:
        duration = float((int(sorted_pts[-1] - sorted_pts[0]) + step) * time_base)
    else:
        duration = n_frames / fps
    match = _X264.search(head) if codec == "h264" else None
    info = VideoInfo(
        path=path,
        n_frames=n_frames,
        fps=fps,
        width=width,
        height=height,
        is_grey=False,
        keyframes=keyframes,
        codec=codec,
        pix_fmt=pix_fmt,
        duration=duration,
        header_frames=max(header, 0),
        truncated=truncated or n_frames < n_packets,
    )
    build = int(match.group(1)) if match else None
    return _Index(info, sorted_pts, has_pts, build, time_base, Fraction(rate) if rate else None)


def _first_frame_geometry(path: Path) -> tuple[int, int, str]:
    container = _open(path)
    try:
        for frame in container.decode(video=0):
            return frame.width, frame.height, frame.format.name
    except av.FFmpegError:
        pass
    finally:
        container.close()
    raise VideoError("cannot decode any frame to learn the frame size", path)


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


#: Cache budget of each reader in the per-process registry (bytes).
SHARED_CACHE_BYTES = 256 * 2**20
#: Open readers kept per process; older ones are dropped (closed when unreferenced).
SHARED_READERS = 4


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
    from markerless.io.video import VideoReader

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
