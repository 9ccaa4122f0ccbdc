"""DeepLabCut's stereo calibration files, so DeepLabCut's own ``triangulate`` can use ours.

``camera_matrix/<camera>_intrinsic_params.pickle``: ``{camera: {"mtx", "dist",
"objpoints", "imgpoints"}}``; ``camera_matrix/stereo_params.pickle``:
``{"<cam1>-<cam2>": {"cameraMatrix1/2", "distCoeffs1/2", "R", "T", "E", "F", "R1", "R2",
"P1", "P2", "Q", "roi1", "roi2", "image_shape"}}`` with OpenCV's meanings (``R``, ``T``
take camera-1 coordinates to camera 2; ``R1``/``P1`` rectify). DeepLabCut's 3D points
are in camera 1's *rectified* frame: ``X_dlc = R1 @ X_cam1``.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from markerless.io.atomic import atomic_write
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.distortion import rotation_to_rvec
from markerless.pose3d.errors import CalibrationError


def _skew(t: np.ndarray) -> np.ndarray:
    return np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])


def stereo_params(group: CameraGroup, alpha: float = 0.4) -> dict:
    """DeepLabCut's ``stereo_params`` entry for the first two cameras of ``group``."""
    import cv2

    if len(group.cameras) < 2:
        raise CalibrationError("stereo parameters need two cameras")
    c1, c2 = group.cameras[:2]
    r1w, r2w = c1.rotation_matrix, c2.rotation_matrix
    R = r2w @ r1w.T
    T = c2.tvec - R @ c1.tvec
    E = _skew(T) @ R
    F = np.linalg.inv(c2.matrix).T @ E @ np.linalg.inv(c1.matrix)
    F = F / F[2, 2] if abs(F[2, 2]) > 1e-15 else F
    size = tuple(int(v) for v in c1.size)
    R1, R2, P1, P2, Q, roi1, roi2 = cv2.stereoRectify(
        c1.matrix, c1.dist, c2.matrix, c2.dist, size, R, T.reshape(3, 1), alpha=alpha)
    return {"cameraMatrix1": c1.matrix.copy(), "cameraMatrix2": c2.matrix.copy(),
            "distCoeffs1": c1.dist.reshape(1, -1).copy(),
            "distCoeffs2": c2.dist.reshape(1, -1).copy(),
            "R": R, "T": T.reshape(3, 1), "E": E, "F": F, "R1": R1, "R2": R2, "P1": P1, "P2": P2,
            "roi1": roi1, "roi2": roi2, "Q": Q, "image_shape": [tuple(c1.size), tuple(c2.size)]}


def _dump(path: Path, obj) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f)

    return atomic_write(path, write, backup=True)


def write_dlc_pickles(group: CameraGroup, folder: str | os.PathLike, alpha: float = 0.4,
                      objpoints: Mapping[str, Sequence[np.ndarray]] | None = None,
                      imgpoints: Mapping[str, Sequence[np.ndarray]] | None = None) -> list[Path]:
    """Write the intrinsic pickles of every camera and the stereo pickle of the first two."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for cam in group.cameras:
        entry = {"mtx": cam.matrix.copy(), "dist": cam.dist.reshape(1, -1).copy(),
                 "objpoints": [np.asarray(o, np.float32)
                               for o in (objpoints or {}).get(cam.name, [])],
                 "imgpoints": [np.asarray(i, np.float32).reshape(-1, 1, 2)
                               for i in (imgpoints or {}).get(cam.name, [])]}
        out.append(_dump(folder / f"{cam.name}_intrinsic_params.pickle", {cam.name: entry}))
    c1, c2 = group.get_names()[:2]
    out.append(_dump(folder / "stereo_params.pickle", {f"{c1}-{c2}": stereo_params(group, alpha)}))
    return out


def read_dlc_pickles(folder: str | os.PathLike,
                     camera_names: Sequence[str] | None = None) -> CameraGroup:
    """A two-camera :class:`CameraGroup` (camera 1 at the origin) from DeepLabCut's pickles."""
    folder = Path(folder)
    path = folder / "stereo_params.pickle"
    try:
        with open(path, "rb") as f:
            params = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise CalibrationError(f"cannot read {str(path)!r}: {err}") from err
    if not params:
        raise CalibrationError(f"{str(path)!r} holds no camera pair")
    key = next(iter(params))
    if camera_names is not None:
        key = f"{camera_names[0]}-{camera_names[1]}"
        if key not in params:
            raise CalibrationError(f"{str(path)!r} has no pair {key!r} (has {list(params)})")
    names = key.split("-", 1) if camera_names is None else list(camera_names[:2])
    if camera_names is None and "-" in key:  # camera names may contain '-' (camera-1-camera-2)
        half = [i for i, ch in enumerate(key) if ch == "-"]
        mid = half[len(half) // 2]
        names = [key[:mid], key[mid + 1:]]
    p = params[key]
    sizes = p.get("image_shape", [None, None])
    cam1 = Camera(p["cameraMatrix1"], np.ravel(p["distCoeffs1"]), sizes[0], np.zeros(3),
                  np.zeros(3), names[0])
    cam2 = Camera(p["cameraMatrix2"], np.ravel(p["distCoeffs2"]), sizes[1],
                  rotation_to_rvec(np.asarray(p["R"])), np.ravel(p["T"]), names[1])
    return CameraGroup([cam1, cam2], {"source": str(path), "units": "mm"})
