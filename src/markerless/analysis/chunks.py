"""Chunk plans and the frame pipeline: decode in a background thread, batch, pad.

Why a thread: decoding (FFmpeg, GIL released) and the network (XLA, GIL
released) then run at the same time; a bounded queue keeps at most a few
batches of decoded frames in memory, so memory is flat in video length.

Why chunks: a chunk (a few GOPs, ~1000 frames) is the unit of resumption and of
distribution. Batches never straddle chunks: every chunk is cut into batches
from its own first frame and its last batch is padded to the fixed batch size.
So a chunk's numbers do not depend on which run, process or worker computed
it, which is what makes resumed and distributed runs identical to a plain one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from markerless.errors import VideoError

__all__ = ["Batch", "iter_batches", "plan_chunks", "read_robust"]

#: default frames per chunk (the unit of resumption and of dask tasks).
DEFAULT_CHUNK_FRAMES = 1024


def plan_chunks(info, chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> list[tuple[int, int]]:
    """Keyframe-aligned ``(start, stop)`` frame ranges of about ``chunk_frames`` frames.

    Uses :func:`markerless.io.video.video_chunks`: whole GOPs merge up to the
    budget, longer GOPs split into equal parts.
    """
    from markerless.io.video import video_chunks

    chunk_frames = max(1, int(chunk_frames))
    return video_chunks(info, chunk_bytes=chunk_frames * info.frame_bytes)


def read_robust(reader, start: int, stop: int) -> tuple[np.ndarray, list[int]]:
    """Frames ``start:stop`` and the indices that could not be decoded (left zero).

    The fast path is one sequential ``read_range``. When FFmpeg fails on a
    frame, it is recorded as bad and decoding resumes at the next frame, so
    one damaged frame costs one frame of output, not the rest of the video.
    """
    try:
        return reader.read_range(start, stop), []
    except VideoError:
        pass
    h, w = reader.info.height, reader.info.width
    out = np.zeros((stop - start, h, w, 3), np.uint8)
    bad: list[int] = []
    k = start
    while k < stop:
        try:
            for frame in reader.iter_frames(k, stop):
                out[k - start] = frame
                k += 1
        except VideoError as err:
            last = k if err.frame is None or err.frame < k else min(err.frame, stop - 1)
            bad.extend(range(k, last + 1))  # frames that never came out
            k = last + 1
    return out, bad


@dataclass
class Batch:
    """``frames`` (batch_size, h, w, 3) uint8, of which the first ``n`` are real.

    ``bad`` lists frame indices (absolute) that failed to decode; their output
    rows become NaN.
    """

    chunk: tuple[int, int]
    start: int
    n: int
    frames: np.ndarray
    bad: list[int] = field(default_factory=list)

    @property
    def last_in_chunk(self) -> bool:
        return self.start + self.n == self.chunk[1]


def _batches_of_chunk(
    reader, chunk: tuple[int, int], batch_size: int, crop: tuple[int, int, int, int] | None
) -> Iterator[Batch]:
    a, b = chunk
    for s in range(a, b, batch_size):
        e = min(s + batch_size, b)
        frames, bad = read_robust(reader, s, e)
        if crop is not None:
            x1, x2, y1, y2 = crop
            frames = frames[:, y1:y2, x1:x2]
        if len(frames) < batch_size or not frames.flags.c_contiguous:
            padded = np.zeros((batch_size, *frames.shape[1:]), np.uint8)
            padded[: len(frames)] = frames
            frames = padded
        yield Batch((a, b), s, e - s, frames, bad)


_DONE = object()


class _Producer(threading.Thread):
    """Decodes batches into a bounded queue; stops early when asked."""

    def __init__(self, reader, chunks, batch_size, crop, depth: int):
        super().__init__(daemon=True, name="markerless-decode")
        self.q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.stopping = threading.Event()
        self._args = (reader, chunks, batch_size, crop)

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        reader, chunks, batch_size, crop = self._args
        try:
            for chunk in chunks:
                for batch in _batches_of_chunk(reader, chunk, batch_size, crop):
                    if not self._put(batch):
                        return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            self._put(exc)


def iter_batches(
    reader,
    chunks: Sequence[tuple[int, int]],
    batch_size: int,
    crop: tuple[int, int, int, int] | None = None,
    prefetch: int = 3,
) -> Iterator[Batch]:
    """Batches of ``chunks`` in order, decoded ``prefetch`` batches ahead in a thread.

    Closing the iterator (``break``, an exception, generator close) stops the
    thread; decoding errors are re-raised here, in the caller's thread.
    """
    if prefetch <= 0:
        for chunk in chunks:
            yield from _batches_of_chunk(reader, chunk, batch_size, crop)
        return
    producer = _Producer(reader, list(chunks), batch_size, crop, prefetch)
    producer.start()
    try:
        while True:
            item = producer.q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        producer.stopping.set()
        producer.join(timeout=30)
