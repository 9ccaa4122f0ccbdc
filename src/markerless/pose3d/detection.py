"""Find the calibration board in every camera's images or calibration video, once.

Views are matched across cameras by a *key*: for images, the file name with the
camera's name taken out (DeepLabCut's ``camera-1-01.jpg`` / ``camera-2-01.jpg``, or
``left01.jpg`` / ``right01.jpg``, or sleap-anipose's ``back-<time>-0.jpg``); for
videos, the frame number (synchronised videos). Detections are cached per camera in
``<cache_dir>/<camera>_detections.npz``, keyed by the board, the files' sizes and
modification times and the sampling, so re-running a calibration does not detect again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from markerless.errors import ArgumentError, VideoError
from markerless.io.atomic import atomic_write
from markerless.pose3d.boards import Board, CharucoBoard, board_to_dict

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")


@dataclass
class CameraDetections:
    """One camera's board detections: ``keys[i]`` -> ``ids[i]`` (k,), ``corners[i]`` (k, 2)."""

    name: str
    size: tuple[int, int] | None  # (width, height)
    keys: list[str]
    ids: list[np.ndarray]
    corners: list[np.ndarray]
    sources: list[str] = field(default_factory=list)  # the file (and frame) of each key

    @property
    def found(self) -> list[str]:
        return [k for k, i in zip(self.keys, self.ids, strict=True) if len(i)]

    @property
    def missing(self) -> list[str]:
        """Keys (images / frames) where no board was found."""
        return [s for s, i in zip(self.sources, self.ids, strict=True) if not len(i)]

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.keys.index(key)
        return self.ids[i], self.corners[i]


@dataclass
class Detections:
    """All cameras' detections, in the calibration's camera order, and the board used."""

    cameras: list[CameraDetections]
    board: Board

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def report(self) -> str:
        lines = []
        for c in self.cameras:
            n = len(c.found)
            lines.append(f"{c.name}: board found in {n} of {len(c.keys)} views")
            if c.missing:
                shown = ", ".join(Path(s).name if os.sep in s else s for s in c.missing[:10])
                more = f" (+{len(c.missing) - 10} more)" if len(c.missing) > 10 else ""
                lines.append(f"  no board in: {shown}{more}")
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        return {c.name: len(c.found) for c in self.cameras}


# --- matching files to cameras -------------------------------------------------------------
def camera_of(name: str, cameras: Sequence[str]) -> str | None:
    """The camera whose name the file name contains; the longest wins (``camera-10`` beats
    ``camera-1``)."""
    hits = [c for c in cameras if c and c in name]
    return max(hits, key=len) if hits else None


def view_key(name: str, camera: str) -> str:
    """The file name without its extension and without the camera's name."""
    stem = Path(name).stem
    return stem.replace(camera, "", 1).strip("_- ") or stem


def images_by_camera(folder: str | os.PathLike, cameras: Sequence[str]) -> dict[str, list[Path]]:
    """DeepLabCut's layout: every camera's images in one folder, named with the camera."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArgumentError(f"calibration image folder {str(folder)!r} does not exist")
    out: dict[str, list[Path]] = {c: [] for c in cameras}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            cam = camera_of(p.name, cameras)
            if cam is not None:
                out[cam].append(p)
    return out


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


# --- reading -------------------------------------------------------------------------------
def _read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise VideoError("cannot read calibration image", path)
    return img


def _video_frames(path: Path, every: int | None, n_frames: int | None):
    from markerless.io.video import VideoReader

    with VideoReader(path, decoders=1) as reader:
        total = len(reader)
        if n_frames:
            idx = np.unique(np.linspace(0, total - 1, min(n_frames, total)).round().astype(int))
        else:
            idx = np.arange(0, total, max(1, int(every or 1)))
        for k in idx.tolist():
            yield k, reader[k]


def _fingerprint(board: Board, files: Sequence[Path], sampling: tuple) -> str:
    parts = [json.dumps(board_to_dict(board), sort_keys=True), repr(sampling)]
    for f in files:
        st = f.stat()
        parts.append(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def _save_cache(path: Path, det: CameraDetections, fp: str) -> None:
    lens = np.array([len(i) for i in det.ids], dtype=np.int64)
    ids = np.concatenate(det.ids) if det.ids else np.zeros(0, np.int64)
    corners = np.concatenate(det.corners) if det.corners else np.zeros((0, 2))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, fingerprint=fp, keys=np.array(det.keys, dtype=str),
                     sources=np.array(det.sources, dtype=str), lengths=lens, ids=ids,
                     corners=corners, size=np.array(det.size or (0, 0)))

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write, backup=False)


def _load_cache(path: Path, name: str, fp: str) -> CameraDetections | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            if str(z["fingerprint"]) != fp:
                return None
            lens = z["lengths"]
            cuts = np.cumsum(lens)[:-1]
            size = tuple(int(v) for v in z["size"])
            return CameraDetections(name, size if size != (0, 0) else None,
                                    [str(k) for k in z["keys"]], np.split(z["ids"], cuts),
                                    np.split(z["corners"], cuts), [str(s) for s in z["sources"]])
    except (OSError, KeyError, ValueError):
        return None


def resolve_board(board: Board, samples: Sequence[np.ndarray]) -> Board:
    """Fix ChArUco's legacy/inverted choice on a few images (the variant that finds most)."""
    if not isinstance(board, CharucoBoard) or (board.legacy is not None
                                               and board.inverted is not None):
        return board
    legacies = [board.legacy] if board.legacy is not None else [False, True]
    inverts = [board.inverted] if board.inverted is not None else [False, True]
    best, best_n = board.resolved(legacies[0], inverts[0]), -1
    for lg in legacies:
        for inv in inverts:
            cand = board.resolved(lg, inv)
            n = sum(len(cand.detect(img)[0]) for img in samples)
            if n > best_n:
                best, best_n = cand, n
    return best


def detect_camera(board: Board, name: str, source, cache_dir: str | os.PathLike | None = None,
                  every: int | None = None, n_frames: int | None = None,
                  progress: bool = False) -> CameraDetections:
    """Detect ``board`` in one camera's images (list of files or a folder) or video."""
    from tqdm import tqdm

    video: Path | None = None
    files: list[Path]
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        files = sorted((p for p in Path(source).iterdir()
                        if p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: _natural(p.name))
    elif (isinstance(source, (str, os.PathLike))
          and Path(source).suffix.lower() in VIDEO_EXTENSIONS):
        video = Path(source)
        files = [video]
    elif isinstance(source, (str, os.PathLike)):
        files = [Path(source)]
    else:
        files = sorted((Path(p) for p in source), key=lambda p: _natural(p.name))
    for f in files:
        if not f.is_file():
            raise VideoError("calibration image or video not found", f)
    if not files:
        raise ArgumentError(f"camera {name!r}: no calibration images or video found in {source}")
    fp = _fingerprint(board, files, (every, n_frames))
    cache = Path(cache_dir) / f"{name}_detections.npz" if cache_dir is not None else None
    if cache is not None and (hit := _load_cache(cache, name, fp)) is not None:
        return hit
    keys, ids, corners, sources = [], [], [], []
    size = None
    if video is not None:
        it = _video_frames(video, every, n_frames)
    else:
        it = ((view_key(f.name, name), f) for f in files)
    for key, item in tqdm(it, desc=f"boards in {name}", disable=not progress, leave=False):
        img = item if video is not None else _read_image(item)
        size = (int(img.shape[1]), int(img.shape[0]))
        i, c = board.detect(img)
        keys.append(str(key))
        ids.append(i)
        corners.append(c)
        sources.append(f"{video.name}:{key}" if video is not None else str(item))
    det = CameraDetections(name, size, keys, ids, corners, sources)
    if cache is not None:
        _save_cache(cache, det, fp)
    return det


def detect_boards(board: Board, sources: Mapping[str, object],
                  cache_dir: str | os.PathLike | None = None, every: int | None = None,
                  n_frames: int | None = None, progress: bool = False) -> Detections:
    """Detect in every camera's ``sources[camera]`` (images, a folder or a video).

    ChArUco boards with ``legacy``/``inverted`` left to "auto" are resolved first on a
    few images of the first camera that has some, so all views use one pattern.
    """
    board = _resolve_on_samples(board, sources)
    cams = [detect_camera(board, name, src, cache_dir, every, n_frames, progress)
            for name, src in sources.items()]
    return Detections(cams, board)


def _resolve_on_samples(board: Board, sources: Mapping[str, object]) -> Board:
    if not isinstance(board, CharucoBoard) or (board.legacy is not None
                                               and board.inverted is not None):
        return board
    samples = []
    for src in sources.values():
        if isinstance(src, (str, os.PathLike)) and Path(src).suffix.lower() in VIDEO_EXTENSIONS:
            samples += [img for _, img in _video_frames(Path(src), None, 3)]
        else:
            if isinstance(src, (str, os.PathLike)) and Path(src).is_dir():
                files = sorted(p for p in Path(src).iterdir()
                               if p.suffix.lower() in IMAGE_EXTENSIONS)
            elif isinstance(src, (str, os.PathLike)):
                files = [Path(src)]
            else:
                files = [Path(p) for p in src]
            step = max(1, len(files) // 3)
            samples += [_read_image(f) for f in files[::step][:3]]
        if len(samples) >= 3:
            break
    return resolve_board(board, samples)


def detections_from_arrays(board: Board, names: Sequence[str], corners: np.ndarray,
                           sizes: Sequence[tuple[int, int]] | None = None) -> Detections:
    """Detections from (n_cams, n_views, n_corners, 2) pixels with NaN for unseen corners
    (synthetic data, or corners found by another tool)."""
    corners = np.asarray(corners, dtype=np.float64)
    cams = []
    for c, name in enumerate(names):
        keys, ids, pts = [], [], []
        for v in range(corners.shape[1]):
            ok = np.isfinite(corners[c, v]).all(axis=-1)
            keys.append(str(v))
            ids.append(np.flatnonzero(ok).astype(np.int64))
            pts.append(corners[c, v][ok])
        cams.append(CameraDetections(name, tuple(sizes[c]) if sizes else None, keys, ids, pts,
                                     [str(k) for k in keys]))
    return Detections(cams, board)
