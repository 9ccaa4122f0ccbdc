"""Clip-level API: whole clips, streamed chunks, mp4 files, napari's sample."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from markerless.poses import SINGLE_ANIMAL, Poses
from markerless.synthetic import motion as mo
from markerless.synthetic import render
from markerless.synthetic.config import Layout, SyntheticConfig, layout

#: ``generate`` refuses clips larger than this (use ``iter_frames`` / ``write_clip``).
MAX_IN_MEMORY_BYTES = 4 * 2**30
#: ground-truth scorer name.
SCORER = "synthetic"
#: frames drawn together (results never depend on it).
_BLOCK = 16


class _Prepared(NamedTuple):
    lay: Layout
    motion: mo.Motion
    geom: mo.Frame
    xy: np.ndarray  # (n_frames, n_animals, K, 2)
    plan: render.NoisePlan
    offsets: np.ndarray  # (n_frames,) flicker + noise offset per frame, in [0, 2 flicker]


def _prepare(cfg: SyntheticConfig) -> _Prepared:
    lay = layout(cfg)
    m = mo.simulate(cfg, lay)
    g = mo.frame_geometry(m, lay)
    xy = mo.keypoints(m, g, lay, cfg.bodyparts)
    outside = (
        (xy[..., 0] < -0.5)
        | (xy[..., 0] > cfg.width - 0.5)
        | (xy[..., 1] < -0.5)
        | (xy[..., 1] > cfg.height - 0.5)
    )
    xy[outside] = np.nan
    plan = render.noise_plan(cfg.noise_std, cfg.flicker)
    offsets = np.zeros(cfg.n_frames, np.int64)
    if cfg.flicker:
        slow = mo.smooth_noise((cfg.seed, 5), cfg.n_frames, 0.7 * cfg.fps)
        fast = np.random.default_rng([cfg.seed, 6]).standard_normal(cfg.n_frames)
        offsets = cfg.flicker + np.rint(cfg.flicker * np.clip(0.6 * slow + 0.4 * fast, -1, 1))
        offsets = offsets.astype(np.int64)
    return _Prepared(lay, m, g, xy, plan, offsets)


def _poses(cfg: SyntheticConfig, xy: np.ndarray) -> Poses:
    individuals = (
        [SINGLE_ANIMAL] if cfg.n_animals == 1 else [f"animal{i}" for i in range(cfg.n_animals)]
    )
    return Poses(xy, list(cfg.bodyparts), individuals, list(range(len(xy))), scorer=SCORER)


def _render(
    cfg: SyntheticConfig, p: _Prepared, start: int, stop: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Frames ``start:stop``; ``out`` ((>= n, words) uint64) is reused when given."""
    n = stop - start
    h, w = cfg.height, cfg.width
    bg = render.background_words(h, w, cfg.seed, p.plan.scale)
    buf = np.empty((n, bg.size), np.uint64) if out is None else out[:n]
    buf[:] = bg
    frames = buf.view(np.uint8)[:, : h * w * 3].reshape(n, h, w, 3)
    # blocks of frames: tight boxes around the animals and cache-sized temporaries
    for b0 in range(0, n, _BLOCK):
        b1 = min(n, b0 + _BLOCK)
        sl = slice(start + b0, start + b1)
        m = mo.Motion(*(a[sl] for a in p.motion))
        g = mo.Frame(*(a[sl] for a in p.geom))
        render.draw_animals(frames[b0:b1], m, g, p.lay, p.plan.scale, cfg.identity_colors,
                            cfg.identity_stripes)
    render.add_noise(buf, start, cfg.seed, p.plan, p.offsets[start:stop])
    return frames if frames.flags.c_contiguous else np.ascontiguousarray(frames)


def iter_frames(
    config: SyntheticConfig, chunk: int = 64
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream the clip: ``(frames (c, H, W, 3) uint8, xy (c, n_animals, K, 2))`` per chunk.

    Memory stays flat whatever the clip length (about ``chunk`` frames at a
    time); the frames do not depend on ``chunk``. Keypoints follow
    :class:`~markerless.poses.Poses` (DeepLabCut pixel convention: pixel
    centres at integer coordinates); a keypoint outside the image would be NaN,
    which the layout never lets happen.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    p = _prepare(config)
    for start in range(0, config.n_frames, chunk):
        stop = min(config.n_frames, start + chunk)
        yield _render(config, p, start, stop), p.xy[start:stop].copy()


def ground_truth(config: SyntheticConfig) -> Poses:
    """The clip's keypoints without drawing any frame (cheap even for long clips)."""
    return _poses(config, _prepare(config).xy)


def generate(config: SyntheticConfig) -> tuple[np.ndarray, Poses]:
    """The whole clip in memory: ``(frames (n, H, W, 3) uint8, ground truth Poses)``.

    For short clips only (tests, demo, sample data); refuses more than
    :data:`MAX_IN_MEMORY_BYTES` of frames.
    """
    size = config.n_frames * config.height * config.width * 3
    if size > MAX_IN_MEMORY_BYTES:
        raise ValueError(
            f"A {config.n_frames}-frame {config.width}x{config.height} clip needs "
            f"{size / 2**30:.1f} GiB in memory; stream it with iter_frames() or write_clip()"
        )
    p = _prepare(config)
    return _render(config, p, 0, config.n_frames), _poses(config, p.xy)


def write_clip(
    path: str | os.PathLike,
    config: SyntheticConfig,
    gop: int | None = None,
    crf: float = 18,
    preset: str = "veryfast",
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    chunk: int = 32,
) -> Poses:
    """Write the clip to a video file (atomically, streaming) and return its ground truth.

    Parameters
    ----------
    gop
        Keyframe interval in frames (``None``: the encoder's default, 250 for
        libx264); e.g. 250 for long-GOP test videos, 1-10 for seek-friendly ones.
    crf, preset, codec, pix_fmt
        Encoder settings (see :class:`markerless.io.video_write.VideoWriter`).
        At crf 18 noise-free frames come back within ~2 grey levels on average
        (yuv420p halves the colour resolution) and the features at the
        keypoints keep their colours. Sensor noise is costly to encode: crf 23
        or ``preset="ultrafast"`` write about twice as fast.
    chunk
        Frames generated at a time (memory ~ ``chunk * H * W * 3`` bytes).
    """
    from markerless.io.video_write import VideoWriter

    p = _prepare(config)
    words = render.background_words(config.height, config.width, config.seed, p.plan.scale).size
    out = np.empty((chunk, words), np.uint64)  # reused: each chunk is piped out before the next
    with VideoWriter(
        path, config.fps, (config.width, config.height), codec=codec, crf=crf, gop=gop,
        pix_fmt=pix_fmt, preset=preset,
    ) as writer:  # fmt: skip
        for start in range(0, config.n_frames, chunk):
            stop = min(config.n_frames, start + chunk)
            writer.write(_render(config, p, start, stop, out))
    return _poses(config, p.xy)


def sample_clip() -> tuple[np.ndarray, Poses]:
    """A 2-second 256x256 clip with all keypoints, for napari's sample data (fast to make)."""
    return generate(SyntheticConfig(n_frames=60, bodyparts=mo.ALL_BODYPARTS, seed=0))
