"""Run frame chunks through the fused predictor; shared by local runs and dask workers.

Why one code path: a chunk analysed in-process, after a resume, or on a dask
worker goes through exactly the same batching (see
:mod:`markerless.analysis.chunks`) and the same compiled function, so the
numbers agree bit for bit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from markerless.analysis.chunks import Batch, iter_batches

__all__ = ["ChunkResult", "run_chunks"]

#: batches dispatched to the device but not yet collected. JAX dispatch is
#: asynchronous: without a bound, a slow device would let decoded input pile up.
MAX_IN_FLIGHT = 2


@dataclass
class ChunkResult:
    """Progress event: ``n`` more frames done; ``coords`` set when ``chunk`` is complete.

    ``coords`` is ``(stop - start, K, 3)`` float32 ``[x, y, likelihood]`` in
    full-frame pixels, NaN rows for frames that could not be decoded (a dict of such
    arrays, frames first, for predictors that return a dict: the multi-animal one).
    """

    chunk: tuple[int, int]
    n: int
    coords: np.ndarray | dict[str, np.ndarray] | None = None
    bad: tuple[int, ...] = ()


def _collect(batch: Batch, out) -> np.ndarray | dict[str, np.ndarray]:
    if isinstance(out, dict):  # multi-animal predictors return several arrays per frame
        return {k: _collect(batch, v) for k, v in out.items()}
    coords = np.array(np.asarray(out)[: batch.n], dtype=np.float32)
    if batch.bad:
        coords[np.asarray(batch.bad) - batch.start] = np.nan
    return coords


def _concatenate(parts: list):
    if parts and isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
    return np.concatenate(parts, axis=0)


def run_chunks(
    reader,
    predictor,
    chunks: Sequence[tuple[int, int]],
    batch_size: int,
    crop: tuple[int, int, int, int] | None = None,
    prefetch: int = 3,
) -> Iterator[ChunkResult]:
    """Analyse ``chunks`` of ``reader``'s video in order, one event per finished batch.

    The last event of each chunk carries the chunk's coordinates. Closing the
    generator early stops the decoding thread; finished chunks were already
    yielded, so the caller can have saved them.
    """
    in_flight: deque[tuple[Batch, object]] = deque()
    parts: list[np.ndarray] = []
    bad: list[int] = []

    def finish(batch: Batch, out) -> ChunkResult:
        parts.append(_collect(batch, out))
        bad.extend(batch.bad)
        if not batch.last_in_chunk:
            return ChunkResult(batch.chunk, batch.n)
        coords = _concatenate(parts)
        event = ChunkResult(batch.chunk, batch.n, coords, tuple(bad))
        parts.clear()
        bad.clear()
        return event

    reset = getattr(predictor, "reset", None)  # stateful predictors (two-stage inference)
    current = None
    for batch in iter_batches(reader, chunks, batch_size, crop, prefetch):
        if reset is not None and batch.chunk != current:
            reset()  # a chunk never depends on the chunks before it
            current = batch.chunk
        in_flight.append((batch, predictor(batch.frames)))
        while len(in_flight) > MAX_IN_FLIGHT:
            yield finish(*in_flight.popleft())
    while in_flight:
        yield finish(*in_flight.popleft())
