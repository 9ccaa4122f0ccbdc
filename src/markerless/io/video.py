"""Frame-exact video reading with an in-process FFmpeg decoder (PyAV).

Frame ``k`` is the ``k``-th frame of a sequential decode, in presentation order;
random access must return the same pixels. Three facts make that hold:

* the frame count and keyframe positions come from a scan of every packet
  (milliseconds; container headers lie), frames are identified by timestamp;
* x264 builds < 151 wrote 4:4:4 streams that FFmpeg decodes correctly only when
  it has seen the encoder's SEI in the first packet, which a seek skips. We parse
  the build number at open time and pass it to every decoder (``x264_build``);
* a truncated file is cut to the frames that are actually present, and asking
  for a frame past that raises :class:`~markerless.errors.VideoError`.

See docs/video.md for the design and the benchmark behind the decoder choice.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from markerless.errors import VideoError
from markerless.io.video_cache import ByteLRU, _Decoder, _frame_nbytes, _to_rgb
from markerless.io.video_index import VideoInfo, _index

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "VideoInfo",
    "VideoReader",
    "probe_video",
    "video_chunks",
]

#: Default dask chunk budget (dask's own default ``array.chunk-size``).
DEFAULT_CHUNK_BYTES = 128 * 2**20
_GREY_TOLERANCE = 2  # max |R-G|, |G-B| of a "grey" frame (chroma rounding noise)
_KEEP_BEHIND = 8  # frames before a randomly accessed frame kept decoded


class VideoReader:
    """Frame-exact random access to one video; thread-safe.

    Keeps up to ``decoders`` decoders open and remembers where each stands, so
    the next frame costs one decode step, and caches decoded frames (still YUV,
    half the size of RGB for 4:2:0) in an LRU bounded by ``cache_bytes``, so the
    previous frame is a cache hit. Frames come out as (H, W, 3) uint8 RGB.
    """

    def __init__(self, path: str | Path, cache_bytes: int = 512 * 2**20, decoders: int = 2):
        self._index = _index(path)
        self.path = self._index.info.path
        self._cache = ByteLRU(cache_bytes)
        self._max_decoders = max(1, int(decoders))
        self._idle: list[_Decoder] = []  # opened on first use: probing needs none
        self._n_decoders = 0
        self._pool = threading.Condition()
        self._closed = False
        self.info = self._index.info
        if self._index.grey is None:
            self._index.grey = _is_grey(self._index.info, self)
        self.info = replace(self._index.info, is_grey=self._index.grey)

    # -- array-like surface ------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.info.shape

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __len__(self) -> int:
        return self.info.n_frames

    def __repr__(self) -> str:
        i = self.info
        return f"VideoReader({str(self.path)!r}, frames={i.n_frames}, {i.width}x{i.height})"

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if key is Ellipsis:
            key, rest = slice(None), (Ellipsis, *rest)
        if isinstance(key, slice):
            if self.info.truncated and key.stop is not None and key.stop > len(self):
                self._check(len(self))  # never return silently less than asked of a cut file
            out = self._read(range(*key.indices(len(self))))
            return out[(slice(None), *rest)] if rest else out
        if isinstance(key, (int, np.integer)):
            out = self.frame(int(key))
            return out[rest] if rest else out
        ks = np.asarray(key)
        if ks.ndim == 0 and np.issubdtype(ks.dtype, np.integer):
            return self[(int(ks), *rest)]
        if ks.dtype == bool:
            ks = np.flatnonzero(ks)
        if ks.ndim != 1 or not np.issubdtype(ks.dtype, np.integer):
            raise TypeError(f"cannot index a video with {key!r}")
        unique, inverse = np.unique(ks, return_inverse=True)  # ascending: decode forward
        frames = np.empty((len(unique), *self.shape[1:]), np.uint8)
        for i, k in enumerate(unique.tolist()):
            frames[i] = self.frame(k)
        out = frames[inverse]
        return out[(slice(None), *rest)] if rest else out

    # -- reading -------------------------------------------------------------
    def _check(self, k: int) -> int:
        n = self.info.n_frames
        if k < 0:
            k += n
        if 0 <= k < n:
            return k
        if n <= k < self.info.header_frames:
            msg = (
                f"frame is past the decodable end: the video has {n} of {self.info.header_frames}"
            )
            raise VideoError(msg + " frames (file truncated)", self.path, k)
        raise IndexError(f"frame {k} out of range for {n} frames in {self.path}")

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` (negative counts from the end) as (H, W, 3) uint8."""
        k = self._check(k)
        cached = self._cache.get(k)
        if cached is not None:
            return _to_rgb(cached)
        # Keep a few frames before k for the "previous" step; when the user is
        # already stepping backwards (k + 1 cached), keep the whole GOP head so
        # the following steps back are hits too. Keeping every decoded frame
        # always would cost fresh buffers (~0.5 ms per frame) on random access.
        keep_from = 0 if (k + 1) in self._cache else k - _KEEP_BEHIND
        decoder = self._acquire(k)
        try:
            for i, frame in decoder.frames(k, k + 1):
                if i >= keep_from:
                    self._cache.put(i, frame, _frame_nbytes(frame))
                if i == k:
                    return _to_rgb(frame)
        except VideoError:
            decoder.position = None
            raise
        finally:
            self._release(decoder)
        raise VideoError("frame not decoded", self.path, k)  # unreachable in practice

    def read_range(self, start: int, stop: int, step: int = 1) -> np.ndarray:
        """Frames ``start:stop:step`` as (n, H, W, 3) uint8, decoded in one pass.

        Unlike a slice, every index must exist (negative ones count from the end).
        """
        n = len(self)
        return self._read(
            range(start + n if start < 0 else start, stop + n if stop < 0 else stop, step)
        )

    def _read(self, ks: range) -> np.ndarray:
        n = len(self)
        if not ks:
            return np.empty((0, *self.shape[1:]), np.uint8)
        if ks.step < 0:  # decode forward, then reverse
            return self._read(ks[::-1])[::-1]
        step = ks.step
        first, last = self._check(ks[0]), ks[-1]
        if last >= n:  # name the first missing frame
            self._check(ks[-(-(n - first) // step)])
        out = np.empty((len(ks), *self.shape[1:]), np.uint8)
        cached = [self._cache.get(k) for k in ks] if len(ks) <= len(self._cache) else [None]
        if all(c is not None for c in cached):
            for i, frame in enumerate(cached):
                out[i] = _to_rgb(frame)
            return out
        decoder = self._acquire(first)
        try:
            for k, frame in decoder.frames(first, last + 1):
                if k < first:  # a GOP head decoded anyway: the chunk before may want it
                    self._cache.put(k, frame, _frame_nbytes(frame))
                elif (k - first) % step == 0:
                    out[(k - first) // step] = _to_rgb(frame)
        except VideoError:
            decoder.position = None
            raise
        finally:
            self._release(decoder)
        return out

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start..stop-1`` in order with a private decoder.

        Memory stays flat (nothing is cached), and the shared decoders and cache
        used by random access are left alone.
        """
        n = len(self)
        start = start + n if start < 0 else start
        stop = n if stop is None else (stop + n if stop < 0 else stop)
        if stop > n:
            self._check(n)  # VideoError past a truncated end, IndexError otherwise
        if start >= stop:
            return
        decoder = _Decoder(self._index)
        try:
            for k, frame in decoder.frames(self._check(start), stop):
                if k >= start:
                    yield _to_rgb(frame)
        finally:
            decoder.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iter_frames()

    # -- decoder pool --------------------------------------------------------
    def _acquire(self, k: int) -> _Decoder:
        with self._pool:
            while True:
                if self._closed:
                    raise VideoError("reader is closed", self.path)
                if self._idle:
                    best = min(self._idle, key=lambda d: d.cost_to(k))
                    if best.cost_to(k) <= 8 or self._n_decoders >= self._max_decoders:
                        self._idle.remove(best)
                        return best
                if self._n_decoders < self._max_decoders:
                    self._n_decoders += 1
                    break
                self._pool.wait()
        try:
            return _Decoder(self._index)
        except BaseException:
            with self._pool:
                self._n_decoders -= 1
                self._pool.notify()
            raise

    def _release(self, decoder: _Decoder) -> None:
        with self._pool:
            if self._closed:
                decoder.close()
            else:
                self._idle.append(decoder)
            self._pool.notify()

    def clear_cache(self) -> None:
        """Drop cached frames and decoder positions (benchmarks, memory pressure)."""
        self._cache.clear()
        with self._pool:
            for decoder in self._idle:
                decoder.position = None

    def close(self) -> None:
        with self._pool:
            self._closed = True
            for decoder in self._idle:
                decoder.close()
            self._idle.clear()
        self._cache.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):
        return (VideoReader, (str(self.path), self._cache.max_bytes, self._max_decoders))


def _is_grey(info: VideoInfo, reader: VideoReader) -> bool:
    """R = G = B (within chroma rounding) on the first frame of the first,
    middle and last GOP: a per-video flag, so a few samples suffice."""
    if info.pix_fmt.startswith(("gray", "ya8", "ya16", "y400")):
        return True
    keys = [k for k in info.keyframes if k < info.n_frames] or [0]
    for k in sorted({0, keys[len(keys) // 2], keys[-1]}):
        rgb = reader.frame(k).astype(np.int16)
        if np.abs(np.diff(rgb, axis=-1)).max() > _GREY_TOLERANCE:
            return False
    return True


def probe_video(path: str | Path) -> VideoInfo:
    """Exact frame count, keyframes, fps, size and greyness of a video.

    Decodes only a few keyframes (for ``is_grey``); the rest is a packet scan.
    """
    with VideoReader(path, cache_bytes=64 * 2**20, decoders=1) as reader:
        return reader.info


def video_chunks(info: VideoInfo, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[tuple[int, int]]:
    """(start, stop) frame ranges of the dask chunks of ``info``'s video.

    Each chunk starts on a keyframe so it decodes in one sequential read.
    Consecutive short GOPs merge while the decoded chunk stays within
    ``chunk_bytes``; a GOP larger than that splits into equal parts (later parts
    then decode the GOP's head again unless the same decoder reads them in order).
    """
    n = info.n_frames
    per_chunk = max(1, int(chunk_bytes) // info.frame_bytes)
    bounds = sorted({0, *(k for k in info.keyframes if 0 < k < n), n})
    chunks: list[tuple[int, int]] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a > per_chunk:
            parts = -(-(b - a) // per_chunk)
            edges = np.linspace(a, b, parts + 1).round().astype(int)
            chunks.extend(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
        elif chunks and b - chunks[-1][0] <= per_chunk and _whole_gops(chunks[-1], bounds):
            chunks[-1] = (chunks[-1][0], b)
        else:
            chunks.append((a, b))
    return chunks


def _whole_gops(chunk: tuple[int, int], bounds: list[int]) -> bool:
    """True when ``chunk`` is made of whole GOPs (so not a part of a split GOP)."""
    i = bisect.bisect_left(bounds, chunk[0])
    return i < len(bounds) and bounds[i] == chunk[0]
