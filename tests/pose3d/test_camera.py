"""Projection (parity with OpenCV's formula), undistortion and DLT triangulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from markerless.errors import ArgumentError
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.distortion import pixels_to_normalized, project_points, rodrigues

cv2 = pytest.importorskip("cv2")

DISTORTIONS = {
    4: [-0.21, 0.08, 1e-3, -2e-3],
    5: [-0.21, 0.08, 1e-3, -2e-3, -0.02],
    8: [-0.21, 0.08, 1e-3, -2e-3, -0.02, 0.01, 0.002, -0.001],
    12: [-0.21, 0.08, 1e-3, -2e-3, -0.02, 0.01, 0.002, -0.001, 1e-3, -1e-4, 2e-3, 1e-4],
}


@pytest.mark.parametrize("n", sorted(DISTORTIONS))
def test_projection_equals_opencv(n):
    # aniposelib's Camera.project is cv2.projectPoints; we re-implement the same formula
    rng = np.random.default_rng(n)
    k = np.array([[910.0, 0, 402.3], [0, 905.5, 297.1], [0, 0, 1]])
    rvec, tvec = np.array([0.3, -0.2, 0.1]), np.array([10.0, -20.0, 900.0])
    pts = rng.uniform(-200, 200, size=(500, 3))
    ours = project_points(pts, rvec, tvec, k, DISTORTIONS[n])
    ref, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), rvec, tvec, k, np.array(DISTORTIONS[n]))
    assert np.abs(ours - ref[:, 0]).max() < 1e-6


def test_rodrigues_matches_opencv():
    rng = np.random.default_rng(0)
    rv = rng.normal(size=(20, 3))
    rv[0] = 0
    rv[1] = [1e-14, 0, 0]
    ours = rodrigues(rv)
    for r, m in zip(rv, ours, strict=True):
        assert np.abs(cv2.Rodrigues(r)[0] - m).max() < 1e-12


def test_undistortion_inverts_distortion_exactly():
    k = np.array([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]])
    d = DISTORTIONS[8]
    xy = np.random.default_rng(1).uniform(-0.35, 0.35, size=(2000, 2))
    px = project_points(np.concatenate([xy, np.ones((len(xy), 1))], 1), np.zeros(3),
                        np.zeros(3), k, d)
    back = pixels_to_normalized(px, k, d)
    assert np.abs(back - xy).max() < 1e-10
    # OpenCV's own inverse (5 fixed-point steps) is far less exact
    cvb = cv2.undistortPoints(px.reshape(-1, 1, 2), k, np.array(d))[:, 0]
    assert np.abs(cvb - xy).max() > 1e-7


def test_undistortion_refuses_folded_points():
    k = np.array([[770.0, 0, 640], [0, 770, 512], [0, 0, 1]])
    d = [-0.29, 0, 0, 0, 0]  # r_d folds back beyond r = 1.07: image corners have no inverse
    out = pixels_to_normalized(np.array([[0.0, 0.0], [640.0, 512.0]]), k, d)
    assert np.isnan(out[0]).all() and np.abs(out[1]).max() < 1e-12


def _points_in_view(rig, n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform([-150, -150, 0], [150, 150, 150], size=(n, 3))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4))
def test_project_then_triangulate_is_exact(rig, seed, n_cams):
    group = rig.subset_cameras(range(n_cams))
    pts = _points_in_view(rig, 50, seed)
    out = group.triangulate(group.project(pts))
    assert np.abs(out - pts).max() < 1e-6


def test_missing_views_and_nan(rig):
    pts = _points_in_view(rig, 30, 3)
    p2 = rig.project(pts)
    p2[0, :10] = np.nan  # one view missing: 3 left, still exact
    p2[1:, 20:] = np.nan  # only camera 0 sees these: NaN
    p2[:, 15] = np.nan  # nobody
    out = rig.triangulate(p2)
    assert np.abs(out[:10] - pts[:10]).max() < 1e-6
    assert np.isnan(out[20:]).all() and np.isnan(out[15]).all()
    assert np.isfinite(out[:15]).all() and np.isfinite(out[16:20]).all()
    err = rig.reprojection_error(out, p2, mean=True)
    assert err.shape == (30,) and np.isnan(err[20:]).all() and np.nanmax(err) < 1e-6


def test_weights_zero_drop_a_view(rig):
    pts = _points_in_view(rig, 5, 4)
    p2 = rig.project(pts)
    p2[2] += 40.0  # a wrong view ...
    w = np.ones(p2.shape[:2])
    w[2] = 0.0  # ... with zero weight is ignored
    assert np.abs(rig.triangulate(p2, weights=w) - pts).max() < 1e-6
    assert np.abs(rig.triangulate(p2) - pts).max() > 1.0


def test_shapes_and_errors(rig):
    pt = np.array([10.0, 20.0, 30.0])
    p2 = rig.project(pt)
    assert p2.shape == (4, 1, 2)
    assert rig.triangulate(p2[:, 0]).shape == (3,)
    assert rig.reprojection_error(pt, p2[:, 0]).shape == (4, 2)
    assert rig.cameras[1].project(pt[None]).shape == (1, 1, 2)
    with pytest.raises(ArgumentError, match="cameras"):
        rig.triangulate(p2[:2])
    with pytest.raises(ArgumentError, match="not in the calibration"):
        rig.subset_cameras_names(["camera-1", "nope"])


def test_camera_centre_and_axes():
    rot = rodrigues(np.array([0.1, 0.2, -0.3]))
    centre = np.array([100.0, -50.0, 400.0])
    cam = Camera(np.eye(3), np.zeros(5), (640, 480), cv2.Rodrigues(rot)[0].ravel(),
                 -rot @ centre, "a")
    assert np.allclose(cam.centre, centre)
    g = CameraGroup([cam])
    assert np.allclose(g.centres(), centre[None]) and np.allclose(g.orientations()[0], rot)
