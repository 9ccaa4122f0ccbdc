"""OpenCV's pinhole camera model with its lens distortion, vectorised in numpy.

Why our own and not ``cv2.projectPoints``: triangulation, bundle adjustment and the
reprojection overlay all need projection of millions of points at once and the exact
*inverse* of the distortion (``cv2.undistortPoints`` stops after 5 fixed-point steps,
so project-then-triangulate does not give the points back). The formula is OpenCV's
(``calib3d`` documentation, "Detailed description"), so results equal
``cv2.projectPoints`` to rounding (see ``tests/pose3d/test_camera.py``).

Coefficients, in OpenCV's order: ``k1, k2, p1, p2[, k3[, k4, k5, k6[, s1, s2, s3, s4]]]``
(4, 5, 8 or 12 values; 14 with a zero tilt are accepted). Pixel centres at integer
coordinates, as OpenCV.
"""

from __future__ import annotations

import numpy as np

from markerless.errors import ArgumentError

#: the lengths OpenCV accepts (14 = with the tilted-sensor model, supported only when zero).
VALID_LENGTHS = (4, 5, 8, 12, 14)


def full_coefficients(dist) -> np.ndarray:
    """``dist`` padded to the 12 coefficients of the rational + thin-prism model."""
    d = np.asarray(dist, dtype=np.float64).ravel()
    if d.size == 0:
        return np.zeros(12)
    if d.size not in VALID_LENGTHS:
        raise ArgumentError(f"distortion needs 4, 5, 8, 12 or 14 coefficients, got {d.size}")
    if d.size == 14:
        if np.any(d[12:] != 0):
            raise ArgumentError("the tilted-sensor distortion model (tau_x, tau_y) is not "
                                "supported; recalibrate without CALIB_TILTED_MODEL")
        d = d[:12]
    out = np.zeros(12)
    out[: d.size] = d
    return out


def distort_normalized(xy: np.ndarray, dist) -> np.ndarray:
    """Ideal normalised coordinates (..., 2) -> distorted normalised coordinates (..., 2)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = full_coefficients(dist)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    r4 = r2 * r2
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) + s1 * r2 + s2 * r4
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y + s3 * r2 + s4 * r4
    return np.stack([xd, yd], axis=-1)


def _distort_with_jacobian(x: np.ndarray, y: np.ndarray, c: np.ndarray):
    """Distorted (xd, yd) and the 2x2 Jacobian d(xd, yd)/d(x, y), elementwise."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c
    r2 = x * x + y * y
    r4 = r2 * r2
    num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    radial = num / den
    dnum = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d num / d r2
    dden = k4 + r2 * (2 * k5 + 3 * k6 * r2)
    drad = (dnum * den - num * dden) / (den * den)  # d radial / d r2
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) + s1 * r2 + s2 * r4
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y + s3 * r2 + s4 * r4
    dr2 = 2 * x, 2 * y  # d r2 / d x, d y
    prism_x = s1 + 2 * s2 * r2
    prism_y = s3 + 2 * s4 * r2
    j00 = radial + x * drad * dr2[0] + 2 * p1 * y + p2 * 6 * x + prism_x * dr2[0]
    j01 = x * drad * dr2[1] + 2 * p1 * x + p2 * 2 * y + prism_x * dr2[1]
    j10 = y * drad * dr2[0] + p1 * 2 * x + 2 * p2 * y + prism_y * dr2[0]
    j11 = radial + y * drad * dr2[1] + p1 * 6 * y + 2 * p2 * x + prism_y * dr2[1]
    return xd, yd, j00, j01, j10, j11


def undistort_normalized(xyd: np.ndarray, dist, iterations: int = 30,
                         tol: float = 1e-13) -> np.ndarray:
    """Invert :func:`distort_normalized` by Newton's method, vectorised over points.

    Points where the lens model cannot be inverted (beyond the radius where a strong
    barrel distortion folds back, or no convergence) come back NaN, never as a wrong
    point. NaN input stays NaN.
    """
    c = full_coefficients(dist)
    xyd = np.asarray(xyd, dtype=np.float64)
    if not np.any(c):
        return xyd.copy()
    tx, ty = xyd[..., 0], xyd[..., 1]
    # first guess: divide out the radial part at the distorted radius
    r2 = tx * tx + ty * ty
    guess = 1 + r2 * (c[0] + r2 * (c[1] + r2 * c[4]))
    guess = np.where(guess > 0.2, guess, 1.0)
    x, y = tx / guess, ty / guess
    for _ in range(iterations):
        xd, yd, a, b, cc, d = _distort_with_jacobian(x, y, c)
        fx, fy = xd - tx, yd - ty
        det = a * d - b * cc
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = (d * fx - b * fy) / det
            dy = (a * fy - cc * fx) / det
        # damp huge steps (far outside the image the model is not monotonic)
        step = np.hypot(dx, dy)
        scale = np.where(step > 0.5, 0.5 / np.maximum(step, 1e-300), 1.0)
        x = x - dx * scale
        y = y - dy * scale
        worst = max(np.nanmax(np.abs(fx), initial=0.0), np.nanmax(np.abs(fy), initial=0.0))
        if worst < tol:
            break
    xd, yd, a, b, cc, d = _distort_with_jacobian(x, y, c)
    bad = (np.hypot(xd - tx, yd - ty) > 1e-9) | (a * d - b * cc <= 0)
    out = np.stack([x, y], axis=-1)
    out[bad] = np.nan
    return out


def rodrigues(rvec: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) -> rotation matrices (..., 3, 3) (as ``cv2.Rodrigues``)."""
    r = np.asarray(rvec, dtype=np.float64)
    theta = np.linalg.norm(r, axis=-1)  # (...)
    small = theta < 1e-12
    safe = np.where(small, 1.0, theta)
    k = r / safe[..., None]
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    skew = np.stack([np.stack([zero, -kz, ky], -1), np.stack([kz, zero, -kx], -1),
                     np.stack([-ky, kx, zero], -1)], -2)
    eye = np.broadcast_to(np.eye(3), skew.shape)
    s, c = np.sin(safe)[..., None, None], np.cos(safe)[..., None, None]
    rot = eye + s * skew + (1 - c) * (skew @ skew)
    # first order for tiny angles (keeps the map smooth for numerical Jacobians)
    rx, ry, rz = r[..., 0], r[..., 1], r[..., 2]
    lin = eye + np.stack([np.stack([zero, -rz, ry], -1), np.stack([rz, zero, -rx], -1),
                          np.stack([-ry, rx, zero], -1)], -2)
    return np.where(small[..., None, None], lin, rot)


def rotation_to_rvec(rot: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> rotation vectors (..., 3) (:func:`rodrigues`'s inverse)."""
    from scipy.spatial.transform import Rotation

    rot = np.asarray(rot, dtype=np.float64)
    flat = rot.reshape(-1, 3, 3)
    return Rotation.from_matrix(flat).as_rotvec().reshape(rot.shape[:-2] + (3,))


def project_points(points: np.ndarray, rvec, tvec, matrix, dist) -> np.ndarray:
    """World points (..., 3) -> pixels (..., 2) through one camera (``cv2.projectPoints``)."""
    pts = np.asarray(points, dtype=np.float64)
    rot = rodrigues(np.asarray(rvec, dtype=np.float64))
    cam = pts @ rot.T + np.asarray(tvec, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = cam[..., :2] / cam[..., 2:3]
    xyd = distort_normalized(xy, dist)
    k = np.asarray(matrix, dtype=np.float64)
    u = k[0, 0] * xyd[..., 0] + k[0, 2]
    v = k[1, 1] * xyd[..., 1] + k[1, 2]
    return np.stack([u, v], axis=-1)


def pixels_to_normalized(pixels: np.ndarray, matrix, dist) -> np.ndarray:
    """Pixels (..., 2) -> ideal normalised image coordinates (..., 2) (exact inverse)."""
    k = np.asarray(matrix, dtype=np.float64)
    p = np.asarray(pixels, dtype=np.float64)
    xd = (p[..., 0] - k[0, 2]) / k[0, 0]
    yd = (p[..., 1] - k[1, 2]) / k[1, 1]
    return undistort_normalized(np.stack([xd, yd], axis=-1), dist)
