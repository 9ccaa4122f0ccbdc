"""The batch size chosen by measurement: the fastest candidate, larger only when worth it."""

from __future__ import annotations

import time

import numpy as np

from markerless.analysis.batch_size import BatchChoice, choose_batch_size


def _fake(per_call_s: float, per_frame_s: float):
    """A predictor whose cost is a fixed overhead per call plus a cost per frame."""
    def predict(batch):
        def run(frames):
            time.sleep(per_call_s + per_frame_s * len(frames))
            return frames
        return run
    return predict


def test_overhead_per_call_favours_large_batches():
    frames = np.zeros((16, 4, 4, 3), np.uint8)
    choice = choose_batch_size(_fake(0.02, 0.0005), frames, (1, 4, 16), 0.15)
    assert choice.batch_size == 16
    assert choice.fps[16] > 3 * choice.fps[1]
    assert "batch size 16" in choice.describe()


def test_no_gain_keeps_the_smallest():
    frames = np.zeros((8, 4, 4, 3), np.uint8)
    choice = choose_batch_size(_fake(0.0, 0.01), frames, (1, 2, 8), 0.15, min_gain=1.3)
    assert choice.batch_size == 1  # the same frames/s at every size


def test_candidates_beyond_the_video_are_skipped():
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    choice = choose_batch_size(_fake(0.01, 0.0), frames, (1, 2, 8, 16), 0.05)
    assert set(choice.fps) == {1, 2}
    assert isinstance(choice, BatchChoice)
