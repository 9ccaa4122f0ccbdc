"""Small synthetic rigs shared by the 3D tests (built once per session)."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.pose3d.boards import CharucoBoard
from markerless.synthetic.multicam import board_observations, board_poses, make_rig


@pytest.fixture(scope="session")
def rig():
    return make_rig(4, image_size=(800, 600), radius=600, height=400, seed=0)


@pytest.fixture(scope="session")
def board():
    return CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)


@pytest.fixture(scope="session")
def board_views(rig, board):
    """(C, V, K, 2) corner pixels with 0.1 px noise for 24 board poses."""
    poses = board_poses(board, 24, seed=1)
    return board_observations(rig, board, poses, noise=0.1, seed=2)


@pytest.fixture(scope="session")
def calibrated(rig, board, board_views):
    from markerless.pose3d.calibrate import calibrate_from_detections
    from markerless.pose3d.detection import detections_from_arrays

    det = detections_from_arrays(board, rig.get_names(), board_views,
                                 [c.size for c in rig.cameras])
    return calibrate_from_detections(det)


def rigid_align(src: np.ndarray, dst: np.ndarray):
    """Rotation and translation taking points ``src`` onto ``dst`` (least squares)."""
    cs, cd = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1, 1, d]) @ u.T
    return rot, cd - rot @ cs
