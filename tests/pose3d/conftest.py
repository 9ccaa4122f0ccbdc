"""Small synthetic rigs shared by the 3D tests (built once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.pose3d.boards import CharucoBoard
from markerless.synthetic.multicam import board_observations, board_poses, make_rig

SHARED_DATA = Path(os.environ.get("MARKERLESS_SHARED_DATA",
                                  Path(__file__).resolve().parents[3] / "shared" / "data"))


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data set {name!r} not found at {path} (set MARKERLESS_SHARED_DATA)")
    return path


@pytest.fixture
def stereo_dir() -> Path:
    """DeepLabCut's 2-camera example: 14 checkerboard pairs, 9 x 6 corners, 30 mm."""
    return _shared("dlc-stereo-checkerboard")


@pytest.fixture
def anipose_session() -> Path:
    """sleap-anipose's minimal session: 4 cameras, ChArUco images, one tracked mouse."""
    return _shared("sleap-anipose-minimal-session")


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
