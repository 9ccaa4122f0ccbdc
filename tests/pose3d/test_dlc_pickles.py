"""DeepLabCut's stereo pickles: round trip, and DeepLabCut's own triangulation recipe."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.pose3d.dlc_pickles import read_dlc_pickles, write_dlc_pickles

cv2 = pytest.importorskip("cv2")


def test_round_trip(tmp_path, rig):
    pair = rig.subset_cameras([0, 1])
    write_dlc_pickles(pair, tmp_path)
    back = read_dlc_pickles(tmp_path)
    assert back.get_names() == ["camera-1", "camera-2"]
    pts = np.random.default_rng(0).uniform(-100, 100, size=(30, 3))
    # back is expressed in camera 1's frame
    in_cam1 = pts @ pair.cameras[0].rotation_matrix.T + pair.cameras[0].tvec
    assert np.abs(back.project(in_cam1) - pair.project(pts)).max() < 1e-6


def test_deeplabcut_triangulation_gives_our_points(tmp_path, rig):
    import pickle

    pair = rig.subset_cameras([0, 1])
    write_dlc_pickles(pair, tmp_path)
    with open(tmp_path / "stereo_params.pickle", "rb") as f:
        sp = pickle.load(f)["camera-1-camera-2"]
    pts = np.random.default_rng(1).uniform(-100, 100, size=(25, 3))
    px = pair.project(pts)
    # DeepLabCut: undistortPoints(R=R_i, P=P_i), then triangulatePoints(P1, P2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    und = [cv2.undistortPoints(px[i].reshape(-1, 1, 2), sp[f"cameraMatrix{i + 1}"],
                               sp[f"distCoeffs{i + 1}"], R=sp[f"R{i + 1}"], P=sp[f"P{i + 1}"],
                               criteria=crit) for i in range(2)]
    h = cv2.triangulatePoints(sp["P1"], sp["P2"], und[0][:, 0].T, und[1][:, 0].T)
    dlc = (h[:3] / h[3]).T
    ours = pair.triangulate(px)
    cam1 = ours @ pair.cameras[0].rotation_matrix.T + pair.cameras[0].tvec
    assert np.abs(dlc - cam1 @ sp["R1"].T).max() < 1e-3  # DLC: camera 1's rectified frame
