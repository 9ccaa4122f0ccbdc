"""The labeling dock's decisions without Qt: next keypoint per mode, progress, skeleton."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from markerless.napari.labeling.state import (
    LabelingState,
    duplicates_of,
    place_points,
    skeleton_vectors,
)

BPS = ["snout", "leftear", "rightear", "tailbase"]


def _points(rows: list[tuple[int, str, str]]) -> tuple[np.ndarray, pd.DataFrame]:
    """(frame, individual, bodypart) -> layer data (frame, y, x) with y = 10*frame, x = row."""
    data = np.array([[f, 10.0 * f, float(i)] for i, (f, _, _) in enumerate(rows)]).reshape(-1, 3)
    feats = pd.DataFrame({"individual": [r[1] for r in rows], "bodypart": [r[2] for r in rows]})
    return data, feats


def _state(n_frames: int = 3, mode: str = "sequential", rows=()) -> LabelingState:
    state = LabelingState(BPS, [""], None, n_frames, mode)
    state.update(*_points(list(rows)))
    return state


def test_sequential_walks_bodyparts_then_frames_skipping_labeled():
    state = _state(rows=[(0, "", "leftear")])
    state.start_on(0)
    assert state.current_keypoint == ("", "snout")
    order = []
    frame = 0
    for _ in range(6):
        order.append((frame, state.current_keypoint[1]))
        state.labeled[frame, state.current] = True  # the click
        frame = state.after_add(frame)
    assert order == [(0, "snout"), (0, "rightear"), (0, "tailbase"),
                     (1, "snout"), (1, "leftear"), (1, "rightear")]
    assert state.progress() == (7, 12, 1, 3)
    assert str(state.progress()) == "7 of 12 keypoints labeled; 1 of 3 frames done"


def test_sequential_on_the_last_frame_stays_there():
    state = _state(n_frames=2, rows=[(1, "", "snout")])
    state.select(3)  # tailbase
    state.labeled[1, 3] = True
    assert state.after_add(1) == 1
    assert state.current_keypoint[1] == "leftear"  # first still unlabeled keypoint of frame 1


def test_quick_keeps_the_bodypart_and_moves_through_frames():
    state = _state(mode="quick")
    state.select(2)
    frames = []
    frame = 0
    for _ in range(4):
        frames.append((frame, state.current_keypoint[1]))
        frame = state.after_add(frame)
    # after the last frame: next bodypart from the first frame
    assert frames == [(0, "rightear"), (1, "rightear"), (2, "rightear"), (0, "tailbase")]


def test_loop_wraps_within_the_frame():
    state = _state(mode="loop", rows=[(0, "", "snout"), (0, "", "rightear")])
    state.select(3)
    state.labeled[0, 3] = True
    assert state.after_add(0) == 0
    assert state.current_keypoint[1] == "leftear"  # wrapped past labeled snout
    state.labeled[0, :] = True
    assert state.after_add(0) == 0  # all labeled: next keypoint, same frame
    assert state.current_keypoint[1] == "rightear"


def test_next_unlabeled_searches_this_frame_then_later_frames_wrapping():
    rows = [(1, "", bp) for bp in BPS] + [(2, "", "snout"), (0, "", "snout")]
    state = _state(rows=rows)
    state.select(0)
    assert state.next_unlabeled(1) == 2  # frame 1 complete -> frame 2's first unlabeled
    assert state.current_keypoint[1] == "leftear"
    state.labeled[2, :] = True
    assert state.next_unlabeled(2) == 0  # wraps to frame 0
    assert state.current_keypoint[1] == "leftear"
    state.labeled[:] = True
    state.select(1)
    assert state.next_unlabeled(0) == 0 and state.current == 1  # nothing left: stay


def test_step_wraps_and_modes_are_checked():
    state = _state()
    state.step(-1)
    assert state.current_keypoint[1] == "tailbase"
    state.step(1)
    assert state.current == 0
    with pytest.raises(ValueError, match="Unknown labeling mode"):
        state.mode = "random"


def test_multianimal_order_defined_mask_and_unknown_names():
    individuals = ["m1", "m2", "single"]
    bodyparts = ["snout", "tail", "corner"]
    defined = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
    state = LabelingState(bodyparts, individuals, defined, 2)
    assert state.keypoints == [("m1", "snout"), ("m1", "tail"), ("m2", "snout"),
                               ("m2", "tail"), ("single", "corner")]
    data, feats = _points([(0, "m2", "tail"), (1, "single", "corner"), (1, "m1", "corner"),
                           (0, "ghost", "snout")])
    state.update(data, feats)
    np.testing.assert_array_equal(state.labeled, [[0, 0, 0, 1, 0], [0, 0, 0, 0, 1]])
    assert state.index_of("m2", "tail") == 3
    with pytest.raises(KeyError, match="corner"):
        state.index_of("m1", "corner")
    # NaN individual (feature_defaults before the dock set one) counts as the first animal
    nan_feats = pd.DataFrame({"bodypart": ["snout"], "individual": [np.nan]})
    assert state.keypoint_index(nan_feats, 1).tolist() == [0]


def test_points_outside_the_frames_are_not_counted():
    state = _state(n_frames=2)
    data, feats = _points([(0, "", "snout"), (5, "", "snout")])
    state.update(data, feats)
    assert state.labeled.sum() == 1


def test_duplicates_of_finds_the_older_point_of_the_same_keypoint_and_frame():
    data = np.array([[0, 1, 1], [1, 2, 2], [0, 3, 3], [0, 4, 4]], float)
    kp = np.array([0, 0, 1, 0])
    np.testing.assert_array_equal(duplicates_of(data, kp, np.array([3])), [0])
    assert len(duplicates_of(data, kp, np.array([2]))) == 0


def test_skeleton_vectors_per_frame_and_individual():
    individuals = ["m1", "m2"]
    state = LabelingState(["a", "b", "c"], individuals, None, 3)
    data = np.array([[0, 10, 20], [0, 14, 23], [2, 1, 1], [2, 2, 2], [2, 5, 5]], float)
    feats = pd.DataFrame({"individual": ["m1", "m1", "m2", "m2", "m1"],
                          "bodypart": ["a", "b", "a", "b", "c"]})
    kp = state.keypoint_index(feats, len(data))
    vec = skeleton_vectors(data, kp, state, [("a", "b"), ("b", "c"), ("a", "zzz")])
    # frame 0: m1 a-b; frame 2: m2 a-b (m1 has only c)
    assert vec.shape == (2, 2, 3)
    np.testing.assert_allclose(vec[0], [[0, 10, 20], [0, 4, 3]])
    np.testing.assert_allclose(vec[1], [[2, 1, 1], [0, 1, 1]])
    assert skeleton_vectors(data, kp, state, []).shape == (0, 2, 3)


def test_place_points_pins_frames_and_drops_strays_and_duplicates():
    # 0: snout on frame 1; 1: new snout on frame 1 at a fractional frame; 2: new click off-image;
    # 3: new click on a frame past the last one
    data = np.array([[1, 5, 5], [0.9999, 6, 6], [1, 40, 5], [7, 5, 5]], float)
    kp = np.array([0, 0, 1, 2])
    out, drop, kept = place_points(data, kp, np.array([1, 2, 3]), n_frames=3,
                                   image_shape=(32, 48))
    np.testing.assert_array_equal(out[:, 0], [1, 1, 1, 7])
    np.testing.assert_array_equal(drop, [0, 2, 3])  # the older snout, off-image, off-frames
    np.testing.assert_array_equal(kept, [1])
    assert data[1, 0] == 0.9999  # the input is not modified
