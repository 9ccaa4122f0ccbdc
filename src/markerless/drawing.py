"""Vectorised rasterising of keypoints, skeleton lines and trails onto a chunk of frames,
and the one colour scheme of bodyparts.

Shared by stages that draw (labeled videos, check_labels, plots, napari layers), so it
sits below all of them.

Every shape of a whole chunk (all frames x all keypoints) becomes one array of
pixel indices, so drawing is a few NumPy gathers and scatters per chunk, with no
Python loop over frames or keypoints. Coordinates follow DeepLabCut (pixel
centres at integers): a point at ``(x, y)`` covers pixel ``(round(y), round(x))``.

Colours are blended as ``alpha * colour + (1 - alpha) * pixel`` against the
pixel as it was before the call, so overlapping shapes drawn in one call do
not darken each other (and a pixel hit twice simply gets the same value twice).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["colormap_colors", "disc_offsets", "draw_discs", "draw_segments"]


def colormap_colors(n: int, colormap: str = "rainbow", fallback: str | None = None
                    ) -> np.ndarray:
    """``(n, 4)`` RGBA in [0, 1] sampled evenly from a matplotlib colormap.

    DeepLabCut's scheme: bodypart ``k`` of ``n`` gets ``cmap(k / (n - 1))``, so a bodypart
    has the same colour in labeled videos, plots and napari layers. An unknown name
    raises :class:`~markerless.errors.ConfigError`, or uses ``fallback`` when given.
    """
    from matplotlib import colormaps

    from markerless.errors import ConfigError

    try:
        cmap = colormaps[str(colormap)]
    except KeyError:
        if fallback is None:
            raise ConfigError(f"Unknown colormap {colormap!r} (config.yaml 'colormap')"
                              ) from None
        cmap = colormaps[fallback]
    values = np.linspace(0, 1, n) if n > 1 else np.zeros(max(n, 0))
    return np.asarray(cmap(values), dtype=np.float64).reshape(-1, 4)


@functools.lru_cache(maxsize=32)
def disc_offsets(radius: float) -> np.ndarray:
    """``(M, 2)`` integer (dy, dx) of the pixels of a filled disc (as ``skimage.draw.disk``)."""
    r = max(float(radius), 0.5)
    span = int(np.ceil(r))
    dy, dx = np.mgrid[-span : span + 1, -span : span + 1]
    inside = dy**2 + dx**2 < r**2
    off = np.stack([dy[inside], dx[inside]], axis=1)
    off.setflags(write=False)
    return off


def _blend(frames: np.ndarray, f: np.ndarray, y: np.ndarray, x: np.ndarray,
           rgb: np.ndarray, alpha: np.ndarray | float) -> None:
    """``frames[f, y, x] = alpha * rgb + (1 - alpha) * frames[f, y, x]`` (in place)."""
    n, h, w = frames.shape[:3]
    ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    f, y, x, rgb = f[ok], y[ok], x[ok], rgb[ok]
    if np.ndim(alpha):
        alpha = np.asarray(alpha)[ok]
    if frames.flags.c_contiguous:  # one flat index: several times faster than three
        pixels, where = frames.reshape(n * h * w, 3), (f * h + y) * w + x
    else:
        pixels, where = frames, (f, y, x)
    if np.all(np.asarray(alpha) >= 1):
        pixels[where] = rgb
        return
    a = np.asarray(alpha, dtype=np.float32).reshape(-1, 1) if np.ndim(alpha) else np.float32(alpha)
    old = pixels[where].astype(np.float32)
    pixels[where] = np.clip(np.rint(a * rgb + (1 - a) * old), 0, 255).astype(np.uint8)


def draw_discs(
    frames: np.ndarray,
    xy: np.ndarray,
    visible: np.ndarray,
    colors: np.ndarray,
    radius: float,
    alpha: float | np.ndarray = 1.0,
) -> None:
    """Filled discs at every visible point, in place.

    Parameters
    ----------
    frames
        ``(n, H, W, 3)`` uint8.
    xy
        ``(n, P, 2)`` point coordinates (x, y).
    visible
        ``(n, P)`` bool: which points to draw (NaN points are never drawn).
    colors
        ``(P, 3)`` RGB 0-255 per point.
    alpha
        Scalar, or ``(P,)`` per point.
    """
    visible = visible & np.isfinite(xy).all(axis=-1)
    f, p = np.nonzero(visible)
    if not len(f):
        return
    off = disc_offsets(float(radius))
    cx = np.rint(xy[f, p, 0]).astype(np.int64)
    cy = np.rint(xy[f, p, 1]).astype(np.int64)
    ys = (cy[:, None] + off[None, :, 0]).ravel()
    xs = (cx[:, None] + off[None, :, 1]).ravel()
    m = len(off)
    rgb = np.repeat(np.asarray(colors, np.float32)[p], m, axis=0)
    a = np.repeat(np.asarray(alpha, np.float32)[p], m) if np.ndim(alpha) else alpha
    _blend(frames, np.repeat(f, m), ys, xs, rgb, a)


def draw_segments(
    frames: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    visible: np.ndarray,
    colors: np.ndarray,
    alpha: float = 1.0,
    width: int = 1,
) -> None:
    """Straight line segments (one pixel per unit of length, ``width`` px thick), in place.

    ``start``/``end`` are ``(n, E, 2)`` (x, y), ``visible`` ``(n, E)``, ``colors`` ``(E, 3)``.
    """
    visible = visible & np.isfinite(start).all(-1) & np.isfinite(end).all(-1)
    f, e = np.nonzero(visible)
    if not len(f):
        return
    a, b = start[f, e], end[f, e]
    steps = np.ceil(np.abs(b - a).max(axis=-1)).astype(np.int64) + 1  # samples per segment
    seg = np.repeat(np.arange(len(f)), steps)
    first = np.cumsum(steps) - steps
    t = (np.arange(len(seg)) - first[seg]) / np.maximum(steps[seg] - 1, 1)
    pts = a[seg] + t[:, None] * (b[seg] - a[seg])
    px = np.rint(pts).astype(np.int64)
    frame_of = f[seg]
    rgb = np.asarray(colors, np.float32)[e[seg]]
    if width > 1:  # thicken with a small disc stencil around every sample
        off = disc_offsets(width / 2)
        k = len(off)
        px = (px[:, None, ::-1] + off[None]).reshape(-1, 2)[:, ::-1]
        frame_of, rgb = np.repeat(frame_of, k), np.repeat(rgb, k, axis=0)
    # Pixels hit twice get the same value (blending reads the pixels before any write).
    _blend(frames, frame_of, px[:, 1], px[:, 0], rgb, alpha)
