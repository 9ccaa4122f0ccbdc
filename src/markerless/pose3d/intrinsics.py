"""Each camera's intrinsics from its own board views (``cv2.calibrateCamera``).

OpenCV's full model with a free principal point and separate fx, fy (anipose fixes the
principal point at the image centre and keeps only k1). ``distortion`` picks the
coefficients: ``"standard"`` (k1, k2, p1, p2, k3; the default), ``"rational"``
(+ k4, k5, k6: wide-angle lenses), ``"radial"`` (k1, k2 only: few views) or ``"none"``.
Views whose own error is far above the others' (a mis-detected board) are dropped and
the camera is calibrated again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from markerless.errors import ArgumentError
from markerless.pose3d.errors import CalibrationError

DISTORTION_MODELS = ("standard", "rational", "radial", "none")


def _flags(model: str) -> int:
    import cv2

    if model == "standard":
        return 0
    if model == "rational":
        return cv2.CALIB_RATIONAL_MODEL
    if model == "radial":
        return cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K3
    if model == "none":
        return (cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2
                | cv2.CALIB_FIX_K3)
    raise ArgumentError(f"unknown distortion model {model!r}; choose one of "
                        + ", ".join(DISTORTION_MODELS))


@dataclass
class Intrinsics:
    """A camera's ``matrix`` (3, 3), ``dist`` and the views used (``keys``) with each view's
    board pose (``rvecs``, ``tvecs``: board -> camera) and RMS error (px)."""

    matrix: np.ndarray
    dist: np.ndarray
    keys: list[str]
    rvecs: np.ndarray
    tvecs: np.ndarray
    view_errors: np.ndarray
    rms: float


def calibrate_intrinsics(name: str, size: tuple[int, int], object_points: list[np.ndarray],
                         image_points: list[np.ndarray], keys: list[str],
                         distortion: str = "standard", max_views: int = 60,
                         seed: int = 0) -> Intrinsics:
    """Calibrate one camera from its views (object (k, 3) mm and image (k, 2) px per view)."""
    import cv2

    flags = _flags(distortion)
    usable = [i for i, o in enumerate(object_points) if len(o) >= 6]
    if len(usable) < 3:
        raise CalibrationError(
            f"camera {name!r}: the board was found in only {len(usable)} image(s); at least 3 "
            "(better 15 or more, at varied angles) are needed to calibrate its lens")
    if len(usable) > max_views:  # spread the subset over the recording, seeded
        rng = np.random.default_rng(seed)
        usable = sorted(rng.choice(usable, size=max_views, replace=False).tolist())
    keep = usable
    crit = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-10)
    for attempt in range(2):
        obj = [object_points[i].astype(np.float32) for i in keep]
        img = [image_points[i].astype(np.float32).reshape(-1, 1, 2) for i in keep]
        try:
            rms, k, d, rv, tv, _, _, per_view = cv2.calibrateCameraExtended(
                obj, img, tuple(int(v) for v in size), None, None, flags=flags, criteria=crit)
        except cv2.error as err:
            raise CalibrationError(f"camera {name!r}: OpenCV could not calibrate the lens "
                                   f"({str(err).strip().splitlines()[-1]}); check the board's "
                                   "description and the detections") from err
        per_view = per_view.ravel()
        if attempt == 1:
            break
        med = float(np.median(per_view))
        good = per_view <= max(3.0 * med, 0.5)
        if good.all() or good.sum() < 3:
            break
        keep = [i for i, g in zip(keep, good, strict=True) if g]
    dist = d.ravel()
    dist = dist[:8] if distortion == "rational" else dist[:5]
    return Intrinsics(k, dist, [keys[i] for i in keep], np.array(rv).reshape(-1, 3),
                      np.array(tv).reshape(-1, 3), per_view, float(rms))
