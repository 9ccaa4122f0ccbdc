"""napari reader: videos, DeepLabCut label/analysis files and whole projects.

``napari_get_reader`` only looks at names and file headers (cheap, no side
effects, never raises) and returns ``None`` for files that are not ours.
Labels always come from the files on disk: opening a project can never show
an empty layer in place of existing keypoints (napari-deeplabcut #161).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from markerless.napari.layers.convert import poses_to_points

#: Building dask arrays from several threads at once leaves dask (2026.8) unable to
#: tokenize its own expressions afterwards; napari and the docks build layers in worker
#: threads, so every layer construction here is serialised.
DASK_BUILD_LOCK = threading.RLock()


def _serialised(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with DASK_BUILD_LOCK:
            return fn(*args, **kwargs)

    return wrapper

LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[str | list[str]], list[LayerData]]
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def napari_get_reader(path: str | list[str]) -> ReaderFunction | None:
    """Return a reader for ``path`` if markerless understands it, else ``None``."""
    if isinstance(path, list):
        readers = [napari_get_reader(p) for p in path]
        if not path or any(r is None for r in readers):
            return None
        return lambda paths: [layer for p, r in zip(paths, readers, strict=True) for layer in r(p)]
    try:
        return _choose_reader(Path(path))
    except Exception:  # noqa: BLE001 - a reader probe must never raise
        return None


def _choose_reader(path: Path) -> ReaderFunction | None:
    from markerless.io.dlc_analysis import is_dlc_analysis
    from markerless.io.dlc_labels import is_dlc_labels

    if path.is_dir():
        if (path / "config.yaml").is_file():
            return lambda p: read_project(Path(p) / "config.yaml")
        if _labels_in_folder(path) or _images_in_folder(path):
            return lambda p: read_labeled_folder(Path(p))
        return None
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES and path.is_file():
        return lambda p: read_video_layer(Path(p))
    if path.name == "config.yaml" and path.is_file():
        return lambda p: read_project(Path(p))
    if suffix in {".h5", ".csv"}:
        if is_dlc_labels(path):
            return lambda p: read_labeled_folder(Path(p).parent, labels_file=Path(p))
        if is_dlc_analysis(path):
            return lambda p: read_analysis_layer(Path(p))
    return None


# --- videos -----------------------------------------------------------------
@_serialised
def read_video_layer(path: Path) -> list[LayerData]:
    """An Image layer backed by the lazy, GOP-chunked dask array of the video."""
    from markerless.io.video_dask import read_video

    frames = read_video(path)
    meta = {"markerless": {"kind": "video", "video_path": str(path)}}
    return [(frames, {"name": path.stem, "rgb": True, "metadata": meta}, "image")]


# --- labeled frames ---------------------------------------------------------
def _labels_in_folder(folder: Path) -> list[Path]:
    found = sorted(folder.glob("CollectedData_*.h5")) or sorted(folder.glob("CollectedData_*.csv"))
    return found


def _images_in_folder(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.endswith(".tmp.png"))


def _project_root(folder: Path) -> Path:
    """labeled-data/<video> -> the project folder (or the folder's parent's parent)."""
    return folder.parent.parent if folder.parent.name == "labeled-data" else folder.parent


class _ImageFiles:
    """Array-like (N, H, W, 3) view of image files that reads a frame only when indexed.

    Given to ``dask.array.from_array`` with an explicit name, so building the
    stack never tokenizes file contents (dask's tokenizer is not thread-safe for
    delayed objects built concurrently in napari's worker threads).
    """

    def __init__(self, paths: list[Path]):
        import imageio.v3 as iio

        self.paths = list(paths)
        first = self._load(paths[0], iio)
        self.frame_shape = first.shape
        self.dtype = first.dtype
        self.shape = (len(paths), *first.shape)
        self.ndim = 4
        stamp = "|".join(f"{p}:{p.stat().st_mtime_ns}" for p in self.paths)
        self.token = hashlib.sha1(stamp.encode()).hexdigest()

    def __dask_tokenize__(self) -> str:
        return self.token

    @staticmethod
    def _load(path: Path, iio) -> np.ndarray:
        img = np.asarray(iio.imread(path))
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        return img[..., :3]

    def __getitem__(self, key):
        import imageio.v3 as iio

        from markerless.errors import LabelFileError

        key = key if isinstance(key, tuple) else (key,)
        idx = np.arange(len(self.paths))[key[0]]
        frames = []
        for i in np.atleast_1d(idx):
            img = self._load(self.paths[int(i)], iio)
            if img.shape != self.frame_shape:
                raise LabelFileError(
                    f"Image {self.paths[int(i)]} has shape {img.shape}, "
                    f"expected {self.frame_shape}"
                )
            frames.append(img)
        out = np.stack(frames) if frames else np.zeros((0, *self.frame_shape), self.dtype)
        out = out[(slice(None), *key[1:])]
        return out[0] if np.ndim(idx) == 0 else out


def image_stack(paths: list[Path]):
    """Lazy (N, H, W, 3) dask stack of image files, one chunk per image."""
    import dask.array as da

    files = _ImageFiles(paths)
    name = "markerless-frames-" + files.token
    return da.from_array(files, chunks=(1, *files.frame_shape), name=name,
                         asarray=False, meta=np.zeros((0, 0, 0, 0), files.dtype))


@_serialised
def read_labeled_folder(
    folder: Path, labels_file: Path | None = None, config: dict | None = None
) -> list[LayerData]:
    """The frames of ``labeled-data/<video>`` as an Image layer plus their keypoints as Points.

    Extracted frames that have no labels yet are included (unlabeled), so the user
    can label them; bodyparts listed in config.yaml but not in the file are added.
    """
    from markerless.io.dlc_labels import read_labels

    folder = Path(folder)
    root = _project_root(folder)
    if config is None and (root / "config.yaml").is_file():
        from markerless.io.config import read_config

        config = read_config(root / "config.yaml")
    labels_file = labels_file or next(iter(_labels_in_folder(folder)), None)
    images = _images_in_folder(folder)
    prefix = f"labeled-data/{folder.name}/"
    if labels_file is not None:
        poses = read_labels(labels_file)
    else:
        poses = _empty_poses(config, [], folder)
    # union of labeled frames and images on disk, in name order
    known = {Path(str(f)).name: f for f in poses.frames}
    names = sorted(set(known) | {p.name for p in images})
    frames = [known.get(n, prefix + n) for n in names]
    poses = _conform(poses, frames, config)
    paths = [folder / Path(str(f)).name for f in poses.frames]
    missing = [p for p in paths if not p.exists()]
    layers: list[LayerData] = []
    meta_extra = {
        "root": str(root),
        "folder": str(folder),
        "labels_path": str(labels_file) if labels_file else
        str(folder / f"CollectedData_{poses.scorer}.h5"),
        "image_paths": [str(p) for p in paths],
    }
    if paths and not missing:
        frames_meta = {"kind": "frames", "folder": str(folder), "root": str(root),
                       "image_paths": meta_extra["image_paths"]}
        layers.append((image_stack(paths), {"name": folder.name, "rgb": True,
                                             "metadata": {"markerless": frames_meta}},
                       "image"))
    colormap = str((config or {}).get("colormap") or "rainbow")
    size = float((config or {}).get("dotsize") or 8)
    data, kwargs = poses_to_points(poses, kind="labels", colormap=colormap,
                                   extra_meta=meta_extra, size=size)
    kwargs["name"] = f"CollectedData_{poses.scorer} {folder.name}"
    layers.append((data, kwargs, "points"))
    return layers


def _empty_poses(config: dict | None, frames: list, folder: Path):
    from markerless.errors import ConfigError
    from markerless.io.config import get_bodyparts, get_individuals, get_unique_bodyparts
    from markerless.poses import UNIQUE_INDIVIDUAL, Poses

    if config is None:
        raise ConfigError(f"{folder} has no CollectedData file and no config.yaml above it "
                          "to say which bodyparts to label")
    bodyparts = list(get_bodyparts(config))
    individuals = list(get_individuals(config)) if config.get("multianimalproject") else [""]
    unique = list(get_unique_bodyparts(config)) if config.get("multianimalproject") else []
    defined = None
    if unique:
        individuals = individuals + [UNIQUE_INDIVIDUAL]
        n_ma = len(bodyparts)
        bodyparts = bodyparts + unique
        defined = np.zeros((len(individuals), len(bodyparts)), bool)
        defined[:-1, :n_ma] = True
        defined[-1, n_ma:] = True
    return Poses.empty(frames, bodyparts, individuals, str(config.get("scorer", "markerless")),
                       defined)


def _conform(poses, frames: list, config: dict | None):
    """Reindex ``poses`` onto ``frames``; add config bodyparts the file lacks (never drop any)."""
    from markerless.poses import Poses

    pos = {str(f): i for i, f in enumerate(poses.frames)}
    bodyparts = list(poses.bodyparts)
    defined = poses.defined
    if config is not None and not poses.multianimal:
        from markerless.io.config import get_bodyparts

        extra = [bp for bp in get_bodyparts(config) if bp not in bodyparts]
        bodyparts += extra
        defined = np.concatenate([defined, np.ones((len(poses.individuals), len(extra)), bool)], 1)
    xy = np.full((len(frames), len(poses.individuals), len(bodyparts), 2), np.nan)
    src = [pos.get(str(f), -1) for f in frames]
    have = np.array([s >= 0 for s in src], dtype=bool)
    if have.any():
        xy[have, :, : poses.n_keypoints] = poses.xy[[s for s in src if s >= 0]]
    return Poses(xy, bodyparts, poses.individuals, frames, poses.scorer, None, defined)


# --- projects and analysis --------------------------------------------------
@_serialised
def read_project(config_path: Path) -> list[LayerData]:
    """Every labeled-data folder of the project: frames + keypoints (existing labels shown)."""
    from markerless.io.config import read_config
    from markerless.project.check_labels import labeled_data_folders

    config = read_config(config_path)
    layers: list[LayerData] = []
    for folder in labeled_data_folders(config_path.parent):  # not check_labels' drawings
        if _labels_in_folder(folder) or _images_in_folder(folder):
            layers += read_labeled_folder(folder, config=config)
    return layers


@_serialised
def read_analysis_layer(path: Path) -> list[LayerData]:
    """Predictions from an analysis .h5/.csv as a Points layer on video frame indices."""
    from markerless.io.dlc_analysis import read_analysis

    poses = read_analysis(path)
    data, kwargs = poses_to_points(
        poses, kind="analysis", extra_meta={"analysis_path": str(path)}, size=6.0
    )
    kwargs["name"] = f"{path.stem}"
    return [(data, kwargs, "points")]
