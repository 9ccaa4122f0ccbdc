"""What a viewer needs from 3D results, as plain arrays (the napari layer stays thin).

napari orders axes ``(t, z, y, x)``: world x, y, z (mm) become the last three axes
reversed. :class:`~markerless.pose3d.outputs.Points3D` gives the points, skeleton and
per-camera reprojections; here are the cameras (positions and viewing directions, as
frustum lines), a calibration's board corners and report rows, and a 3D trajectory plot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.pose3d.camera import CameraGroup
from markerless.pose3d.detection import Detections


def camera_glyphs(group: CameraGroup, size: float | None = None) -> dict[str, Any]:
    """Per camera its centre and a small frustum, in napari's ``(z, y, x)`` order.

    ``size`` (mm, default a tenth of the rig's extent) is the frustum's depth. Returns
    ``centres`` (C, 3), ``names``, ``lines`` (list of (2, 3) segments: 4 edges from the
    centre to the image corners and the image rectangle) and ``line_camera`` (camera index
    of each segment).
    """
    centres = group.centres()
    if size is None:
        spread = np.ptp(centres, axis=0).max() if len(centres) > 1 else 1000.0
        size = max(float(spread) / 10, 1.0)
    lines, owner = [], []
    for c, cam in enumerate(group.cameras):
        w, h = cam.size or (2 * cam.matrix[0, 2], 2 * cam.matrix[1, 2])
        corners_px = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
        rays = cam.undistort_points(corners_px)
        rays = np.where(np.isfinite(rays), rays,
                        (corners_px - cam.matrix[[0, 1], [2, 2]]) / cam.matrix[[0, 1], [0, 1]])
        cam_pts = np.concatenate([rays, np.ones((4, 1))], axis=1) * size
        world = (cam_pts - cam.tvec) @ cam.rotation_matrix  # R^T (p - t)
        o = cam.centre
        for k in range(4):
            lines.append(np.array([o, world[k]])[:, ::-1])
            lines.append(np.array([world[k], world[(k + 1) % 4]])[:, ::-1])
            owner += [c, c]
    return {"centres": centres[:, ::-1].copy(), "names": group.get_names(), "lines": lines,
            "line_camera": np.array(owner, dtype=int)}


def board_corners_yx(det: Detections, camera: str | int, key: str):
    """One view's detected corners for an image layer: ``(k, 2)`` rows ``(y, x)`` and ids."""
    cd = det.cameras[det.names.index(camera)] if isinstance(camera, str) else det.cameras[camera]
    ids, pts = cd.get(key)
    return pts[:, ::-1].copy(), ids.copy()


def report_rows(report) -> list[dict[str, Any]]:
    """The calibration report as table rows (camera, boards, error median and p95).

    ``report``: a :class:`~markerless.pose3d.calibrate.CalibrationReport`, or a
    :class:`CameraGroup` loaded from a calibration.toml we wrote (its ``[metadata.quality]``).
    """
    if isinstance(report, CameraGroup):
        quality = report.metadata.get("quality", {})
        return [{"camera": name, "boards_found": q.get("boards_found"),
                 "boards_used": q.get("boards_used"), "error_median_px": q.get("error_median"),
                 "error_p95_px": q.get("error_p95"), "outliers": q.get("outliers")}
                for name in report.get_names() if (q := quality.get(name)) is not None]
    return [{"camera": q.name, "boards_found": q.boards_found, "boards_used": q.boards_used,
             "error_median_px": q.median_error, "error_p95_px": q.p95_error,
             "outliers": q.outliers} for q in report.cameras]


def plot_trajectories_3d(result, bodyparts: str | Sequence[str] = "all", individual: int = 0,
                         dest: str | os.PathLike | None = None, skeleton_every: int = 0):
    """A 3D plot of every bodypart's trajectory (matplotlib, headless); saved to ``dest``
    (.png/.svg/.pdf) when given. ``result``: a :class:`Points3D` or a 3D file."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from markerless.pose3d.outputs import Points3D, read_anipose_csv, read_dlc_3d

    if not isinstance(result, Points3D):
        p = Path(result)
        result = read_anipose_csv(p) if p.suffix.lower() == ".csv" else read_dlc_3d(p)
    names = result.bodyparts if bodyparts == "all" else list(bodyparts)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.add_subplot(projection="3d")
    cmap = matplotlib.colormaps["rainbow"]
    for k, bp in enumerate(names):
        j = result.bodyparts.index(bp)
        xyz = result.points[:, individual, j]
        ax.plot(xyz[:, 0], xyz[:, 1], xyz[:, 2], color=cmap(k / max(len(names) - 1, 1)),
                lw=1, label=bp)
    if skeleton_every and result.skeleton:
        for t in range(0, result.n_frames, skeleton_every):
            for a, b in result.skeleton:
                if a in result.bodyparts and b in result.bodyparts:
                    pa = result.points[t, individual, result.bodyparts.index(a)]
                    pb = result.points[t, individual, result.bodyparts.index(b)]
                    ax.plot(*np.stack([pa, pb]).T, color="k", lw=0.5)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_zlabel("z (mm)")
    ax.legend(fontsize=6, loc="upper left")
    if dest is not None:
        fig.savefig(dest, dpi=100)
    return fig
