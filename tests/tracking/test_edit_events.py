"""Identity swaps on tracks and the events proofreading jumps to (pure functions, no files)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tracking_helpers import crossing_truth, switches

from markerless.errors import ArgumentError, LabelFileError
from markerless.poses import Poses
from markerless.tracking.edit import reorder_identities, swap_identities
from markerless.tracking.events import (
    body_size,
    close_approaches,
    find_track_events,
    low_confidence,
    missing_tracks,
    next_event,
)


@pytest.fixture(scope="module")
def truth() -> Poses:
    gt = crossing_truth(3, 300, seed=1, k=5)
    gt.likelihood = np.random.default_rng(0).uniform(0.7, 1.0, gt.xy.shape[:3])
    return gt


def _swapped(poses: Poses, a: int, b: int, rows: slice) -> Poses:
    """The injected error, written out by hand (not with the function under test)."""
    bad = poses.copy()
    bad.xy[rows, a], bad.xy[rows, b] = poses.xy[rows, b], poses.xy[rows, a]
    bad.likelihood[rows, a], bad.likelihood[rows, b] = (poses.likelihood[rows, b],
                                                        poses.likelihood[rows, a])
    return bad


def test_swap_from_a_frame_on_fixes_an_injected_swap(truth):
    bad = _swapped(truth, 0, 1, slice(120, None))
    before = bad.copy()
    fixed = swap_identities(bad, "animal0", "animal1", start=120)
    assert fixed.equals(truth)  # coordinates and likelihoods, every frame
    assert bad.equals(before)  # pure: the input is untouched
    # swapping one frame too late leaves exactly that frame wrong
    late = swap_identities(bad, 0, 1, start=121)
    wrong = ~np.all(np.isclose(late.xy, truth.xy, equal_nan=True), axis=(1, 2, 3))
    assert np.flatnonzero(wrong).tolist() == [120]
    # a swap is its own inverse: the undo
    assert swap_identities(fixed, "animal1", "animal0", 120).equals(bad)


def test_swap_over_a_range_and_in_place(truth):
    bad = _swapped(truth, 1, 2, slice(100, 150))
    work = bad.copy()
    out = swap_identities(work, "animal1", "animal2", 100, 150, inplace=True)
    assert out is work and work.equals(truth)
    assert np.array_equal(bad.xy[:100], truth.xy[:100], equal_nan=True)
    assert np.array_equal(bad.xy[150:], truth.xy[150:], equal_nan=True)


def test_frames_are_video_frame_numbers(truth):
    """A SLEAP file skips frames: start/stop are frame numbers, not row positions."""
    sparse = truth.select_frames(np.arange(0, 300, 10))
    sparse.frames = list(range(0, 300, 10))
    out = swap_identities(sparse, 0, 2, start=55, stop=105)  # frames 60..100 = rows 6..10
    rows = [r for r in range(30) if not np.array_equal(out.xy[r], sparse.xy[r], equal_nan=True)]
    assert rows == [6, 7, 8, 9, 10]
    assert np.array_equal(out.xy[6:11, 0], sparse.xy[6:11, 2], equal_nan=True)
    with pytest.raises(LabelFileError, match="not video frame numbers"):
        swap_identities(Poses(truth.xy[:2], truth.bodyparts, truth.individuals,
                              ["labeled-data/v/img0.png", "labeled-data/v/img1.png"]), 0, 1)


def test_reorder_three_animals_and_errors(truth):
    rotated = truth.copy()
    rotated.xy[200:] = truth.xy[200:, [1, 2, 0]]
    rotated.likelihood[200:] = truth.likelihood[200:, [1, 2, 0]]
    # animal0 now shows animal1's data, ...: give each name back the data of its animal
    assert reorder_identities(rotated, ["animal2", "animal0", "animal1"], 200).equals(truth)
    with pytest.raises(ArgumentError, match="itself"):
        swap_identities(truth, "animal0", "animal0", 0)
    with pytest.raises(ArgumentError, match="unknown individual 'rat'"):
        swap_identities(truth, "animal0", "rat", 0)
    with pytest.raises(ArgumentError, match="stop=10 must be after start=10"):
        swap_identities(truth, 0, 1, 10, 10)
    with pytest.raises(ArgumentError, match="exactly once"):
        reorder_identities(truth, ["animal0", "animal0", "animal1"])
    single = Poses(np.zeros((2, 2, 2, 2)), ["nose", "arena"], ["animal0", "single"],
                   defined=np.array([[True, False], [False, True]]))
    with pytest.raises(ArgumentError, match="'single' carries the unique bodyparts"):
        swap_identities(single, "animal0", "single", 0)


def test_swap_fixes_a_swap_in_tracker_output():
    """Through the tracking API: clean tracks, one injected switch, fixed in one call."""
    from markerless.tracking.api import track_and_stitch
    from markerless.tracking.simulate import noisy_assemblies

    gt = crossing_truth(2, 300, seed=1, k=4)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracks = track_and_stitch(det.assemblies, 2, "ellipse").poses
    n0, covered = switches(tracks.xy, gt.xy)
    assert n0 == 0 and covered > 0.95
    tracks.likelihood = np.nan_to_num(tracks.likelihood)
    bad = _swapped(tracks, 0, 1, slice(150, None))
    assert switches(bad.xy, gt.xy)[0] == 2  # each animal changes track once
    fixed = swap_identities(bad, tracks.individuals[0], tracks.individuals[1], 150)
    assert switches(fixed.xy, gt.xy)[0] == 0


# --- events -----------------------------------------------------------------------------
def _line_animals(n_frames: int = 100) -> Poses:
    """Two 'animals' of 3 keypoints on a 10 px segment (body size 10): animal0 sits at
    x = 0, animal1's centre is at |x| = |50 - f| (it passes through animal0 at frame 50)."""
    off = np.array([-5.0, 0.0, 5.0])
    xy = np.zeros((n_frames, 2, 3, 2))
    xy[:, 0, :, 0] = off
    xy[:, 1, :, 0] = np.abs(50 - np.arange(n_frames))[:, None] + off
    xy[:, :, :, 1] = 100.0
    return Poses(xy, ["a", "b", "c"], ["animal0", "animal1"],
                 likelihood=np.full(xy.shape[:3], 0.9))


def test_close_approaches_in_body_lengths_and_pixels():
    poses = _line_animals()
    assert body_size(poses) == pytest.approx(10.0)
    ev = close_approaches(poses, distance=2.0)  # 2 body lengths = 20 px
    expected = np.abs(50 - np.arange(100)) < 20
    assert np.array_equal(ev.mask, expected)
    assert np.array_equal(ev.who, np.stack([expected, expected], 1))
    assert ev.starts().tolist() == [31]
    assert ev.next_after(0) == 31 and ev.next_after(31) is None
    assert ev.previous_before(40) == 31 and ev.previous_before(31) is None
    assert ev.at(50) == ["animal0", "animal1"] and ev.at(10) == []
    assert np.array_equal(close_approaches(poses, 7, unit="px").mask,
                          np.abs(50 - np.arange(100)) < 7)
    with pytest.raises(ArgumentError, match="unit"):
        close_approaches(poses, 1, unit="cm")


def test_close_approaches_match_a_per_frame_count(truth):
    """Vectorised finder == the tracking tests' own per-pair count, on three crossing animals."""
    length = np.nanmedian(np.linalg.norm(truth.xy[:, :, 0] - truth.xy[:, :, -1], axis=-1))
    size = body_size(truth)
    ev = close_approaches(truth, distance=length / size)
    c = np.nanmean(truth.xy, 2)
    near = np.zeros(300, bool)
    for f in range(300):
        for i in range(3):
            for j in range(i + 1, 3):
                near[f] |= np.linalg.norm(c[f, i] - c[f, j]) < length
    assert near.any() and np.array_equal(ev.mask, near)


def test_missing_and_low_confidence_events():
    poses = _line_animals()
    poses.xy[40:60, 1] = np.nan  # animal1 gone for 20 frames
    poses.xy[80, 0, :2] = np.nan  # animal0 keeps one keypoint at frame 80
    poses.likelihood[10:20, 0] = 0.3
    poses.likelihood[15:25, 1] = 0.2  # animal1 joins while animal0 is still low
    miss = missing_tracks(poses)
    assert miss.starts().tolist() == [40] and miss.n_frames == 20 and miss.at(45) == ["animal1"]
    assert missing_tracks(poses, min_keypoints=2).starts().tolist() == [40, 80]
    low = low_confidence(poses, pcutoff=0.6)
    assert low.n_frames == 15 and low.starts().tolist() == [10, 15]
    assert low.at(22) == ["animal1"]
    poses.likelihood = None
    assert low_confidence(poses).n_frames == 0
    found = find_track_events(_line_animals(), distance=2.0)
    assert set(found) == {"close", "missing", "low_confidence"}
    events = find_track_events(poses, distance=2.0)
    assert next_event(events, 0) == (31, "close")
    assert next_event(events, 35) == (40, "missing")
    assert next_event(events, 35, backwards=True) == (31, "close")
    assert next_event(events, 90) is None
