"""Triangulate 2D predictions from N cameras: arrays, :class:`Poses`, or a 3D project.

``method``: ``"dlt"`` (linear, likelihood-weighted), ``"ransac"`` (camera subsets,
outlier views dropped) or ``"optim"`` (anipose's optimisation with temporal smoothness
and bone lengths from the project's skeleton). Points below ``pcutoff`` are missing;
a point seen by fewer than 2 cameras is NaN. Multi-animal data is triangulated per
individual (identities must agree across cameras, by name). Cameras with different
frame counts are an error unless ``frame_offsets`` says how they line up (DeepLabCut
silently cuts to the shortest video).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, LabelFileError
from markerless.io.atomic import atomic_write_text
from markerless.pose3d.camera import CameraGroup
from markerless.pose3d.outputs import (
    Points3D,
    write_anipose_csv,
    write_dlc_3d,
    write_reprojected,
)
from markerless.poses import Poses

METHODS = ("dlt", "ransac", "optim")


def _stats(group: CameraGroup, pts: np.ndarray, pixels: np.ndarray, used: np.ndarray,
           lik: np.ndarray):
    """error, ncams, score and the reprojection for flat (N, 3) points."""
    reproj = group.project(pts)  # (C, N, 2)
    with np.errstate(invalid="ignore"):
        err = np.linalg.norm(reproj - pixels, axis=-1)
    ncams = used.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(used, err, 0).sum(axis=0) / ncams
    score = np.where(used, lik, np.inf).min(axis=0)
    bad = (ncams < 2) | ~np.isfinite(pts).all(axis=-1)
    pts = pts.copy()
    pts[bad] = np.nan
    error[bad], score[bad], ncams[bad] = np.nan, np.nan, np.nan
    reproj[:, bad] = np.nan
    return pts, error, ncams, score, reproj


def triangulate_arrays(group: CameraGroup, pixels: np.ndarray,
                       likelihood: np.ndarray | None = None,
                       method: str = "dlt", pcutoff: float = 0.0,
                       constraints: Sequence[Sequence[int]] = (), weighted: bool = True,
                       ransac_threshold: float = 10.0, **optim_kwargs: Any):
    """(C, F, I, J, 2) pixels (+ (C, F, I, J) likelihoods) -> ``(points (F, I, J, 3), error,
    ncams, score, reprojected (C, F, I, J, 2))``."""
    if method not in METHODS:
        raise ArgumentError(f"unknown triangulation method {method!r}; choose one of "
                            + ", ".join(METHODS))
    px = np.array(pixels, dtype=np.float64)
    if px.ndim != 5 or px.shape[-1] != 2:
        raise ArgumentError(f"pixels must be (cameras, frames, individuals, keypoints, 2), got "
                            f"{px.shape}")
    C, F, NI, J, _ = px.shape
    lik = np.ones(px.shape[:4]) if likelihood is None else np.array(likelihood, dtype=np.float64)
    low = ~(lik >= pcutoff) if pcutoff > 0 else ~np.isfinite(lik)
    px[low] = np.nan
    valid = np.isfinite(px).all(axis=-1)
    lik = np.where(valid, lik, 0.0)
    flat = px.reshape(C, -1, 2)
    wflat = lik.reshape(C, -1) if weighted else None
    used = valid.reshape(C, -1)
    if method == "dlt":
        pts = group.triangulate(flat, weights=wflat)
    elif method == "ransac":
        from markerless.pose3d.triangulation import ransac

        res = ransac(group, flat, threshold=ransac_threshold, weights=wflat)
        pts, used = res.points, res.inliers
    else:
        from markerless.pose3d.optim import triangulate_optim

        pts = np.full((F, NI, J, 3), np.nan)
        for i in range(NI):
            sub = px[:, :, i]
            opt = triangulate_optim(group, sub, constraints, init_ransac=True,
                                    weights=lik[:, :, i] if weighted else None,
                                    ransac_threshold=ransac_threshold, **optim_kwargs)
            pts[:, i] = opt.points
        pts = pts.reshape(-1, 3)
        err = np.linalg.norm(group.project(pts) - flat, axis=-1)
        used = used & (err < optim_kwargs.get("reproj_error_threshold", 15.0) * 2)
    pts, error, ncams, score, reproj = _stats(group, pts, flat, used, lik.reshape(C, -1))
    return (pts.reshape(F, NI, J, 3), error.reshape(F, NI, J), ncams.reshape(F, NI, J),
            score.reshape(F, NI, J), reproj.reshape(C, F, NI, J, 2))


def _align(group: CameraGroup, poses: Mapping[str, Poses],
           frame_offsets: Mapping[str, int] | None):
    """Stack per-camera Poses (in the calibration's camera order) into arrays."""
    names = group.get_names()
    missing = [n for n in names if n not in poses]
    if missing:
        raise ArgumentError(f"no 2D predictions for camera(s) {missing} (have {list(poses)})")
    ref = poses[names[0]]
    bodyparts, individuals = list(ref.bodyparts), list(ref.individuals)
    for name in names[1:]:
        p = poses[name]
        lost = [b for b in bodyparts if b not in p.bodyparts]
        if lost:
            raise LabelFileError(f"camera {name!r}: bodyparts {lost} are missing (camera "
                                 f"{names[0]!r} has them)")
        if sorted(p.individuals) != sorted(individuals):
            raise LabelFileError(f"camera {name!r} has individuals {p.individuals}, camera "
                                 f"{names[0]!r} has {individuals}: identities must match")
    offsets = {n: int((frame_offsets or {}).get(n, 0)) for n in names}
    counts = {n: poses[n].n_frames - offsets[n] for n in names}
    if frame_offsets is None and len(set(counts.values())) > 1:
        raise ArgumentError(
            "the cameras have different frame counts (" + ", ".join(
                f"{n}: {c}" for n, c in counts.items()) + "): give frame_offsets={camera: "
            "first frame} to line them up (DeepLabCut would silently cut to the shortest)")
    n = min(counts.values())
    if n <= 0:
        raise ArgumentError(f"frame offsets {offsets} leave no common frames")
    C, NI, J = len(names), len(individuals), len(bodyparts)
    px = np.full((C, n, NI, J, 2), np.nan)
    lik = np.zeros((C, n, NI, J))
    for c, name in enumerate(names):
        p = poses[name]
        ii = [p.individuals.index(i) for i in individuals]
        jj = [p.bodyparts.index(b) for b in bodyparts]
        o = offsets[name]
        px[c] = p.xy[o: o + n][:, ii][:, :, jj]
        lk = p.likelihood if p.likelihood is not None else np.where(p.labeled, 1.0, 0.0)
        lik[c] = lk[o: o + n][:, ii][:, :, jj]
        defined = p.defined[np.ix_(ii, jj)]
        px[c][:, ~defined] = np.nan
    return px, lik, bodyparts, individuals


def triangulate_poses(group: CameraGroup, poses: Mapping[str, Poses] | Sequence[Poses],
                      method: str = "dlt", pcutoff: float = 0.0,
                      frame_offsets: Mapping[str, int] | None = None,
                      skeleton: Sequence[Sequence[str]] = (), scorer: str = "DLC_3D",
                      **kwargs: Any) -> Points3D:
    """Triangulate one recording given as one :class:`Poses` per camera."""
    if not isinstance(poses, Mapping):
        poses = dict(zip(group.get_names(), poses, strict=True))
    px, lik, bodyparts, individuals = _align(group, poses, frame_offsets)
    cons = [(bodyparts.index(a), bodyparts.index(b)) for a, b in skeleton
            if a in bodyparts and b in bodyparts]
    pts, err, ncams, score, reproj = triangulate_arrays(group, px, lik, method, pcutoff, cons,
                                                        **kwargs)
    return Points3D(pts, bodyparts, individuals, err, ncams, score, group.get_names(), reproj,
                    scorer, [tuple(e) for e in skeleton])


def write_outputs(res: Points3D, destfolder: str | os.PathLike, name: str,
                  sources: Mapping[str, str | os.PathLike], save_as_csv: bool = False,
                  meta: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write the DLC 3D file, anipose CSV(s), per-camera reprojections and a _meta.json."""
    from markerless.pose3d.inputs import video_stem

    dest = Path(destfolder)
    dest.mkdir(parents=True, exist_ok=True)
    base = dest / f"{name}_{res.scorer}"
    out = {"dlc_3d": write_dlc_3d(res, base.with_suffix(".h5"), save_as_csv)}
    for i, ind in enumerate(res.individuals):
        tag = f"_{ind}" if res.multianimal else ""
        out[f"anipose{tag}"] = write_anipose_csv(res, Path(f"{base}{tag}_anipose.csv"), i)
    for cam in res.camera_names:
        stem = video_stem(sources[cam]) if cam in sources else f"{name}_{cam}"
        out[f"reprojected_{cam}"] = write_reprojected(
            res, cam, dest / f"{stem}{res.scorer}_reprojected.h5")
    info = {"cameras": res.camera_names, "sources": {k: str(v) for k, v in sources.items()},
            "bodyparts": res.bodyparts, "individuals": res.individuals,
            "median_reprojection_error_px": float(np.nanmedian(res.error))
            if np.isfinite(res.error).any() else None, **dict(meta or {})}
    out["meta"] = atomic_write_text(Path(f"{base}_meta.json"),
                                    json.dumps(info, indent=2, default=str), backup=False)
    return out


# --- the project-level API (DeepLabCut's name and leading arguments) --------------------------
_VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv")
_TWO_D_EXT = (".h5", ".csv")


def _find_2d(video: Path, cam: str, cfg, destfolder, filtered: bool, scorer_3d: str) -> Path:
    folders = [Path(destfolder)] if destfolder else []
    folders.append(video.parent)
    for folder in folders:
        cands = [p for p in folder.glob(f"{video.stem}DLC*.h5")
                 if scorer_3d not in p.name and p.stem.endswith("_filtered") == filtered
                 and not p.stem.endswith(("_el", "_tr", "_reprojected"))]
        if cands:
            return max(cands, key=lambda p: (p.stat().st_mtime, p.name))
    config_2d = cfg.get(f"config_file_{cam}")
    if config_2d and Path(config_2d).is_file():
        from markerless.analysis.analyze import analyze_videos

        analyze_videos(config_2d, [str(video)], shuffle=int(cfg.get(f"shuffle_{cam}", 1)),
                       trainingsetindex=int(cfg.get(f"trainingsetindex_{cam}", 0)),
                       destfolder=destfolder)
        return _find_2d(video, cam, {}, destfolder, filtered, scorer_3d)
    raise LabelFileError(
        f"no 2D predictions for {str(video)!r} (camera {cam!r}): analyse the video first "
        "('markerless analyze'), or set config_file_" + cam + " in the 3D config.yaml")


def recordings(video_path, cameras: list[str], videotype: str = "",
               scorer_3d: str = "DLC_3D") -> list[dict[str, Path]]:
    """One ``{camera: file}`` per recording from a folder, a list (of lists) or a dict."""
    from markerless.pose3d.detection import camera_of, view_key

    if isinstance(video_path, Mapping):
        return [{c: Path(video_path[c]) for c in cameras}]
    if isinstance(video_path, (str, os.PathLike)) and Path(video_path).is_dir():
        folder = Path(video_path)
        ext = ((videotype if videotype.startswith(".") else f".{videotype}"),) if videotype \
            else _VIDEO_EXT
        files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in ext]
        if not files and not videotype:
            files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in _TWO_D_EXT
                     and scorer_3d not in p.name]
        groups: dict[str, dict[str, Path]] = {}
        for p in files:
            cam = camera_of(p.name, cameras)
            if cam is not None:
                groups.setdefault(view_key(p.name, cam), {})[cam] = p
        out = [g for _, g in sorted(groups.items()) if len(g) == len(cameras)]
        if not out:
            raise ArgumentError(f"no set of files with every camera's name {cameras} in "
                                f"{str(folder)!r}")
        return out
    items = list(video_path) if not isinstance(video_path, (str, os.PathLike)) else [video_path]
    if items and all(isinstance(i, (str, os.PathLike)) for i in items):
        items = [items]
    out = []
    for rec in items:
        rec = list(rec)
        if len(rec) != len(cameras):
            raise ArgumentError(f"each recording needs one file per camera {cameras}, got {rec}")
        out.append({c: Path(f) for c, f in zip(cameras, rec, strict=True)})
    return out


def triangulate(config, video_path, videotype: str = "", filterpredictions: bool = False,
                filtertype: str = "median", gputouse=None, destfolder=None,
                save_as_csv: bool = False, *, method: str | None = None,
                pcutoff: float | None = None, frame_offsets: Mapping[str, int] | None = None,
                calibration=None, progress: bool = True, track_method: str = "",
                **kwargs: Any) -> list[dict[str, Path]]:
    """Triangulate each recording's 2D predictions from all cameras (DeepLabCut's API).

    ``video_path``: a folder (files named with the camera names, DeepLabCut's layout), a
    list with one video or 2D file (DeepLabCut .h5/.csv, SLEAP analysis .h5) per camera in
    ``camera_names`` order, a list of such lists, or ``{camera: file}``. Videos are looked
    up by their analysis file ``<video stem>DLC...h5`` (analysed first with
    ``config_file_<camera>`` when missing). ``method`` and ``pcutoff`` default to the
    config's ``triangulation: method`` and ``pcutoff``; ``calibration`` to its
    ``calibration_file``. ``filterpredictions=True`` reads the 2D ``_filtered.h5`` files of
    videos; ``filtertype``, ``gputouse`` and ``track_method`` are accepted for DeepLabCut's
    scripts (identities come from the 2D files); filter the 3D result with
    :func:`filterpredictions_3d`.

    Writes, per recording, into ``destfolder`` (default: the first camera's folder):
    ``<name>_DLC_3D.h5`` (+ .csv), ``<name>_DLC_3D_anipose.csv``, each camera's
    ``<video stem>DLC_3D_reprojected.h5`` and ``<name>_DLC_3D_meta.json``. Returns the
    written paths per recording.
    """
    from tqdm import tqdm

    from markerless.pose3d.inputs import read_2d, recording_name
    from markerless.pose3d.project import calibration_path, read_config3d, triangulation_settings

    allowed = {"ransac_threshold", "weighted", "scale_smooth", "scale_length",
               "reproj_error_threshold", "n_deriv_smooth", "max_nfev"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ArgumentError(f"triangulate() got unknown options {unknown}; known: "
                            + ", ".join(sorted(allowed)))
    cfg, project = read_config3d(config)
    names = list(cfg["camera_names"])
    settings = triangulation_settings(cfg)
    method = method or settings.get("method", "dlt")
    pcut = float(cfg.get("pcutoff", 0.0) if pcutoff is None else pcutoff)
    scorer = str(cfg.get("scorername_3d") or "DLC_3D")
    if isinstance(calibration, CameraGroup):
        group = calibration
    else:
        group = CameraGroup.load(calibration or calibration_path(cfg, project))
    group = group.subset_cameras_names(names)
    skeleton = [tuple(e) for e in (cfg.get("skeleton") or []) if len(e) == 2]
    opts = {k: settings[k] for k in ("ransac_threshold", "weighted", "scale_smooth",
                                     "scale_length", "reproj_error_threshold") if k in settings}
    opts.update(kwargs)
    results = []
    for rec in tqdm(recordings(video_path, names, videotype, scorer), desc="triangulate",
                    disable=not progress):
        files = {}
        for cam, f in rec.items():
            if f.suffix.lower() in _VIDEO_EXT:
                f = _find_2d(f, cam, cfg, destfolder, filterpredictions, scorer)
            files[cam] = f
        poses = {cam: read_2d(f) for cam, f in files.items()}
        res = triangulate_poses(group, poses, method=method, pcutoff=pcut,
                                frame_offsets=frame_offsets, skeleton=skeleton, scorer=scorer,
                                **opts)
        dest = Path(destfolder) if destfolder else files[names[0]].parent
        name = recording_name([rec[names[0]]], names)
        results.append(write_outputs(res, dest, name, rec, save_as_csv, {
            "method": method, "pcutoff": pcut, "frame_offsets": dict(frame_offsets or {}),
            "calibration": str(calibration or calibration_path(cfg, project)),
            "inputs": {c: str(f) for c, f in files.items()}}))
    return results
