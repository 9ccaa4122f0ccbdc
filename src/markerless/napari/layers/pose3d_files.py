"""A 3D result and the files around it, for the 3D view and the camera views (no Qt).

``triangulate`` writes, beside ``<name>_DLC_3D.h5``, anipose's CSV (reprojection error,
cameras and score per point), every camera's ``<video stem>DLC_3D_reprojected.h5`` and a
``_meta.json`` naming the cameras, their 2D inputs, the frame offsets and the
calibration. :func:`load_result` gathers what of this exists, so a result opened from
any of those files (or a bare DeepLabCut ``_DLC_3D.h5`` from elsewhere) shows as much as
can be shown: points always, the skeleton when the 3D project is known, the cameras
when the calibration is, and per camera the video, its 2D predictions and where the 3D
points land in it (from the reprojection file, else projected with the calibration).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


# --- what a file is (cheap, never raises) -----------------------------------------------
def is_anipose_csv(path: str | os.PathLike) -> bool:
    """anipose's 3D CSV: ``<bodypart>_x, _y, _z`` columns (header only)."""
    try:
        path = Path(path)
        if path.suffix.lower() != ".csv" or not path.is_file():
            return False
        with open(path, encoding="utf-8", errors="replace") as f:
            header = f.readline().strip().split(",")
        cols = set(header)
        return header[0] != "scorer" and any(
            c.endswith("_x") and f"{c[:-2]}_y" in cols and f"{c[:-2]}_z" in cols for c in cols)
    except Exception:  # noqa: BLE001 - a sniffer answers "no"
        return False


def is_dlc_3d(path: str | os.PathLike) -> bool:
    """DeepLabCut's 3D table (.h5 or .csv): coords exactly x, y, z (header and one row)."""
    try:
        path = Path(path)
        if path.suffix.lower() not in (".h5", ".csv") or not path.is_file():
            return False
        from markerless.io.dlc_tables import read_table

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coords = read_table(path, nrows=1).levels["coords"]
        return {str(c) for c in coords} == {"x", "y", "z"}
    except Exception:  # noqa: BLE001 - a sniffer answers "no"
        return False


def is_3d_result(path: str | os.PathLike) -> bool:
    return is_anipose_csv(path) or is_dlc_3d(path)


# --- the result ---------------------------------------------------------------------------
@dataclass(eq=False)
class Result3D:
    """A 3D result with what is known about it (see :func:`load_result`)."""

    path: Path
    points: Any  # markerless.pose3d.outputs.Points3D
    meta: dict[str, Any] = field(default_factory=dict)
    calibration: Any = None  # CameraGroup, when known
    config: Path | None = None  # the 3D project's config.yaml, when known
    skeleton: list[tuple[str, str]] = field(default_factory=list)
    colormap: str = "rainbow"
    skeleton_color: str = "white"

    @property
    def cameras(self) -> list[str]:
        if self.meta.get("cameras"):
            return list(self.meta["cameras"])
        return self.calibration.get_names() if self.calibration is not None else []

    @property
    def filtered(self) -> bool:
        return "_filtered" in self.path.stem

    def offset(self, camera: str) -> int:
        """The camera's frame that is frame 0 of the result (``frame_offsets``)."""
        return int((self.meta.get("frame_offsets") or {}).get(camera, 0))


def _meta_for(path: Path) -> dict[str, Any]:
    """The ``<base>_meta.json`` of a result file (``x_DLC_3D.h5``, ``x_DLC_3D_anipose.csv``,
    ``x_DLC_3D_filtered.h5`` -> ``x_DLC_3D_meta.json``): the longest ``base`` that starts
    the file's name, among the ``_meta.json`` files written by ``triangulate``."""
    stem = path.stem
    found = sorted((p for p in path.parent.glob("*_meta.json")
                    if stem.startswith(p.name[: -len("_meta.json")])),
                   key=lambda p: len(p.name), reverse=True)
    for cand in found:
        try:
            meta = json.loads(cand.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("cameras"):
            return meta
    return {}


def _is_config3d(path: Path) -> bool:
    try:
        from markerless.io.config import read_config

        return path.is_file() and len(read_config(path).get("camera_names") or []) >= 2
    except Exception:  # noqa: BLE001 - not a 3D project then
        return False


def _errors_from_anipose(points, path: Path) -> None:
    """Fill ``points.error/ncams/score`` from the anipose CSV(s) beside a DLC 3D file."""
    from markerless.pose3d.outputs import read_anipose_csv

    base = path.with_suffix("")
    for i, ind in enumerate(points.individuals):
        csv = Path(f"{base}{'_' + ind if points.multianimal else ''}_anipose.csv")
        if not csv.is_file():
            continue
        try:
            other = read_anipose_csv(csv)
        except Exception:  # noqa: BLE001 - errors are optional for the view
            continue
        idx = [other.bodyparts.index(b) if b in other.bodyparts else -1 for b in points.bodyparts]
        if other.n_frames != points.n_frames or min(idx) < 0:
            continue
        for name in ("error", "ncams", "score"):
            getattr(points, name)[:, i] = getattr(other, name)[:, 0][:, idx]


def load_result(path: str | os.PathLike, config: str | os.PathLike | None = None,
                calibration: Any = None) -> Result3D:
    """A ``_DLC_3D.h5``/``.csv`` or anipose CSV with its meta, calibration and project.

    ``calibration`` (a path or a ``CameraGroup``) defaults to the one the result's
    ``_meta.json`` says it was triangulated with, else ``config``'s; ``config`` (the 3D
    config.yaml: skeleton, colormap) to the project two folders above the calibration
    (``<project>/camera_matrix/calibration.toml``).
    """
    from markerless.pose3d.camera import CameraGroup
    from markerless.pose3d.outputs import read_anipose_csv, read_dlc_3d

    path = Path(path)
    if is_anipose_csv(path):
        points = read_anipose_csv(path)
    else:
        points = read_dlc_3d(path)
        _errors_from_anipose(points, path)
    meta = _meta_for(path)
    cfg_path = Path(config) if config is not None else None
    if cfg_path is not None and cfg_path.is_dir():
        cfg_path = cfg_path / "config.yaml"
    cfg: dict[str, Any] = {}
    if calibration is None and meta.get("calibration") and Path(meta["calibration"]).is_file():
        calibration = Path(meta["calibration"])  # the one it was triangulated with
    if cfg_path is not None:
        from markerless.pose3d.project import calibration_path, read_config3d

        cfg, project = read_config3d(cfg_path)
        if calibration is None:
            calibration = calibration_path(cfg, project)
    group = None
    if isinstance(calibration, CameraGroup):
        group = calibration
    elif calibration is not None and Path(calibration).is_file():
        group = CameraGroup.load(calibration, validate=False)
        if cfg_path is None and _is_config3d(Path(calibration).parent.parent / "config.yaml"):
            cfg_path = Path(calibration).parent.parent / "config.yaml"
            from markerless.pose3d.project import read_config3d

            cfg = dict(read_config3d(cfg_path)[0])
    wanted = meta.get("cameras") or cfg.get("camera_names") or []
    if group is not None and wanted and set(wanted) <= set(group.get_names()):
        group = group.subset_cameras_names(list(wanted))  # the cameras used, in their order
    edges = [tuple(e) for e in (cfg.get("skeleton") or []) if len(e) == 2]
    skeleton = [(str(a), str(b)) for a, b in edges
                if a in points.bodyparts and b in points.bodyparts]
    colour = str(cfg.get("skeleton_color") or "white")
    return Result3D(path, points, meta, group, cfg_path, skeleton,
                    str(cfg.get("colormap") or "rainbow"),
                    "white" if colour.lower() in ("black", "k", "#000000") else colour)


# --- one camera -----------------------------------------------------------------------------
@dataclass
class CameraFiles:
    """What is on disk for one camera of a result (None where nothing was found)."""

    camera: str
    video: Path | None
    predictions: Path | None
    reprojected: Path | None


def _video_for(two_d: Path, stem: str) -> Path | None:
    folders = [two_d.parent, two_d.parent.parent / "videos"]
    for folder in folders:
        for ext in VIDEO_SUFFIXES:
            for cand in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
                if cand.is_file():
                    return cand
    return None


def camera_files(result: Result3D, camera: str) -> CameraFiles:
    """The camera's video, 2D predictions and reprojection file, from the result's meta."""
    from markerless.pose3d.inputs import video_stem

    source = (result.meta.get("sources") or {}).get(camera)
    two_d = (result.meta.get("inputs") or {}).get(camera)
    source = Path(source) if source else None
    two_d = Path(two_d) if two_d else None
    if two_d is None and source is not None and source.suffix.lower() not in VIDEO_SUFFIXES:
        two_d = source
    video = source if source is not None and source.suffix.lower() in VIDEO_SUFFIXES else None
    if video is None and two_d is not None:
        video = _video_for(two_d, video_stem(two_d))
    stem = video_stem(source) if source is not None else None
    reproj = None
    if stem is not None and not result.filtered:
        cand = result.path.parent / f"{stem}{result.points.scorer}_reprojected.h5"
        reproj = cand if cand.is_file() else None
    return CameraFiles(camera,
                       video if video is not None and video.is_file() else None,
                       two_d if two_d is not None and two_d.is_file() else None, reproj)


def reprojection(result: Result3D, camera: str, files: CameraFiles | None = None) -> np.ndarray:
    """(F, I, J, 2) where the 3D points land in ``camera``'s image (x, y), on the result's
    frames: the reprojection file when it matches, else projected with the calibration."""
    from markerless.errors import ArgumentError

    pts = result.points
    files = files or camera_files(result, camera)
    if files.reprojected is not None:
        from markerless.io.dlc_analysis import read_analysis

        poses = read_analysis(files.reprojected)
        if (poses.n_frames == pts.n_frames and set(pts.bodyparts) <= set(poses.bodyparts)
                and set(pts.individuals) <= set(poses.individuals)):
            ii = [poses.individuals.index(i) for i in pts.individuals]
            jj = [poses.bodyparts.index(b) for b in pts.bodyparts]
            return poses.xy[:, ii][:, :, jj]
    if result.calibration is None:
        raise ArgumentError(f"no reprojection for camera {camera!r}: neither a "
                            f"...DLC_3D_reprojected.h5 nor the calibration was found for "
                            f"{str(result.path)!r}; choose the 3D project")
    cam = result.calibration.cameras[result.calibration.indices([camera])[0]]
    flat = pts.points.reshape(-1, 3)
    xy = np.full((len(flat), 2), np.nan)
    ok = np.isfinite(flat).all(axis=1)
    if ok.any():
        xy[ok] = cam.project(flat[ok])[:, 0]
    return xy.reshape(*pts.points.shape[:3], 2)


@dataclass
class Disagreement:
    """Per visible point of one camera: its 2D prediction, the reprojection and the
    distance between them (px). ``frame`` is the result's frame, ``video_frame`` the
    camera's (``frame + offset``)."""

    frame: np.ndarray
    video_frame: np.ndarray
    individual: np.ndarray
    bodypart: np.ndarray
    predicted: np.ndarray  # (n, 2) x, y
    reprojected: np.ndarray  # (n, 2) x, y
    error: np.ndarray  # (n,)

    def summary(self, threshold: float) -> str:
        if not len(self.error):
            return "no point seen in both the 2D predictions and the 3D result"
        far = self.error > threshold
        text = (f"median {np.median(self.error):.2f} px, 95% {np.percentile(self.error, 95):.2f}"
                f" px; {int(far.sum())} of {len(self.error)} points over {threshold:g} px")
        if far.any():
            frames = np.unique(self.frame[far])
            shown = ", ".join(str(int(f)) for f in frames[:6])
            text += f" (frames {shown}{', ...' if len(frames) > 6 else ''})"
        return text


def disagreement(predicted_xy: np.ndarray, likelihood: np.ndarray | None, reproj: np.ndarray,
                 offset: int = 0, pcutoff: float = 0.0) -> Disagreement:
    """Match a camera's 2D predictions (F2, I, J, 2) with the reprojection (F, I, J, 2);
    predictions below ``pcutoff`` are left out (triangulation ignored them too)."""
    F = reproj.shape[0]
    frames = np.arange(F) + int(offset)
    inside = (frames >= 0) & (frames < predicted_xy.shape[0])
    pred = np.full(reproj.shape, np.nan)
    pred[inside] = predicted_xy[frames[inside]]
    ok = np.isfinite(pred).all(-1) & np.isfinite(reproj).all(-1)
    if likelihood is not None and pcutoff > 0:
        lik = np.zeros(reproj.shape[:3])
        lik[inside] = np.nan_to_num(likelihood[frames[inside]])
        ok &= lik >= pcutoff
    t, i, j = np.nonzero(ok)
    a, b = pred[t, i, j], reproj[t, i, j]
    return Disagreement(t, t + int(offset), i, j, a, b, np.linalg.norm(a - b, axis=-1))
