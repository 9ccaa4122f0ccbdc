"""Calibration from board views: accuracy, determinism, and every refusal case."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.pose3d.boards import CharucoBoard
from markerless.pose3d.calibrate import calibrate_from_detections
from markerless.pose3d.calibration_toml import calibration_text
from markerless.pose3d.detection import detections_from_arrays
from markerless.pose3d.errors import CalibrationError
from markerless.synthetic.multicam import (
    BoardPoses,
    board_observations,
    board_poses,
    make_rig,
    render_board_images,
)


def _det(rig, board, obs):
    return detections_from_arrays(board, rig.get_names(), obs, [c.size for c in rig.cameras])


def test_calibration_recovers_the_cameras(rig, calibrated):
    group, report = calibrated
    for true, est in zip(rig.cameras, group.cameras, strict=True):
        assert abs(est.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.005
        assert abs(est.matrix[1, 1] / true.matrix[1, 1] - 1) < 0.005
    d_true = np.linalg.norm(rig.centres()[1:] - rig.centres()[0], axis=1)
    d_est = np.linalg.norm(group.centres()[1:] - group.centres()[0], axis=1)
    assert np.abs(d_est / d_true - 1).max() < 0.001  # mm, at the board's scale
    assert all(q.median_error < 0.2 for q in report.cameras)
    assert group.metadata["units"] == "mm"
    assert np.allclose(group.cameras[0].tvec, 0) and np.allclose(group.cameras[0].rvec, 0)
    text = str(report)
    assert "camera-1" in text and "error median" in text


def test_same_input_gives_identical_toml():
    rig = make_rig(3, seed=5)
    board = CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    obs = board_observations(rig, board, board_poses(board, 14, seed=6), noise=0.2, seed=7)
    a = calibration_text(calibrate_from_detections(_det(rig, board, obs))[0])
    b = calibration_text(calibrate_from_detections(_det(rig, board, obs))[0])
    assert a == b


def test_refuses_a_camera_that_shares_no_view(rig, board, board_views):
    det = _det(rig, board, board_views)
    lonely = det.cameras[2]
    lonely.keys = [f"alone-{k}" for k in lonely.keys]  # never at the same moment as others
    with pytest.raises(CalibrationError, match="'camera-3' shares no board view"):
        calibrate_from_detections(det)


def _facing(board, rig, cam, n, seed):
    return board_poses(board, n, seed=seed, max_tilt=25, facing=rig.cameras[cam].centre)


def test_refuses_opposite_cameras_seeing_the_board_edge_on():
    rig = make_rig(opposite=True, seed=1)
    board = CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    a, b = _facing(board, rig, 0, 10, 1), _facing(board, rig, 1, 10, 2)  # lens views
    e = board_poses(board, 10, seed=3, edge_on=True)  # the only shared views: edge-on
    poses = BoardPoses(np.concatenate([a.rotations, b.rotations, e.rotations]),
                       np.concatenate([a.origins, b.origins, e.origins]))
    obs = board_observations(rig, board, poses, noise=0.1, seed=4, max_view_angle=89.5)
    shared = np.isfinite(obs[..., 0]).any(-1).all(0)
    assert shared.sum() >= 3  # they do see the board together ...
    with pytest.raises(CalibrationError, match="edge-on.*degenerate"):
        calibrate_from_detections(_det(rig, board, obs))  # ... but only edge-on


def test_refuses_a_large_reprojection_error(board):
    rig = make_rig(3, seed=4)
    obs = board_observations(rig, board, board_poses(board, 12, seed=8), noise=3.0, seed=9)
    with pytest.raises(CalibrationError, match="median reprojection error above 1.5 px") as e:
        calibrate_from_detections(_det(rig, board, obs))
    report = e.value.report  # the report comes with the refusal
    assert len(report.cameras) == 3
    assert all(2.0 < q.median_error < 6.0 for q in report.cameras)


def test_too_few_views_is_refused(rig, board, board_views):
    det = _det(rig, board, board_views[:, :2])
    with pytest.raises(CalibrationError, match="only .* image"):
        calibrate_from_detections(det)


@pytest.fixture(scope="module")
def small_render():
    rig = make_rig(2, image_size=(480, 360), radius=480, height=330, focal=560, seed=2)
    board = CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    poses = board_poses(board, 5, seed=3, max_tilt=35)
    return rig, board, poses


def test_rendered_corners_are_found_precisely(small_render):
    rig, board, poses = small_render
    images, truth = render_board_images(rig, board, poses, seed=1)
    errors, found = [], 0
    for c in range(len(rig)):
        for v in range(len(poses.origins)):
            ids, pts = board.detect(images[c, v])
            if len(ids):
                found += 1
                errors.append(np.linalg.norm(pts - truth[c, v, ids], axis=1))
    assert found >= 6
    assert np.median(np.concatenate(errors)) < 0.2


@pytest.mark.parametrize("variant", ["legacy", "inverted"])
def test_legacy_and_inverted_boards_are_found_on_auto(small_render, variant):
    rig, _, poses = small_render
    printed = CharucoBoard(5, 6, 40.0, 30.0, dict_size=50, legacy=variant == "legacy",
                           inverted=variant == "inverted")  # an even number of rows
    images, truth = render_board_images(rig.subset_cameras([0]), printed, poses, seed=2)
    auto = CharucoBoard(5, 6, 40.0, 30.0, dict_size=50, legacy=None, inverted=None)
    plain = CharucoBoard(5, 6, 40.0, 30.0, dict_size=50, legacy=False, inverted=False)
    n_auto = n_plain = 0
    for v in range(len(poses.origins)):
        ids, pts = auto.detect(images[0, v])
        n_auto += len(ids)
        if len(ids):
            assert np.median(np.linalg.norm(pts - truth[0, v, ids], axis=1)) < 0.3
        n_plain += len(plain.detect(images[0, v])[0])
    assert n_auto >= 20 and n_plain < n_auto / 2


def test_boards_in_calibration_videos_are_found_and_cached(small_render, tmp_path):
    from markerless.io.video_write import VideoWriter
    from markerless.pose3d.detection import detect_boards

    rig, board, poses = small_render
    images, truth = render_board_images(rig, board, poses, seed=3)
    videos = {}
    for c, name in enumerate(rig.get_names()):
        videos[name] = tmp_path / f"calib-{name}.mp4"
        with VideoWriter(videos[name], fps=30, crf=12) as w:
            w.write(np.repeat(images[c][..., None], 3, axis=-1))
    det = detect_boards(board, videos, cache_dir=tmp_path / "cache", every=1)
    cd = det.cameras[0]
    assert cd.keys == [str(v) for v in range(len(poses.origins))]  # frame numbers
    for key in cd.found:
        ids, pts = cd.get(key)
        assert np.median(np.linalg.norm(pts - truth[0, int(key), ids], axis=1)) < 0.5
    assert len(cd.found) >= 3 and "calib-camera-1.mp4" in cd.sources[0]
    again = detect_boards(board, videos, cache_dir=tmp_path / "cache", every=1)
    assert again.cameras[0].keys == cd.keys  # from the cache
    assert (tmp_path / "cache" / "camera-1_detections.npz").is_file()
