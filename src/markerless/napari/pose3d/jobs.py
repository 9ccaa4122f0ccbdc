"""The 3D docks' work, without Qt: board detection, calibration and triangulation jobs.

Each is a generator of progress reports ``{"done", "total", "text"}`` for the job panel,
returning its result; Stop takes effect at the next report: between cameras while
boards are found, before the bundle adjustment, and between recordings. They call the
3D API (:mod:`markerless.pose3d`) and add nothing to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from markerless.pose3d.detection import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS


def config_path(path: str | os.PathLike) -> Path:
    """A 3D config.yaml from itself, its project folder, or the project's
    ``calibration_images`` folder."""
    path = Path(path)
    if path.is_dir():
        for cand in (path / "config.yaml", path.parent / "config.yaml"):
            if cand.is_file():
                return cand
        return path / "config.yaml"
    return path


def calibration_sources(project: Path, names: Sequence[str]) -> tuple[dict[str, Any], bool]:
    """Per camera its calibration images in ``calibration_images/`` (DeepLabCut's layout:
    the camera's name in the file name), else a calibration video named the same way.
    Returns ``(sources, are_videos)``."""
    from markerless.errors import ArgumentError
    from markerless.pose3d.detection import camera_of, images_by_camera

    folder = project / "calibration_images"
    images = images_by_camera(folder, names)
    if all(images[n] for n in names):
        return images, False
    videos: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        cam = camera_of(p.name, names) if p.suffix.lower() in VIDEO_EXTENSIONS else None
        if cam is not None and cam not in videos:
            videos[cam] = p
    if videos and all(n in videos for n in names):
        return videos, True
    lacking = [n for n in names if not images[n] and n not in videos]
    raise ArgumentError(
        f"no calibration images or video for camera(s) {lacking} in {str(folder)!r}: name "
        f"them with the camera name (e.g. {names[0]}-01.jpg or {names[0]}.mp4); "
        f"supported: {', '.join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)}")


def detection_job(config: str | os.PathLike, n_frames: int | None = 100) -> Iterator[dict]:
    """Find the board in every camera's images (or video frames); returns the
    :class:`~markerless.pose3d.detection.Detections`. Uses and fills the project's
    detection cache (``corners/<camera>_detections.npz``), as ``calibrate_cameras`` does."""
    from markerless.pose3d.detection import Detections, _resolve_on_samples, detect_camera
    from markerless.pose3d.project import project_board, read_config3d

    cfg, project = read_config3d(config_path(config))
    names = list(cfg["camera_names"])
    board = project_board(cfg)
    sources, videos = calibration_sources(project, names)
    frames = int(n_frames) if videos and n_frames else None
    yield {"done": 0, "total": len(names), "text": "checking the board pattern..."}
    board = _resolve_on_samples(board, sources)  # as calibrate_cameras: one pattern for all
    cams = []
    for k, name in enumerate(names):
        yield {"done": k, "total": len(names), "text": f"finding boards in {name}..."}
        cams.append(detect_camera(board, name, sources[name], project / "corners",
                                  n_frames=frames))
    det = Detections(cams, board)
    yield {"done": len(names), "total": len(names), "text": "boards found:"
           + "; ".join(f" {c.name} {len(c.found)} of {len(c.keys)}" for c in cams)}
    return det


def calibration_job(config: str | os.PathLike, n_frames: int | None = 100,
                    max_error: float = 1.5, distortion: str = "standard") -> Iterator[dict]:
    """Detect (cached), then ``calibrate_cameras(config, calibrate=True)``.

    Returns ``{"detections", "report", "error", "calibration"}``: a refused calibration
    is a result too (``error`` is the :class:`~markerless.pose3d.errors.CalibrationError`,
    its ``report`` the table), so the dock can show why.
    """
    from markerless.pose3d.calibrate import calibrate_cameras
    from markerless.pose3d.errors import CalibrationError
    from markerless.pose3d.project import calibration_path, read_config3d

    config = config_path(config)
    det = yield from detection_job(config, n_frames)
    n = len(det.cameras)
    yield {"done": n, "total": n + 1, "text": "calibrating (intrinsics, bundle adjustment)..."}
    cfg, project = read_config3d(config)
    sources, videos = calibration_sources(project, list(cfg["camera_names"]))
    try:
        report = calibrate_cameras(config, calibrate=True, videos=sources if videos else None,
                                   n_frames=int(n_frames) if videos and n_frames else None,
                                   max_error=float(max_error), distortion=distortion,
                                   progress=False, verbose=False)
        error = None
    except CalibrationError as err:
        report, error = err.report, err
    yield {"done": n + 1, "total": n + 1, "text": "refused" if error else "calibrated"}
    return {"detections": det, "report": report, "error": error,
            "calibration": calibration_path(cfg, project)}


def recordings_in(config: str | os.PathLike, folder: str | os.PathLike) -> list[dict[str, Path]]:
    """The recordings (one file per camera) in a folder, as ``triangulate`` finds them."""
    from markerless.pose3d.project import read_config3d
    from markerless.pose3d.triangulate import recordings

    cfg, _ = read_config3d(config_path(config))
    return recordings(Path(folder), list(cfg["camera_names"]), "",
                      str(cfg.get("scorername_3d") or "DLC_3D"))


def triangulation_job(config: str | os.PathLike, recordings: Sequence[Mapping[str, Path]],
                      method: str = "dlt", pcutoff: float | None = None,
                      destfolder: str | os.PathLike | None = None,
                      save_as_csv: bool = False) -> Iterator[dict]:
    """``triangulate`` each recording (``{camera: 2D file or video}``); returns the
    written paths of each (``dlc_3d``, ``anipose``, ``reprojected_<camera>``, ``meta``)."""
    from markerless.pose3d.triangulate import triangulate

    config = config_path(config)
    out: list[dict[str, Path]] = []
    n = len(recordings)
    for k, rec in enumerate(recordings):
        first = Path(next(iter(rec.values()))).name
        yield {"done": k, "total": n, "text": f"triangulating {first} ({k + 1} of {n})..."}
        out += triangulate(config, dict(rec), method=method, pcutoff=pcutoff,
                           destfolder=destfolder, save_as_csv=save_as_csv, progress=False)
    yield {"done": n, "total": n, "text": f"triangulated {n} recording(s)"}
    return out


def board_text(config: str | os.PathLike) -> str:
    """The config's board in words (``ChArUco 7 x 5 squares of 40 mm, markers 30 mm``)."""
    from markerless.pose3d.project import read_config3d

    cfg, _ = read_config3d(config_path(config))
    b = dict(cfg.get("calibration_board") or {})
    kind = str(b.get("type") or "checkerboard")
    size = b.get("square_length")
    square = f" of {float(size):g} mm" if size not in (None, "") else \
        " (square size not set: calibration_board: square_length, mm)"
    if kind == "charuco":
        marker = b.get("marker_length")
        return (f"ChArUco {b.get('squares_x')} x {b.get('squares_y')} squares{square}"
                + (f", markers {float(marker):g} mm" if marker not in (None, "") else ""))
    return f"checkerboard {b.get('squares_x')} x {b.get('squares_y')} inner corners{square}"
