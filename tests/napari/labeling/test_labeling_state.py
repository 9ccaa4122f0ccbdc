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


def test_loop_keeps_the_bodypart_and_moves_through_frames():
    """napari-deeplabcut's LOOP (markerless' old "quick")."""
    state = _state(mode="loop")
    state.select(2)
    frames = []
    frame = 0
    for _ in range(4):
        frames.append((frame, state.current_keypoint[1]))
        frame = state.after_add(frame)
    # after the last frame: next bodypart from the first frame
    assert frames == [(0, "rightear"), (1, "rightear"), (2, "rightear"), (0, "tailbase")]


def test_sequential_without_next_frame_wraps_within_the_frame():
    """markerless' old "loop": SEQUENTIAL with *next frame when done* off."""
    state = _state(rows=[(0, "", "snout"), (0, "", "rightear")])
    state.advance_frames = False
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


# --- napari-deeplabcut's modes and habits, paste and undo (pure) ------------------------
def test_sequential_goes_back_to_skipped_keypoints_before_leaving_the_frame():
    state = _state(rows=[(0, "", "snout")])
    state.select(2)  # the user skipped leftear
    state.labeled[0, 2] = True
    assert state.after_add(0) == 0 and state.current_keypoint[1] == "tailbase"
    state.labeled[0, 3] = True
    assert state.after_add(0) == 0 and state.current_keypoint[1] == "leftear"  # wrapped
    state.labeled[0, 1] = True
    assert state.after_add(0) == 1 and state.current_keypoint[1] == "snout"  # frame done


def test_quick_takes_the_following_keypoint_even_if_placed():
    """napari-deeplabcut's QUICK: correct placed labels one after another."""
    rows = [(0, "", bp) for bp in BPS]
    state = _state(mode="quick", rows=rows)
    state.advance_frames = False
    visited = []
    for _ in range(5):
        visited.append(state.current_keypoint[1])
        assert state.after_add(0) == 0
    assert visited == ["snout", "leftear", "rightear", "tailbase", "tailbase"]  # stops at last
    state.advance_frames = True  # markerless habits: a done frame goes on
    assert state.after_add(0) == 1 and state.current_keypoint[1] == "snout"


def test_next_unlabeled_frame_both_ways_wrapping():
    state = _state(n_frames=6, rows=[(0, "", "snout"), (1, "", "snout"), (3, "", "tailbase")])
    assert state.next_unlabeled_frame(1, 1) == 2
    assert state.next_unlabeled_frame(2, 1) == 4
    assert state.next_unlabeled_frame(4, -1) == 2
    assert state.next_unlabeled_frame(2, -1) == 5  # wraps past frame 0
    state.labeled[:, 0] = True
    assert state.next_unlabeled_frame(2, 1) is None


def test_place_points_without_move_keeps_the_placed_keypoint():
    """napari-deeplabcut's SEQUENTIAL and LOOP: a click for a placed keypoint places nothing."""
    data = np.array([[1, 5, 5], [1, 6, 6], [1, 7, 7]], float)
    kp = np.array([0, 0, 1])
    out, drop, kept = place_points(data, kp, np.array([1, 2]), n_frames=3, move=False)
    np.testing.assert_array_equal(drop, [1])  # the new snout goes, the old one stays
    np.testing.assert_array_equal(kept, [2])
    _, drop, kept = place_points(data, kp, np.array([1, 2]), n_frames=3, move=True)
    np.testing.assert_array_equal(drop, [0])
    np.testing.assert_array_equal(kept, [1, 2])


def test_paste_rows_only_where_the_keypoint_is_not_placed_yet():
    from markerless.napari.labeling.edits import UndoStack, paste_rows, points_on

    data = np.array([[0, 1, 1], [0, 2, 2], [1, 3, 3], [2, 4, 4]], float)
    kp = np.array([0, 1, 0, 3])
    np.testing.assert_array_equal(points_on(data, 0), [0, 1])
    # copied: kp 0, 1, 2, 2 again, unknown -> onto frame 1 (has kp 0)
    np.testing.assert_array_equal(paste_rows(data, kp, [0, 1, 2, 2, -1], 1), [1, 2])
    assert len(paste_rows(data, kp, [0, 1], 0)) == 0
    stack = UndoStack(depth=2)
    for n in range(3):
        stack.push(n)
    assert len(stack) == 2 and stack.pop() == 2 and stack.pop() == 1 and stack.pop() is None


def test_confidence_borders_mark_points_below_pcutoff():
    from markerless.napari.labeling.confidence import (
        LOW_CONFIDENCE_RGBA,
        LOW_CONFIDENCE_WIDTH,
        confidence_borders,
    )

    gold = (1.0, 0.84, 0.0, 1.0)
    colors, widths = confidence_borders([0.9, 0.2, np.nan, 0.6], 0.6, gold, 0.12)
    np.testing.assert_allclose(colors[[0, 2, 3]], [gold] * 3)
    np.testing.assert_allclose(colors[1], LOW_CONFIDENCE_RGBA)
    np.testing.assert_allclose(widths, [0.12, LOW_CONFIDENCE_WIDTH, 0.12, 0.12])
    colors, widths = confidence_borders([0.2], 0.6, gold, 0.12, on=False)
    np.testing.assert_allclose(colors, [gold])
