"""Frame extraction: pick diverse frames from videos into labeled-data/<video>/imgNNN.png.

Same name, arguments and file naming as DeepLabCut's ``extract_frames``. k-means
runs on small grey thumbnails read chunk by chunk, so memory stays flat in video
length; frames that already exist (and may carry labels) are never overwritten.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from markerless.errors import ConfigError
from markerless.io.config import read_config
from markerless.validate import positive_int

THUMB_SIZE = 32  # thumbnails are at most THUMB_SIZE pixels on their long side


def frame_name(index: int, n_frames: int) -> str:
    """DeepLabCut's PNG name: ``img`` + index zero-padded to the digits of the frame count."""
    width = int(math.ceil(math.log10(max(n_frames, 2))))
    return f"img{str(int(index)).zfill(width)}.png"


def frame_index(name: str) -> int | None:
    """Inverse of :func:`frame_name` (None for names that are not ``img<digits>.png``)."""
    stem = Path(name).stem
    digits = stem[3:] if stem.startswith("img") else ""
    return int(digits) if digits.isdigit() else None


def thumbnails(video: str | os.PathLike, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Flattened grey thumbnails (n, h*w) of the given frames, read one GOP chunk at a time.

    ``indices`` must be sorted; each chunk is decoded once, by one sequential read.
    """
    from markerless.io.video import VideoReader, video_chunks

    wanted = np.asarray(indices, dtype=int)
    with VideoReader(video) as reader:
        info = reader.info
        f = max(1, int(math.ceil(max(info.height, info.width) / THUMB_SIZE)))
        h, w = info.height // f, info.width // f
        thumbs = np.empty((len(wanted), h * w), np.float32)
        for c0, c1 in video_chunks(info):
            pos = np.flatnonzero((wanted >= c0) & (wanted < c1))
            if len(pos) == 0:
                continue
            sel = wanted[pos]
            block = reader.read_range(c0, int(sel[-1]) + 1)[sel - c0]
            grey = block[:, : h * f, : w * f].mean(axis=-1, dtype=np.float32)
            small = grey.reshape(len(sel), h, f, w, f).mean(axis=(2, 4))
            thumbs[pos] = small.reshape(len(sel), -1)
    return thumbs


def kmeans_pick(thumbs: np.ndarray, indices: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """From ``n`` k-means clusters of thumbnails, the frame index nearest each centre (sorted)."""
    from sklearn.cluster import MiniBatchKMeans

    indices = np.asarray(indices, dtype=int)
    if len(indices) <= n:
        return np.sort(indices)
    x = thumbs - thumbs.mean(axis=0)
    km = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024)
    labels = km.fit_predict(x)
    dist = np.linalg.norm(x - km.cluster_centers_[labels], axis=1)
    picked = [indices[labels == c][np.argmin(dist[labels == c])] for c in np.unique(labels)]
    return np.sort(np.asarray(picked, dtype=int))


def select_frames(
    video: str | os.PathLike,
    n: int,
    algo: str = "kmeans",
    start: float = 0.0,
    stop: float = 1.0,
    cluster_step: int = 1,
    max_candidates: int = 5000,
    seed: int = 0,
) -> np.ndarray:
    """Indices of ``n`` frames spread over the video (``uniform``) or its appearance (``kmeans``).

    ``start``/``stop`` are fractions of the video, as in DeepLabCut's config.
    k-means picks, from each of ``n`` clusters of thumbnails, the frame nearest the centre.
    """
    from markerless.io.video import probe_video

    info = probe_video(video)
    first = int(start * info.n_frames)
    last = max(first + 1, int(stop * info.n_frames))
    if n <= 0:
        return np.zeros(0, int)
    if algo == "uniform":
        return np.unique(np.linspace(first, last - 1, n).round().astype(int))
    if algo != "kmeans":
        raise ConfigError(
            f"Unknown frame extraction algorithm {algo!r}: use 'kmeans' or 'uniform'")
    step = max(cluster_step, int(math.ceil((last - first) / max_candidates)))
    idx = np.arange(first, last, step)
    if len(idx) <= n:
        return idx
    return kmeans_pick(thumbnails(video, idx), idx, n, seed)


def write_frames(
    video: str | os.PathLike, indices: Sequence[int], folder: str | os.PathLike
) -> list[Path]:
    """Save frames as PNGs named like DeepLabCut; existing files are kept untouched."""
    import imageio.v3 as iio

    from markerless.io.video import VideoReader

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with VideoReader(video) as reader:
        n_frames = len(reader)
        for i in sorted(int(i) for i in indices):
            out = folder / frame_name(i, n_frames)
            if out.exists():
                continue
            tmp = out.with_name(out.stem + ".tmp.png")
            iio.imwrite(tmp, reader[i])
            os.replace(tmp, out)
            written.append(out)
    return written


def _config_videos(cfg: dict, project_path: Path) -> Iterator[tuple[Path, dict]]:
    from markerless.project.videos import iter_project_videos

    for video in iter_project_videos(cfg, project_path):
        # a missing file is named where it was looked for; reading it raises VideoError
        yield (video.path or project_path / video.display_path), dict(video.entry)


def extract_frames(
    config: str | os.PathLike,
    mode: str = "automatic",
    algo: str = "kmeans",
    crop: bool = False,
    userfeedback: bool = False,
    cluster_step: int = 1,
    videos: Sequence[str | os.PathLike] | None = None,
    numframes2pick: int | None = None,
    seed: int = 0,
) -> dict[str, list[Path]]:
    """Extract ``numframes2pick`` frames per video into ``labeled-data/<video stem>/``.

    ``mode='automatic'`` only (manual picking happens in napari: "add current frame").
    ``crop=True`` is accepted for DeepLabCut compatibility; frames are saved whole and
    the crop box stays in config.yaml. ``userfeedback`` is ignored (no prompts: safe on
    clusters). Returns the PNGs written per video.
    """
    if mode != "automatic":
        raise ConfigError("extract_frames(mode='manual') is done in napari (Frames dock)")
    config = Path(config)
    cfg = read_config(config)
    project_path = config.parent
    n = positive_int(cfg.get("numframes2pick") or 20 if numframes2pick is None
                     else numframes2pick, "numframes2pick")
    start, stop = float(cfg.get("start", 0) or 0), float(cfg.get("stop", 1) or 1)
    targets = (
        [(Path(v), {}) for v in videos] if videos is not None
        else list(_config_videos(cfg, project_path))
    )
    out: dict[str, list[Path]] = {}
    for video, _entry in targets:
        idx = select_frames(video, n, algo, start, stop, cluster_step, seed=seed)
        folder = project_path / "labeled-data" / video.stem
        out[str(video)] = write_frames(video, idx, folder)
    return out
