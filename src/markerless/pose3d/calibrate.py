"""Calibrate N cameras from board detections: intrinsics, spanning tree, bundle adjustment.

:func:`calibrate_from_detections` is the whole pipeline on detections (from images,
videos or arrays); :func:`markerless.pose3d.project.calibrate_cameras` wraps it with
DeepLabCut's project layout. A calibration is *refused* with a message rather than
returned when a camera shares no view with the others, the geometry is degenerate, or a
camera's median reprojection error exceeds ``max_error``. Seeded and deterministic:
the same detections give the same ``calibration.toml``, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from markerless.pose3d.boards import Board, Checkerboard
from markerless.pose3d.bundle import Observations, bundle_adjust
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.detection import Detections
from markerless.pose3d.distortion import rotation_to_rvec
from markerless.pose3d.errors import CalibrationError
from markerless.pose3d.extrinsics import initial_board_poses, initial_extrinsics, view_poses
from markerless.pose3d.intrinsics import calibrate_intrinsics

#: distortion coefficients that bundle adjustment may change, per model.
FREE_DISTORTION = {"standard": (0, 1, 2, 3, 4), "rational": tuple(range(8)), "radial": (0, 1),
                   "none": ()}


@dataclass
class CameraQuality:
    """One camera's line of the quality report (errors in px, over its inlier corners)."""

    name: str
    boards_found: int
    boards_used: int
    median_error: float
    p95_error: float
    outliers: int
    intrinsic_rms: float
    rms: float = np.nan  # over all of its corners, outliers included

    def as_dict(self) -> dict[str, Any]:
        return {"boards_found": self.boards_found, "boards_used": self.boards_used,
                "error_median": round(self.median_error, 6), "error_p95": round(self.p95_error, 6),
                "outliers": self.outliers, "intrinsic_rms": round(self.intrinsic_rms, 6),
                "rms": round(self.rms, 6)}


@dataclass
class CalibrationReport:
    cameras: list[CameraQuality]
    missing: dict[str, list[str]] = field(default_factory=dict)
    board: dict[str, Any] = field(default_factory=dict)
    max_error: float = np.inf
    thresholds: list[float] = field(default_factory=list)

    @property
    def median_error(self) -> float:
        return float(np.median([c.median_error for c in self.cameras])) if self.cameras else np.nan

    def __str__(self) -> str:
        w = max([6] + [len(c.name) for c in self.cameras])
        lines = [f"{'camera':<{w}}  boards found  used  error median  p95     outliers",
                 "-" * (w + 52)]
        for c in self.cameras:
            lines.append(f"{c.name:<{w}}  {c.boards_found:>12}  {c.boards_used:>4}  "
                         f"{c.median_error:>9.3f} px  {c.p95_error:>6.3f}  {c.outliers:>8}")
        for name, miss in self.missing.items():
            if miss:
                shown = ", ".join(miss[:8]) + (f" (+{len(miss) - 8})" if len(miss) > 8 else "")
                lines.append(f"{name}: no board in {shown}")
        return "\n".join(lines)


def _observations(det: Detections, obj: np.ndarray, poses, view_index: dict[str, int]):
    cam, view, corner, px = [], [], [], []
    for c, cd in enumerate(det.cameras):
        for key, ids, pts in zip(cd.keys, cd.ids, cd.corners, strict=True):
            if key not in poses[c] or key not in view_index:
                continue
            cam.append(np.full(len(ids), c))
            view.append(np.full(len(ids), view_index[key]))
            corner.append(ids)
            px.append(pts)
    if not cam:
        raise CalibrationError("no usable board views to calibrate with")
    return Observations(np.concatenate(cam), np.concatenate(view), np.concatenate(corner),
                        np.concatenate(px))


def _agree_on_corner_order(det: Detections, obj: np.ndarray, boards, intr, rots, ts) -> None:
    """A rectangular checkerboard can be found in either of two orders (rotated by 180
    degrees); per view, reverse the cameras whose order disagrees with the board pose that
    the other cameras imply, so all cameras label each corner alike."""
    from markerless.pose3d.distortion import project_points, rodrigues

    for c, cd in enumerate(det.cameras):
        rvec_c = rotation_to_rvec(rots[c])
        for i, key in enumerate(cd.keys):
            if key not in boards or len(cd.ids[i]) != len(obj):
                continue
            rb = rodrigues(boards[key][0])
            world = obj @ rb.T + boards[key][1]
            pred = project_points(world, rvec_c, ts[c], intr[c].matrix, intr[c].dist)
            fwd = np.nanmedian(np.linalg.norm(pred - cd.corners[i], axis=1))
            rev = np.nanmedian(np.linalg.norm(pred - cd.corners[i][::-1], axis=1))
            if rev < 0.5 * fwd:
                cd.corners[i] = cd.corners[i][::-1].copy()


def calibrate_from_detections(det: Detections, distortion: str = "standard",
                              refine_intrinsics: bool = True, max_error: float = 1.5,
                              max_tilt: float = 70.0, min_shared: int = 2, seed: int = 0,
                              sizes: dict[str, tuple[int, int]] | None = None,
                              verbose: bool = False) -> tuple[CameraGroup, CalibrationReport]:
    """Cameras (in ``det``'s order, the first one at the world origin) and their report.

    ``max_error`` (px): refuse when a camera's median reprojection error is above it.
    ``max_tilt`` (degrees): shared views seen more obliquely than this by either camera do
    not count towards linking two cameras.
    """
    board: Board = det.board
    obj = board.object_points()
    W = obj[:, 0].max() / 2
    H = obj[:, 1].max() / 2
    centre = np.array([W, H, 0.0])
    names = det.names
    intr, poses = [], []
    for cd in det.cameras:
        size = (sizes or {}).get(cd.name) or cd.size
        if size is None:
            raise CalibrationError(f"camera {cd.name!r}: image size unknown")
        found = [i for i, ids in enumerate(cd.ids) if len(ids) >= 6]
        it = calibrate_intrinsics(cd.name, size, [obj[cd.ids[i]] for i in found],
                                  [cd.corners[i] for i in found], [cd.keys[i] for i in found],
                                  distortion=distortion, seed=seed)
        intr.append(it)
        poses.append(view_poses(obj, cd.keys, cd.ids, cd.corners, it.matrix, it.dist, centre))
        if verbose:
            print(f"{cd.name}: intrinsics from {len(it.keys)} views, RMS {it.rms:.3f} px")
    rots, ts, _ = initial_extrinsics(names, poses, max_tilt=max_tilt, min_shared=min_shared)
    keys = sorted({k for p in poses for k in p}, key=lambda k: (len(k), k))
    boards = initial_board_poses(keys, poses, rots, ts)
    keys = [k for k in keys if k in boards]
    if isinstance(board, Checkerboard):
        _agree_on_corner_order(det, obj, boards, intr, rots, ts)
    view_index = {k: i for i, k in enumerate(keys)}
    obs = _observations(det, obj, poses, view_index)
    n_dist = max(len(i.dist) for i in intr)
    dists = np.zeros((len(intr), n_dist))
    for c, i in enumerate(intr):
        dists[c, : len(i.dist)] = i.dist
    res = bundle_adjust(
        obs, obj, rotation_to_rvec(rots), ts, np.array([i.matrix for i in intr]), dists,
        np.array([boards[k][0] for k in keys]), np.array([boards[k][1] for k in keys]),
        refine_intrinsics=refine_intrinsics, free_dist=FREE_DISTORTION[distortion])
    quality = []
    for c, cd in enumerate(det.cameras):
        mine = obs.cam == c
        good = mine & res.inliers
        e = res.errors[good]
        quality.append(CameraQuality(
            cd.name, len(cd.found), int(len(np.unique(obs.view[good]))),
            float(np.median(e)) if e.size else np.inf,
            float(np.percentile(e, 95)) if e.size else np.inf,
            int((mine & ~res.inliers).sum()), intr[c].rms,
            float(np.sqrt(np.mean(res.errors[mine] ** 2))) if mine.any() else np.inf))
    report = CalibrationReport(quality, {cd.name: cd.missing for cd in det.cameras},
                               board.description(), max_error, res.thresholds)
    cams = []
    for c, cd in enumerate(det.cameras):
        size = (sizes or {}).get(cd.name) or cd.size
        cams.append(Camera(res.matrices[c], res.dists[c, : len(intr[c].dist)], size,
                           res.rvecs[c], res.tvecs[c], cd.name))
    meta = {"units": "mm", "adjusted": True, "error": round(report.median_error, 6),
            "distortion_model": distortion, "calibrated_by": "markerless",
            "board": {k: v for k, v in board.description().items() if k != "units"},
            "quality": {q.name: q.as_dict() for q in quality}}
    group = CameraGroup(cams, meta)
    bad = [q for q in quality if not q.median_error <= max_error]
    if bad:
        worst = ", ".join(f"{q.name!r} ({q.median_error:.2f} px)" for q in bad)
        raise CalibrationError(
            f"Calibration refused: median reprojection error above {max_error} px for {worst}. "
            "Check the board description (square size, rows/columns, legacy pattern), the "
            "synchronisation of the views and the detections; pass a larger max_error only "
            f"if you accept it.\n{report}", report)
    return group, report


# --- the project-level API (DeepLabCut's name and leading arguments) --------------------------
def _draw_corners(det: Detections, folder) -> None:
    """DeepLabCut's ``corners/<image>_corner.jpg`` for checking the detections by eye."""
    from pathlib import Path

    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for cd in det.cameras:
        for src, ids, pts in zip(cd.sources, cd.ids, cd.corners, strict=True):
            p = Path(src)
            if not p.is_file() or not len(ids):
                continue
            img = cv2.imread(str(p))
            for k, (x, y) in zip(ids.tolist(), pts.tolist(), strict=True):
                cv2.circle(img, (round(x), round(y)), 4, (0, 0, 255), 1, cv2.LINE_AA)
                cv2.putText(img, str(k), (round(x) + 4, round(y) - 4), cv2.FONT_HERSHEY_SIMPLEX,
                            0.35, (0, 255, 0), 1, cv2.LINE_AA)
            cv2.imwrite(str(folder / f"{p.stem}_corner.jpg"), img)


def calibrate_cameras(config, cbrow: int = 8, cbcol: int = 6, calibrate: bool = False,
                      alpha: float = 0.4, search_window_size=(11, 11), *, images=None,
                      videos=None, square_size: float | None = None, every: int | None = None,
                      n_frames: int | None = None, distortion: str = "standard",
                      max_error: float = 1.5, max_tilt: float = 70.0, seed: int = 0,
                      progress: bool = True, verbose: bool = True):
    """Detect the board in every camera's calibration images (or videos) and calibrate.

    As DeepLabCut: with ``calibrate=False`` only detect (and draw the corners into
    ``corners/`` to check them); with ``calibrate=True`` also calibrate, write the
    calibration (``calibration_file``, anipose's calibration.toml) and, for two cameras,
    DeepLabCut's ``camera_matrix/*_intrinsic_params.pickle`` and ``stereo_params.pickle``.
    Works for any number of cameras.

    Views default to ``calibration_images/`` with the camera names in the file names
    (DeepLabCut's layout); ``images={camera: folder or files}`` or
    ``videos={camera: video}`` (frames sampled every ``every`` frames or ``n_frames``
    evenly) point elsewhere. The board is the config's ``calibration_board``; ``cbrow`` x
    ``cbcol`` inner corners and ``square_size`` (mm) describe a checkerboard otherwise.

    Returns the detections (``calibrate=False``) or the quality report.
    Raises :class:`~markerless.pose3d.errors.CalibrationError` for a calibration that
    must not be used (see :func:`calibrate_from_detections`).
    """
    from markerless.pose3d.detection import detect_boards, images_by_camera
    from markerless.pose3d.project import calibration_path, project_board, read_config3d

    cfg, project = read_config3d(config)
    names = list(cfg["camera_names"])
    board = project_board(cfg, cbrow, cbcol, square_size)
    if videos is not None:
        sources = {n: videos[n] for n in names}
    elif images is not None:
        sources = {n: images[n] for n in names}
    else:
        sources = images_by_camera(project / "calibration_images", names)
    empty = [n for n in names if isinstance(sources.get(n), list) and not sources[n]]
    if empty:
        raise CalibrationError(
            f"no calibration images for camera(s) {empty} in "
            f"{str(project / 'calibration_images')!r}: name them with the camera name "
            f"(e.g. {names[0]}-01.jpg), or pass images= / videos=")
    det = detect_boards(board, sources, cache_dir=project / "corners", every=every,
                        n_frames=n_frames, progress=progress)
    if verbose:
        print(det.report())
    if not calibrate:
        if videos is None:
            _draw_corners(det, project / "corners")
        return det
    group, report = calibrate_from_detections(det, distortion=distortion, max_error=max_error,
                                              max_tilt=max_tilt, seed=seed)
    if verbose:
        print(report)
    out = calibration_path(cfg, project)
    out.parent.mkdir(parents=True, exist_ok=True)
    group.dump(out)
    if len(group.cameras) == 2:
        from markerless.pose3d.dlc_pickles import write_dlc_pickles

        obj = board.object_points()
        objp = {cd.name: [obj[i] for i in cd.ids if len(i)] for cd in det.cameras}
        imgp = {cd.name: [c for c in cd.corners if len(c)] for cd in det.cameras}
        write_dlc_pickles(group, project / "camera_matrix", alpha, objp, imgp)
    return report
