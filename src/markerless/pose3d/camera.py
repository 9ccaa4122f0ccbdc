"""``Camera`` and ``CameraGroup``: aniposelib's names and array shapes, without aniposelib.

An anipose user finds the same methods (``CameraGroup.load(toml)``, ``dump``,
``project(points3d (N, 3)) -> (n_cams, N, 2)``, ``triangulate(points2d (n_cams, N, 2))
-> (N, 3)``, ``reprojection_error``, ``cameras[i].name``, ``get_names``,
``subset_cameras_names``...), but no dependency on aniposelib, which needs the
non-headless OpenCV. Projection is OpenCV's model (:mod:`.distortion`); world units are
the calibration board's (mm).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from markerless.errors import ArgumentError
from markerless.pose3d.distortion import (
    distort_normalized,
    pixels_to_normalized,
    project_points,
    rodrigues,
)


class Camera:
    """One calibrated camera: intrinsics (matrix, distortions, size) and pose (world -> camera).

    ``x_cam = R(rvec) @ X_world + tvec``, as OpenCV and anipose.
    """

    def __init__(self, matrix=None, dist=None, size=None, rvec=None, tvec=None,
                 name: str | None = None):
        self.set_camera_matrix(np.eye(3) if matrix is None else matrix)
        self.set_distortions(np.zeros(5) if dist is None else dist)
        self.set_size(size)
        self.set_rotation(np.zeros(3) if rvec is None else rvec)
        self.set_translation(np.zeros(3) if tvec is None else tvec)
        self.set_name(name)

    # --- aniposelib's accessors -------------------------------------------------------
    def get_camera_matrix(self) -> np.ndarray:
        return self.matrix

    def set_camera_matrix(self, matrix) -> None:
        m = np.array(matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise ArgumentError(f"camera matrix must be 3x3, got shape {m.shape}")
        self.matrix = m

    def get_distortions(self) -> np.ndarray:
        return self.dist

    def set_distortions(self, dist) -> None:
        self.dist = np.array(dist, dtype=np.float64).ravel()

    def get_rotation(self) -> np.ndarray:
        return self.rvec

    def set_rotation(self, rvec) -> None:
        self.rvec = np.array(rvec, dtype=np.float64).ravel()

    def get_translation(self) -> np.ndarray:
        return self.tvec

    def set_translation(self, tvec) -> None:
        self.tvec = np.array(tvec, dtype=np.float64).ravel()

    def get_name(self) -> str:
        return self.name

    def set_name(self, name) -> None:
        self.name = "" if name is None else str(name)

    def get_size(self):
        """(width, height) in pixels, or None."""
        return self.size

    def set_size(self, size) -> None:
        self.size = None if size is None else tuple(int(v) for v in size)

    def get_focal_length(self, both: bool = False):
        fx, fy = self.matrix[0, 0], self.matrix[1, 1]
        return (fx, fy) if both else (fx + fy) / 2.0

    def get_extrinsics_mat(self) -> np.ndarray:
        """4x4 world -> camera transform."""
        out = np.eye(4)
        out[:3, :3] = self.rotation_matrix
        out[:3, 3] = self.tvec
        return out

    # --- geometry ---------------------------------------------------------------------
    @property
    def rotation_matrix(self) -> np.ndarray:
        return rodrigues(self.rvec)

    @property
    def centre(self) -> np.ndarray:
        """The camera's optical centre in world coordinates (for drawing it)."""
        return -self.rotation_matrix.T @ self.tvec

    @property
    def axes(self) -> np.ndarray:
        """(3, 3): rows are the camera's x (right), y (down) and z (viewing) axes in the world."""
        return self.rotation_matrix

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> pixels (N, 1, 2) (aniposelib's shape for one camera)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return project_points(pts, self.rvec, self.tvec, self.matrix, self.dist)[:, None, :]

    def reprojection_error(self, p3d: np.ndarray, p2d: np.ndarray) -> np.ndarray:
        p2d = np.asarray(p2d, dtype=np.float64)
        return p2d - self.project(p3d).reshape(p2d.shape)

    def undistort_points(self, points: np.ndarray) -> np.ndarray:
        """Pixels -> ideal normalised image coordinates (same shape); NaN where not invertible."""
        pts = np.asarray(points, dtype=np.float64)
        return pixels_to_normalized(pts.reshape(-1, 2), self.matrix, self.dist).reshape(pts.shape)

    def distort_points(self, points: np.ndarray) -> np.ndarray:
        """Ideal normalised coordinates -> pixels (same shape)."""
        pts = np.asarray(points, dtype=np.float64)
        xyd = distort_normalized(pts.reshape(-1, 2), self.dist)
        k = self.matrix
        out = np.stack([k[0, 0] * xyd[:, 0] + k[0, 2], k[1, 1] * xyd[:, 1] + k[1, 2]], -1)
        return out.reshape(pts.shape)

    # --- (de)serialisation --------------------------------------------------------------
    def get_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": [int(v) for v in self.size] if self.size is not None else [0, 0],
            "matrix": self.matrix.tolist(),
            "distortions": self.dist.tolist(),
            "rotation": self.rvec.tolist(),
            "translation": self.tvec.tolist(),
        }

    def load_dict(self, d: Mapping[str, Any]) -> None:
        self.set_camera_matrix(d["matrix"])
        self.set_distortions(d["distortions"])
        self.set_rotation(d["rotation"])
        self.set_translation(d["translation"])
        self.set_name(d["name"])
        self.set_size(d.get("size"))

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Camera:
        cam = Camera()
        cam.load_dict(d)
        return cam

    def copy(self) -> Camera:
        return Camera(self.matrix.copy(), self.dist.copy(), self.size, self.rvec.copy(),
                      self.tvec.copy(), self.name)

    def __repr__(self) -> str:
        fx, fy = self.get_focal_length(both=True)
        return (f"Camera(name={self.name!r}, size={self.size}, f=({fx:.1f}, {fy:.1f}), "
                f"centre={np.round(self.centre, 1).tolist()})")


class CameraGroup:
    """Cameras in a fixed order (the calibration file's order, ``cam_N`` numerically)."""

    def __init__(self, cameras: Sequence[Camera], metadata: Mapping[str, Any] | None = None):
        self.cameras = list(cameras)
        self.metadata = dict(metadata or {})

    # --- construction and files ------------------------------------------------------
    @staticmethod
    def load(fname: str | os.PathLike, validate: bool = True) -> CameraGroup:
        """Read an anipose ``calibration.toml`` (see :mod:`.calibration_toml`)."""
        from markerless.pose3d.calibration_toml import read_calibration

        return read_calibration(fname, validate=validate)

    def dump(self, fname: str | os.PathLike) -> None:
        """Write an anipose ``calibration.toml`` (atomically)."""
        from markerless.pose3d.calibration_toml import write_calibration

        write_calibration(self, fname)

    @staticmethod
    def from_dicts(arr: Sequence[Mapping[str, Any]]) -> CameraGroup:
        return CameraGroup([Camera.from_dict(d) for d in arr])

    @staticmethod
    def from_names(names: Sequence[str]) -> CameraGroup:
        return CameraGroup([Camera(name=n) for n in names])

    def get_dicts(self) -> list[dict[str, Any]]:
        return [c.get_dict() for c in self.cameras]

    def copy(self) -> CameraGroup:
        return CameraGroup([c.copy() for c in self.cameras], dict(self.metadata))

    # --- names and subsets -------------------------------------------------------------
    def get_names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def set_names(self, names: Sequence[str]) -> None:
        for cam, name in zip(self.cameras, names, strict=True):
            cam.set_name(name)

    def __len__(self) -> int:
        return len(self.cameras)

    def subset_cameras(self, indices: Sequence[int]) -> CameraGroup:
        return CameraGroup([self.cameras[i].copy() for i in indices], self.metadata)

    def subset_cameras_names(self, names: Sequence[str]) -> CameraGroup:
        return self.subset_cameras(self.indices(names))

    def indices(self, names: Sequence[str]) -> list[int]:
        """Positions of ``names``; a clear error naming the unknown camera."""
        have = self.get_names()
        out = []
        for name in names:
            if name not in have:
                raise ArgumentError(f"camera {name!r} is not in the calibration (cameras: "
                                    f"{', '.join(have)})")
            out.append(have.index(name))
        return out

    def get_rotations(self) -> np.ndarray:
        return np.array([c.rvec for c in self.cameras])

    def get_translations(self) -> np.ndarray:
        return np.array([c.tvec for c in self.cameras])

    def set_rotations(self, rvecs) -> None:
        for cam, r in zip(self.cameras, rvecs, strict=True):
            cam.set_rotation(r)

    def set_translations(self, tvecs) -> None:
        for cam, t in zip(self.cameras, tvecs, strict=True):
            cam.set_translation(t)

    def centres(self) -> np.ndarray:
        """(n_cams, 3) camera positions in world coordinates (mm)."""
        return np.array([c.centre for c in self.cameras]).reshape(-1, 3)

    def orientations(self) -> np.ndarray:
        """(n_cams, 3, 3): each camera's x, y and viewing axes in world coordinates."""
        return np.array([c.axes for c in self.cameras]).reshape(-1, 3, 3)

    def extrinsics(self) -> np.ndarray:
        """(n_cams, 3, 4) ``[R | t]`` of every camera (normalised projection matrices)."""
        return np.array([c.get_extrinsics_mat()[:3] for c in self.cameras]).reshape(-1, 3, 4)

    # --- projection and triangulation -------------------------------------------------
    def _check_cams(self, points: np.ndarray, what: str) -> None:
        if points.shape[0] != len(self.cameras):
            raise ArgumentError(f"{what}: the first axis must be the {len(self.cameras)} "
                                f"cameras ({', '.join(self.get_names())}), got shape "
                                f"{points.shape}")

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> pixels (n_cams, N, 2); any leading shape (..., 3) works."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.shape[-1] != 3:
            raise ArgumentError(f"points must end in 3 coordinates, got shape {pts.shape}")
        if pts.ndim == 1 or (pts.ndim == 3 and pts.shape[1] == 1):
            pts = pts.reshape(-1, 3)
        return np.stack([project_points(pts, c.rvec, c.tvec, c.matrix, c.dist)
                         for c in self.cameras])

    def undistort(self, points2d: np.ndarray) -> np.ndarray:
        """Pixels (n_cams, ..., 2) -> normalised image coordinates, per camera."""
        p = np.asarray(points2d, dtype=np.float64)
        self._check_cams(p, "points2d")
        return np.stack([pixels_to_normalized(p[i], c.matrix, c.dist)
                         for i, c in enumerate(self.cameras)])

    def triangulate(self, points: np.ndarray, undistort: bool = True, progress: bool = False,
                    weights: np.ndarray | None = None, **_: Any) -> np.ndarray:
        """Linear (DLT) triangulation: (n_cams, N, 2) pixels -> (N, 3); NaN marks missing.

        A point seen by fewer than 2 cameras is NaN. ``weights`` (n_cams, N), e.g. the 2D
        likelihoods, weight each view's equations. A single point (n_cams, 2) gives (3,).
        """
        from markerless.pose3d.triangulation import dlt

        p = np.asarray(points, dtype=np.float64)
        self._check_cams(p, "points2d")
        one = p.ndim == 2
        if one:
            p = p[:, None, :]
        norm = self.undistort(p) if undistort else p
        out = dlt(norm, self.extrinsics(), weights)
        return out[0] if one else out

    def triangulate_ransac(self, points: np.ndarray, undistort: bool = True, min_cams: int = 2,
                           progress: bool = False, threshold: float = 10.0):
        """RANSAC over camera subsets (vectorised); anipose's return values.

        Returns ``(points3d (N, 3), picked (n_cams, N, 1) bool, points2d_used (n_cams, N, 2),
        errors (N,))``.
        """
        from markerless.pose3d.triangulation import ransac

        p = np.asarray(points, dtype=np.float64)
        self._check_cams(p, "points2d")
        res = ransac(self, p, threshold=threshold, min_cams=min_cams)
        used = np.where(res.inliers[..., None], p, np.nan)
        return res.points, res.inliers[..., None], used, res.error

    def triangulate_optim(self, points: np.ndarray, init_ransac: bool = False,
                          constraints: Sequence[Sequence[int]] = (), **kwargs: Any) -> np.ndarray:
        """(n_cams, n_frames, n_joints, 2) -> (n_frames, n_joints, 3) with temporal smoothness
        and constant bone lengths (``constraints``: joint index pairs), as anipose's ``optim``."""
        from markerless.pose3d.optim import triangulate_optim

        return triangulate_optim(self, np.asarray(points, dtype=np.float64),
                                 constraints=constraints, init_ransac=init_ransac,
                                 **kwargs).points

    def reprojection_error(self, p3ds: np.ndarray, p2ds: np.ndarray, mean: bool = False):
        """(N, 3) and (n_cams, N, 2) -> (n_cams, N, 2) errors, or with ``mean`` the mean
        error norm per point over the cameras that see it (NaN when fewer than 2)."""
        p3 = np.asarray(p3ds, dtype=np.float64)
        p2 = np.asarray(p2ds, dtype=np.float64)
        one = p3.ndim == 1
        if one:
            p3, p2 = p3[None], p2[:, None]
        self._check_cams(p2, "p2ds")
        errors = p2 - self.project(p3)
        if not mean:
            return errors[:, 0] if one else errors
        norm = np.linalg.norm(errors, axis=-1)
        good = ~np.isnan(norm)
        denom = good.sum(axis=0).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(denom >= 2, np.where(good, norm, 0).sum(axis=0) / denom, np.nan)
        return float(out[0]) if one else out

    def average_error(self, p2ds: np.ndarray, median: bool = False) -> float:
        p3ds = self.triangulate(p2ds)
        errors = self.reprojection_error(p3ds, p2ds, mean=True)
        return float(np.nanmedian(errors) if median else np.nanmean(errors))

    def __repr__(self) -> str:
        return f"CameraGroup({self.get_names()})"
