"""``create_labeled_video``: the video with its predicted keypoints, skeleton and trails drawn on.

Streams chunk by chunk (one GOP-aligned block decoded while the previous one is
drawn and piped to ffmpeg), so memory stays flat in video length; drawing is
vectorised over every keypoint of a chunk (:mod:`markerless.drawing`).
Output names follow DeepLabCut: ``<video stem><scorer>_labeled.mp4`` (or
``..._filtered_labeled.mp4``) next to the video, in ``destfolder`` or ``output_path``.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from markerless.drawing import draw_discs, draw_segments
from markerless.errors import ConfigError
from markerless.poses import Poses
from markerless.postprocessing.common import (
    PoseSource,
    bodypart_colors,
    list_videos,
    model_scorer,
    plot_settings,
    read_project,
    resolve_analysis,
    select_names,
)

__all__ = ["LabelStyle", "create_labeled_video", "iter_create_labeled_video", "iter_labeled_video"]

log = logging.getLogger(__name__)

#: DeepLabCut/OpenCV fourcc names -> ffmpeg encoders.
_CODEC_ALIASES = {"mp4v": "mpeg4", "xvid": "mpeg4", "divx": "mpeg4", "avc1": "libx264",
                  "h264": "libx264", "x264": "libx264", "hevc": "libx265"}  # fmt: skip
#: decoded frames held per chunk (a GOP-aligned block is read at once).
CHUNK_BYTES = 48 * 2**20


@dataclass
class LabelStyle:
    """How keypoints are drawn (DeepLabCut's config names; see :func:`iter_labeled_video`)."""

    dotsize: float = 12
    alphavalue: float = 0.7
    colormap: str = "rainbow"
    pcutoff: float = 0.6
    color_by: str = "bodypart"
    skeleton: Sequence[tuple[str, str]] = ()
    skeleton_color: str | Sequence[float] = "black"
    draw_skeleton: bool = False
    trailpoints: int = 0
    linewidth: int = 1


class _Layout:
    """The drawn points (flattened individual x bodypart), their colours and skeleton edges."""

    def __init__(self, poses: Poses, style: LabelStyle, bodyparts, individuals):
        from matplotlib.colors import to_rgb

        kp = select_names(poses.bodyparts, bodyparts)
        ind = select_names(poses.individuals, individuals, "individuals")
        ii, kk = np.meshgrid(ind, kp, indexing="ij")
        keep = poses.defined[ii, kk].ravel()
        self.ind, self.kp = ii.ravel()[keep], kk.ravel()[keep]
        if style.color_by == "bodypart":
            cols, which = bodypart_colors(len(kp), style.colormap), np.searchsorted(kp, self.kp)
        elif style.color_by == "individual":
            cols, which = bodypart_colors(len(ind), style.colormap), np.searchsorted(ind, self.ind)
        else:
            raise ConfigError(
                f"color_by must be 'bodypart' or 'individual', got {style.color_by!r}"
            )
        self.colors = np.rint(cols[which] * 255).astype(np.uint8)
        pairs = zip(self.ind.tolist(), self.kp.tolist(), strict=True)
        where = {pair: p for p, pair in enumerate(pairs)}
        names = {b: k for k, b in enumerate(poses.bodyparts)}
        edges = []
        if style.draw_skeleton:
            for a, b in style.skeleton:
                if a not in names or b not in names:
                    raise ConfigError(f"skeleton edge {[a, b]} names a bodypart the results lack")
                for i in ind:
                    pa, pb = where.get((int(i), names[a])), where.get((int(i), names[b]))
                    if pa is not None and pb is not None:
                        edges.append((pa, pb))
        self.edges = np.asarray(edges, dtype=int).reshape(-1, 2)
        rgb = to_rgb(style.skeleton_color)
        self.edge_colors = np.tile(np.rint(np.asarray(rgb) * 255), (len(self.edges), 1))


def _row_map(poses: Poses, n_video: int) -> np.ndarray | None:
    """Row of ``poses`` for each video frame (-1: none); None when rows are frames 0..n-1."""
    try:
        numbers = np.asarray([int(f) for f in poses.frames], dtype=np.int64)
    except (TypeError, ValueError):
        raise ConfigError("labeled videos need results indexed by video frame number") from None
    if len(numbers) >= n_video and np.array_equal(numbers[:n_video], np.arange(n_video)):
        return None
    rows = np.full(n_video, -1, np.int64)
    ok = (numbers >= 0) & (numbers < n_video)
    rows[numbers[ok]] = np.flatnonzero(ok)
    return rows


def _gather(poses: Poses, layout: _Layout, rows: np.ndarray | None, start: int, stop: int,
            pcutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """``(xy (n, P, 2), visible (n, P))`` for video frames ``start..stop-1`` (may start < 0)."""
    frames = np.arange(start, stop)
    r = frames if rows is None else rows[np.clip(frames, 0, len(rows) - 1)]
    have = (frames >= 0) & (r >= 0) & (r < poses.n_frames)
    r = np.where(have, r, 0)
    xy = poses.xy[r][:, layout.ind, layout.kp]
    visible = have[:, None] & np.isfinite(xy).all(-1)
    if poses.likelihood is not None:
        visible &= poses.likelihood[r][:, layout.ind, layout.kp] >= pcutoff
    return xy, visible


def _draw(chunk: np.ndarray, start: int, poses: Poses, layout: _Layout, rows, style: LabelStyle):
    """Trails (oldest first, fading), skeleton, then the current keypoints onto ``chunk``."""
    n = len(chunk)
    radius = float(style.dotsize)
    for k in range(int(style.trailpoints), 0, -1):
        xy, vis = _gather(poses, layout, rows, start - k, start - k + n, style.pcutoff)
        fade = style.alphavalue * (1 - k / (style.trailpoints + 1))
        draw_discs(chunk, xy, vis, layout.colors, max(radius / 2, 1), fade)
    xy, vis = _gather(poses, layout, rows, start, start + n, style.pcutoff)
    if len(layout.edges):
        a, b = layout.edges[:, 0], layout.edges[:, 1]
        draw_segments(chunk, xy[:, a], xy[:, b], vis[:, a] & vis[:, b], layout.edge_colors,
                      style.alphavalue, style.linewidth)  # fmt: skip
    draw_discs(chunk, xy, vis, layout.colors, radius, style.alphavalue)


def iter_labeled_video(
    video: str | os.PathLike,
    poses: Poses,
    output: str | os.PathLike,
    style: LabelStyle | None = None,
    *,
    bodyparts: str | Sequence[str] = "all",
    individuals: str | Sequence[str] = "all",
    codec: str = "libx264",
    crf: float = 20,
    preset: str | None = "veryfast",
    save_frames: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[dict[str, Any]]:
    """Write ``output`` (``video`` with ``poses`` drawn on), yielding progress after each chunk.

    Events: ``{"video", "output", "status" ("running"/"done"), "frames_done", "n_frames",
    "fps"}``. Points below ``style.pcutoff`` likelihood or NaN are not drawn. ``save_frames``
    also writes every labeled frame as a PNG into ``<output stem>_frames/``. The output
    appears atomically when the last frame is encoded; closing the generator early
    leaves no file.
    """
    from markerless.io.video import VideoReader, video_chunks
    from markerless.io.video_write import VideoWriter

    style = style or LabelStyle()
    layout = _Layout(poses, style, bodyparts, individuals)
    output = Path(output)
    codec = _CODEC_ALIASES.get(codec.lower(), codec)
    frames_dir = output.with_name(output.stem + "_frames") if save_frames else None
    with VideoReader(video, cache_bytes=0) as reader, ThreadPoolExecutor(1) as pool:
        info = reader.info
        rows = _row_map(poses, info.n_frames)
        chunks = video_chunks(info, chunk_bytes)
        pix_fmt = "yuv420p" if info.width % 2 == 0 and info.height % 2 == 0 else "yuv444p"
        writer = VideoWriter(output, info.fps, (info.width, info.height), codec=codec, crf=crf,
                             preset=preset, pix_fmt=pix_fmt)  # fmt: skip
        done, t0 = 0, time.perf_counter()
        event = {"video": str(video), "output": str(output), "status": "running",
                 "frames_done": 0, "n_frames": info.n_frames, "fps": None}  # fmt: skip
        try:
            if frames_dir is not None:
                frames_dir.mkdir(parents=True, exist_ok=True)
            pending = pool.submit(reader.read_range, *chunks[0]) if chunks else None
            for i, (c0, _c1) in enumerate(chunks):
                chunk = pending.result()
                if i + 1 < len(chunks):  # decode the next chunk while this one is drawn
                    pending = pool.submit(reader.read_range, *chunks[i + 1])
                _draw(chunk, c0, poses, layout, rows, style)
                writer.write(chunk)
                if frames_dir is not None:
                    _save_pngs(chunk, c0, info.n_frames, frames_dir)
                done += len(chunk)
                yield dict(event, frames_done=done, fps=done / (time.perf_counter() - t0))
            writer.close()
        except BaseException:
            writer.abort()
            raise
    yield dict(event, status="done", frames_done=done, fps=done / (time.perf_counter() - t0))


def _save_pngs(chunk: np.ndarray, start: int, n_frames: int, folder: Path) -> None:
    import imageio.v3 as iio

    from markerless.project.frames import frame_name

    for j, frame in enumerate(chunk):  # PNG encoding is per image by nature
        iio.imwrite(folder / frame_name(start + j, n_frames), frame)


def iter_create_labeled_video(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtered: bool = False,
    save_frames: bool = False,
    draw_skeleton: bool = False,
    trailpoints: int = 0,
    displayedbodyparts: str | Sequence[str] = "all",
    pcutoff: float | None = None,
    color_by: str = "bodypart",
    output_path: str | os.PathLike | None = None,
    dotsize: float | None = None,
    codec: str = "libx264",
    *,
    displayedindividuals: str | Sequence[str] = "all",
    destfolder: str | os.PathLike | None = None,
    analysis: PoseSource | Mapping[str, PoseSource] | None = None,
    overwrite: bool = False,
    alphavalue: float | None = None,
    colormap: str | None = None,
    skeleton_color: str | None = None,
    crf: float = 20,
    preset: str | None = "veryfast",
) -> Iterator[dict[str, Any]]:
    """Generator form of :func:`create_labeled_video` (progress events of every video, for napari).

    A video whose labeled video exists yields one event with ``status="skipped"``
    unless ``overwrite``.
    """
    cfg, project = read_project(config)
    settings = plot_settings(cfg, dotsize=dotsize, pcutoff=pcutoff, alphavalue=alphavalue,
                             colormap=colormap, skeleton_color=skeleton_color)  # fmt: skip
    style = LabelStyle(settings["dotsize"], settings["alphavalue"], settings["colormap"],
                       settings["pcutoff"], color_by, settings["skeleton"],
                       settings["skeleton_color"], draw_skeleton, int(trailpoints))  # fmt: skip
    scorer = None if analysis is not None else model_scorer(project, shuffle, trainingsetindex)
    for video in list_videos(videos, videotype):
        poses, name = resolve_analysis(project, video, shuffle, trainingsetindex, filtered,
                                       destfolder, analysis, scorer)  # fmt: skip
        folder = Path(output_path or destfolder or video.parent)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "_filtered_labeled.mp4" if filtered else "_labeled.mp4"
        output = folder / f"{video.stem}{name}{suffix}"
        if output.exists() and not overwrite:
            yield {"video": str(video), "output": str(output), "status": "skipped",
                   "frames_done": 0, "n_frames": 0, "fps": None}  # fmt: skip
            continue
        yield from iter_labeled_video(video, poses, output, style, bodyparts=displayedbodyparts,
                                      individuals=displayedindividuals, codec=codec, crf=crf,
                                      preset=preset, save_frames=save_frames)  # fmt: skip


def create_labeled_video(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtered: bool = False,
    save_frames: bool = False,
    draw_skeleton: bool = False,
    trailpoints: int = 0,
    displayedbodyparts: str | Sequence[str] = "all",
    pcutoff: float | None = None,
    color_by: str = "bodypart",
    output_path: str | os.PathLike | None = None,
    dotsize: float | None = None,
    codec: str = "libx264",
    *,
    progress: bool = True,
    **kwargs: Any,
) -> list[str]:
    """Draw analysis results onto videos (DeepLabCut's ``create_labeled_video``).

    Parameters
    ----------
    config, videos, videotype, shuffle, trainingsetindex, filtered
        Which videos and which results (``..._filtered.h5`` with ``filtered``), found by
        the model's scorer in ``destfolder`` (default: next to each video), or given
        with ``analysis=`` (Poses, a file, or a mapping video -> either).
    draw_skeleton, trailpoints, displayedbodyparts, color_by
        Skeleton lines from config ``skeleton``/``skeleton_color``; fading trails of the
        last ``trailpoints`` positions; which bodyparts; colour per ``"bodypart"`` or
        ``"individual"`` from config ``colormap``.
    pcutoff, dotsize
        Override config.yaml (points below ``pcutoff`` are not drawn; ``dotsize`` is the
        disc radius in pixels). ``alphavalue=``, ``colormap=``, ``skeleton_color=`` too.
    output_path
        Folder for the labeled videos (default ``destfolder`` or the video's folder).
    codec
        ffmpeg encoder (DeepLabCut's ``mp4v`` maps to ``mpeg4``); ``crf=``/``preset=`` tune it.
    progress
        Show a tqdm bar per video.
    kwargs
        ``displayedindividuals``, ``destfolder``, ``analysis``, ``overwrite``, ``alphavalue``,
        ``colormap``, ``skeleton_color``, ``crf``, ``preset``; DeepLabCut-only options
        (``fastmode``, ``keypoints_only``, ...) are ignored with a warning.

    Returns
    -------
    list of str
        The labeled videos (written now or already there).
    """
    from tqdm.auto import tqdm

    known = {"displayedindividuals", "destfolder", "analysis", "overwrite", "alphavalue",
             "colormap", "skeleton_color", "crf", "preset"}  # fmt: skip
    ignored = sorted(set(kwargs) - known)
    if ignored:
        warnings.warn(f"ignored DeepLabCut options: {ignored}", stacklevel=2)
    kw = {k: v for k, v in kwargs.items() if k in known}
    outputs: list[str] = []
    bar = None
    for ev in iter_create_labeled_video(config, videos, videotype, shuffle, trainingsetindex,
                                        filtered, save_frames, draw_skeleton, trailpoints,
                                        displayedbodyparts, pcutoff, color_by, output_path,
                                        dotsize, codec, **kw):  # fmt: skip
        if ev["status"] == "skipped":
            log.warning("%s exists; pass overwrite=True to draw it again", ev["output"])
        if ev["status"] in ("skipped", "done"):
            outputs.append(ev["output"])
            if bar is not None:
                bar.close()
                bar = None
            continue
        if progress:
            if bar is None:
                bar = tqdm(total=ev["n_frames"], desc=Path(ev["video"]).name, unit="frame")
            bar.update(ev["frames_done"] - bar.n)
    return outputs
