"""Trackers and stitching on synthetic crossings: no swaps, always n_tracks, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tracking_helpers import close_frames, crossing_truth, switches

from markerless.errors import ArgumentError
from markerless.tracking.api import identity_labels, make_tracklets, track_and_stitch
from markerless.tracking.detections import Assemblies
from markerless.tracking.simulate import noisy_assemblies
from markerless.tracking.stitch import StitchWarning, frame_ranges, stitch
from markerless.tracking.trackers import TrackerConfig


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        return fn(*a, **kw)


@pytest.fixture(scope="module")
def two():
    gt = crossing_truth(2, 600, seed=1)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, animal_dropout=0.01,
                           false_positives=0.05, seed=2)
    return gt, det


def test_the_clip_is_hard_enough(two):
    gt, det = two
    assert close_frames(gt, 1.0) > 30  # the animals meet and cross, often
    # rows come shuffled: taking row order as identity swaps all the time
    rows = det.assemblies.data[..., :2].astype(float)
    n_sw, _ = switches(rows, gt.xy)
    assert n_sw > 100


@pytest.mark.parametrize("method", ["ellipse", "box", "skeleton"])
def test_motion_alone_tracks_two_crossing_animals_without_swaps(two, method):
    gt, det = two
    res = _quiet(track_and_stitch, det.assemblies, 2, method)
    assert res.poses.xy.shape == (600, 2, 9, 2)
    n_sw, cover = switches(res.poses.xy, gt.xy)
    assert n_sw == 0
    assert cover > 0.97


@pytest.mark.parametrize("method", ["ellipse", "skeleton"])
def test_identity_costs_keep_four_animals_apart_and_name_tracks(method):
    gt = crossing_truth(4, 500, seed=3)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, animal_dropout=0.01,
                           identity_accuracy=0.85, seed=4)
    res = _quiet(track_and_stitch, det.assemblies, 4, method, animal_names=gt.individuals)
    n_sw, cover = switches(res.poses.xy, gt.xy)
    assert n_sw == 0 and cover > 0.97
    # track k is identity k: compare with the ground truth directly
    err = np.nanmean(np.linalg.norm(res.poses.xy - gt.xy, axis=-1), axis=(0, 2))
    assert (err < 3).all(), err


def test_identity_only_assigns_by_the_identity_head():
    gt = crossing_truth(3, 200, seed=5)
    det = noisy_assemblies(gt, noise_px=0.5, keypoint_dropout=0.0, identity_accuracy=1.0, seed=6)
    lab = identity_labels(det.assemblies)
    np.testing.assert_array_equal(lab, det.truth)
    res = _quiet(track_and_stitch, det.assemblies, 3, identity_only=True, min_length=1)
    np.testing.assert_allclose(res.poses.xy, gt.xy, atol=3)
    with pytest.raises(ArgumentError, match="identity"):
        identity_labels(noisy_assemblies(gt, seed=1).assemblies)


def test_stitching_always_returns_n_tracks_and_names_the_frames(two):
    gt, det = two
    clean = noisy_assemblies(gt, noise_px=1.0, seed=2).assemblies  # no false positives
    with pytest.warns(StitchWarning, match=r"only 2 of n_tracks=3"):
        res = track_and_stitch(clean, 3, "ellipse")
    assert res.poses.n_individuals == 3 and np.isnan(res.poses.xy[:, 2]).all()
    with pytest.warns(StitchWarning) as rec:
        res = track_and_stitch(det.assemblies, 1, "ellipse")
    msg = " ".join(str(w.message) for w in rec)
    assert res.poses.n_individuals == 1
    assert "more animals than n_tracks=1" in msg and "frames (0" in msg


def test_empty_frames_animals_leaving_and_nan_keypoints(two):
    gt, _ = two
    xy = gt.xy.copy()
    xy[100:121] = np.nan  # nobody in view
    xy[300:351, 1] = np.nan  # one animal leaves and comes back
    xy[::7, :, ::2] = np.nan  # keypoints missing
    from markerless.poses import Poses

    gt2 = Poses(xy, gt.bodyparts, gt.individuals)
    det = noisy_assemblies(gt2, noise_px=1.0, keypoint_dropout=0.0, seed=3)
    res = _quiet(track_and_stitch, det.assemblies, 2, "ellipse")
    assert np.isnan(res.poses.xy[100:121]).all()
    assert np.isnan(res.poses.xy[300:351]).all(-1).all(-1).sum(-1).min() == 1
    n_sw, cover = switches(res.poses.xy, xy)
    assert n_sw <= 1 and cover > 0.97


def test_all_empty_input_gives_empty_tracks_with_a_warning():
    a = Assemblies.empty(50, 2, ["a", "b", "c"])
    with pytest.warns(StitchWarning, match="only 0 of n_tracks=2"):
        res = track_and_stitch(a, 2)
    assert res.poses.xy.shape == (50, 2, 3, 2) and np.isnan(res.poses.xy).all()


def test_chunked_tracking_equals_one_pass(two):
    _, det = two
    whole = make_tracklets(det.assemblies, "ellipse", chunk_frames=10_000)
    chunked = make_tracklets(det.assemblies, "ellipse", chunk_frames=37)
    np.testing.assert_array_equal(whole.labels, chunked.labels)


def test_bad_tracker_settings_are_named():
    with pytest.raises(ArgumentError, match="track_method"):
        TrackerConfig(method="kalman")
    with pytest.raises(ArgumentError, match="n_tracks"):
        stitch(make_tracklets(Assemblies.empty(5, 1, ["a"])), 0)


def test_frame_ranges():
    assert frame_ranges([3, 4, 5, 9, 11, 12]) == "3-5, 9, 11-12"
    assert frame_ranges(range(0, 40, 2), limit=3).endswith("and 17 more ranges")
