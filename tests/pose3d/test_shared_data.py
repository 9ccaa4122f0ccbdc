"""The real rigs in ../shared/data (skipped when absent): DeepLabCut's stereo pairs and
sleap-anipose's 4-camera ChArUco session."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from markerless.pose3d.boards import Checkerboard, board_from_dict
from markerless.pose3d.calibrate import calibrate_from_detections
from markerless.pose3d.detection import detect_boards, images_by_camera

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.shared


def corner_spacing(group, det, board) -> np.ndarray:
    """Distances (mm) between neighbouring triangulated corners of every shared view."""
    a, b = det.cameras
    keys = sorted(set(a.found) & set(b.found))
    out = []
    for k in keys:
        ia, pa = a.get(k)
        ib, pb = b.get(k)
        if len(ia) != board.n_corners or len(ib) != board.n_corners:
            continue
        pts = group.triangulate(np.stack([pa, pb])).reshape(board.squares_y, board.squares_x, 3)
        out.append(np.linalg.norm(np.diff(pts, axis=1), axis=-1).ravel())
        out.append(np.linalg.norm(np.diff(pts, axis=0), axis=-1).ravel())
    return np.concatenate(out)


def test_dlc_stereo_pairs(stereo_dir, tmp_path):
    from scipy.io import loadmat

    board = Checkerboard(9, 6, 30.0)
    det = detect_boards(board, images_by_camera(stereo_dir, ["left", "right"]),
                        cache_dir=tmp_path)
    assert det.counts() == {"left": 14, "right": 14}
    group, report = calibrate_from_detections(det)
    assert all(q.median_error < 0.5 for q in report.cameras)
    for cam in group.cameras:
        fc = loadmat(stereo_dir / f"Calib_Results_{cam.name}.mat")["fc"].ravel()
        assert abs(cam.matrix[0, 0] / fc[0] - 1) < 0.01  # Bouguet's focal length
    spacing = corner_spacing(group, det, board)
    assert abs(np.median(spacing) / 30.0 - 1) < 0.005


def test_sleap_anipose_session(anipose_session, tmp_path):
    from markerless.pose3d.camera import CameraGroup
    from markerless.pose3d.inputs import read_2d
    from markerless.pose3d.triangulate import triangulate_poses

    cams = ["back", "mid", "side", "top"]
    board = board_from_dict(tomllib.loads((anipose_session / "board.toml").read_text()))
    sources = {c: sorted((anipose_session / c / "calibration_images").glob("*.jpg"))
               for c in cams}
    det = detect_boards(board, sources, cache_dir=tmp_path)
    assert all(n >= 20 for n in det.counts().values())
    group, report = calibrate_from_detections(det)
    assert all(q.median_error < 0.5 for q in report.cameras)
    poses = {c: read_2d(anipose_session / c / f"minimal_{c}_proofread.analysis.h5")
             for c in cams}
    ours = triangulate_poses(group, poses, method="ransac", ransac_threshold=15)
    assert np.nanmedian(ours.error) < 6.0
    shipped = CameraGroup.load(anipose_session / "calibration.toml", validate=False)
    assert np.nanmedian(triangulate_poses(shipped, poses).error) > 20  # its defect
