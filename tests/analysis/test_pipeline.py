"""Building blocks: chunk plans, the decode thread, robust reads, the partial store."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from analysis_helpers import make_video, smash_frame

from markerless.analysis.chunks import iter_batches, plan_chunks, read_robust
from markerless.analysis.resume import PartialStore, bad_frame_ranges
from markerless.io.video import VideoReader, probe_video


def test_plan_is_keyframe_aligned_and_covers_the_video(clip):
    video, _ = clip
    info = probe_video(video)
    assert plan_chunks(info, 16) == [(0, 10), (10, 20), (20, 30), (30, 40)]
    assert plan_chunks(info, 25) == [(0, 20), (20, 40)]
    assert plan_chunks(info, 1000) == [(0, 40)]


def test_batches_are_padded_per_chunk_and_carry_the_frames(clip):
    video, frames = clip
    with VideoReader(video) as reader:
        batches = list(iter_batches(reader, [(0, 10), (20, 30)], 8, crop=(8, 40, 4, 20)))
    assert [(b.chunk, b.start, b.n) for b in batches] == [
        ((0, 10), 0, 8), ((0, 10), 8, 2), ((20, 30), 20, 8), ((20, 30), 28, 2)]
    assert all(b.frames.shape == (8, 16, 32, 3) for b in batches)
    assert [b.last_in_chunk for b in batches] == [False, True, False, True]
    np.testing.assert_array_equal(batches[1].frames[:2], frames[8:10, 4:20, 8:40])
    assert not batches[1].frames[2:].any()  # zero padding
    np.testing.assert_array_equal(batches[2].frames, frames[20:28, 4:20, 8:40])


def test_closing_the_iterator_stops_the_decode_thread(clip):
    video, _ = clip
    def decoders():
        return [t for t in threading.enumerate() if t.name == "markerless-decode"]

    assert not decoders()
    with VideoReader(video) as reader:
        it = iter_batches(reader, [(0, 10), (10, 20), (20, 30), (30, 40)], 2, prefetch=1)
        next(it)
        assert len(decoders()) == 1 and decoders()[0].is_alive()
        it.close()
    assert not decoders()


def test_decode_errors_surface_in_the_caller():
    class Broken:
        def read_range(self, a, b):
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(iter_batches(Broken(), [(0, 4)], 2))


def test_read_robust_skips_only_the_bad_frame(tmp_path):
    path = tmp_path / "d.mp4"
    good = make_video(path, 30, seed=2)
    smash_frame(path, 13)
    with VideoReader(path) as reader:
        frames, bad = read_robust(reader, 10, 30)
    assert bad == [13]
    assert frames.shape == (20, 64, 96, 3) and not frames[3].any()
    np.testing.assert_array_equal(frames[:3], good[10:13])  # before the damage: exact


def test_partial_store_resumes_and_discards(tmp_path):
    folder = tmp_path / "v.partial"
    sig = {"video": "v.mp4", "model": "abc", "geometry": {"frame_hw": (4, 5)}}
    store = PartialStore(folder, sig, [(0, 3), (3, 5)])
    assert store.pending() == [(0, 3), (3, 5)] and not store.resumed
    store.save(0, 3, np.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="3 rows, expected 2"):
        store.save(3, 5, np.ones((3, 2, 3)))
    assert not list(folder.glob(".*tmp*"))  # no temporary files left behind

    again = PartialStore(folder, sig, [(0, 5)])  # same signature: the saved plan wins
    assert again.resumed and again.chunks == [(0, 3), (3, 5)] and again.pending() == [(3, 5)]
    assert again.frames_done() == 3
    again.save(3, 5, np.zeros((2, 2, 3)))
    assert again.assemble().shape == (5, 2, 3) and again.assemble().dtype == np.float32

    other = PartialStore(folder, {**sig, "model": "xyz"}, [(0, 5)])
    assert not other.resumed and other.pending() == [(0, 5)]


def test_bad_frame_ranges():
    assert bad_frame_ranges([7, 3, 4, 5, 9]) == [(3, 5), (7, 7), (9, 9)]
    assert bad_frame_ranges([]) == []
