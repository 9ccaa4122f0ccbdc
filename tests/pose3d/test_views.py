"""Arrays for viewers: cameras as frustums, board corners, report rows, the 3D plot."""

from __future__ import annotations

import numpy as np

from markerless.pose3d.detection import detections_from_arrays
from markerless.pose3d.outputs import Points3D
from markerless.pose3d.views import (
    board_corners_yx,
    camera_glyphs,
    plot_trajectories_3d,
    report_rows,
)


def test_camera_glyphs_point_where_the_cameras_look(rig):
    g = camera_glyphs(rig, size=100.0)
    assert g["centres"].shape == (4, 3) and np.allclose(g["centres"], rig.centres()[:, ::-1])
    assert len(g["lines"]) == 4 * 8 and len(g["line_camera"]) == 32
    for c, cam in enumerate(rig.cameras):
        tips = [ln[1][::-1] for ln, owner in zip(g["lines"][::2], g["line_camera"][::2],
                                                  strict=True) if owner == c]
        direction = np.mean(tips, axis=0) - cam.centre
        direction /= np.linalg.norm(direction)
        assert direction @ cam.axes[2] > 0.9  # the frustum opens along the viewing axis


def test_board_corners_and_report_rows(rig, board, board_views, calibrated):
    det = detections_from_arrays(board, rig.get_names(), board_views)
    key = det.cameras[1].found[0]
    yx, ids = board_corners_yx(det, "camera-2", key)
    assert np.allclose(yx[:, ::-1], board_views[1, int(key)][ids])
    rows = report_rows(calibrated[1])
    assert [r["camera"] for r in rows] == rig.get_names()
    assert all(r["error_median_px"] < 0.2 for r in rows)
    from_toml = report_rows(calibrated[0])  # the same table from calibration.toml's metadata
    assert [r["boards_used"] for r in from_toml] == [r["boards_used"] for r in rows]


def test_trajectory_plot(tmp_path):
    t = np.linspace(0, 6, 50)
    pts = np.stack([np.cos(t), np.sin(t), t], -1)[:, None, None] * 10
    res = Points3D(np.concatenate([pts, pts + 5], axis=2), ["a", "b"],
                   skeleton=[("a", "b")])
    fig = plot_trajectories_3d(res, dest=tmp_path / "traj.png", skeleton_every=10)
    assert (tmp_path / "traj.png").stat().st_size > 5000
    assert len(fig.axes[0].lines) == 2 + 5
