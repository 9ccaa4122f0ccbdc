"""Choose the analysis batch size by measuring it, on this machine, with this model.

Why: the best batch size depends on the device, the network, the frame size and the
other work on the machine. On a 2-core CPU batch 1 can beat batch 8 (DeepLabCut users
report batch 32 running 4x slower than batch 1, DLC #2845); on a GPU large batches win.
`choose_batch_size` times a few candidates on real frames of the video (compilation
excluded) and returns the fastest, with the measurements, so the caller can tell the
user what was chosen and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchChoice", "choose_batch_size", "DEFAULT_CANDIDATES"]

#: candidates on a CPU; a GPU adds larger ones (see `default_candidates`)
DEFAULT_CANDIDATES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class BatchChoice:
    """The chosen batch size and the frames/s measured for each candidate."""

    batch_size: int
    fps: dict[int, float]

    def describe(self) -> str:
        rates = ", ".join(f"{b}: {f:.1f}" for b, f in sorted(self.fps.items()))
        return f"batch size {self.batch_size} (measured frames/s by batch size: {rates})"


def default_candidates() -> tuple[int, ...]:
    """`DEFAULT_CANDIDATES`, plus 32 and 64 on an accelerator."""
    import jax

    if jax.default_backend() in ("gpu", "cuda", "rocm", "tpu"):
        return (*DEFAULT_CANDIDATES, 32, 64)
    return DEFAULT_CANDIDATES


def choose_batch_size(
    predict: Callable[[int], Callable[[np.ndarray], object]],
    frames: np.ndarray,
    candidates: Sequence[int] | None = None,
    seconds_per_candidate: float = 1.5,
    min_gain: float = 1.05,
) -> BatchChoice:
    """Time ``predict(batch)(frames[:batch])`` for each candidate; return the fastest.

    ``predict(b)`` returns the compiled predictor for batch size ``b`` (called once per
    candidate; its first call, which compiles, is not timed). Each candidate then runs
    for about ``seconds_per_candidate``. A larger batch is chosen only when it is at
    least ``min_gain`` times faster than the best smaller one (larger batches cost memory
    and latency for nothing otherwise). Candidates larger than ``len(frames)`` are skipped.
    """
    import jax

    cands = sorted({int(b) for b in (candidates or default_candidates()) if b >= 1})
    cands = [b for b in cands if b <= max(1, len(frames))] or [1]
    fps: dict[int, float] = {}
    for b in cands:
        batch = np.ascontiguousarray(frames[:b])
        if len(batch) < b:
            batch = np.concatenate([batch] * (-(-b // len(batch))))[:b]
        fn = predict(b)
        jax.block_until_ready(fn(batch))  # compile and warm up
        n, start = 0, time.perf_counter()
        while True:
            jax.block_until_ready(fn(batch))
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds_per_candidate or n >= 200:
                break
        fps[b] = n * b / elapsed
    best = cands[0]
    for b in cands[1:]:
        if fps[b] >= min_gain * fps[best]:
            best = b
    return BatchChoice(best, fps)
