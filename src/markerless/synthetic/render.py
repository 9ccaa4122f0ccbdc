"""Drawing: textured background, the animals, sensor noise and flicker.

Speed matters (benchmarks write hour-long 640x480 clips), so each step works on
a whole chunk of frames at once:

* the background is made once per (size, seed) and copied into the chunk;
* each body part is rasterised only inside its own bounding box: one box size
  per chunk, one position per frame, gathered and scattered through a
  ``sliding_window_view`` (no per-frame loop); coverage comes from a distance
  field (anti-aliased edges);
* noise needs no clipping: colours are stored minus the noise mean and scaled
  into ``[0, 255 - 2 margin]`` (``palette scale``), and the noise is a sum of
  uniform random bit fields, so adding it byte-wise to the frames viewed as
  uint64 words can neither overflow nor carry between bytes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter, zoom

from markerless.synthetic import motion as mo
from markerless.synthetic.config import Layout

#: design colours (RGB, 0-255) before palette scaling.
BODY = np.array([58.0, 52.0, 50.0])
IDENTITY_BODIES = np.array(
    [[58, 52, 50], [40, 52, 84], [86, 60, 34], [42, 74, 50], [82, 44, 74], [70, 70, 70]], float
)
NOSE = np.array([214.0, 160.0, 160.0])
TAIL = np.array([150.0, 116.0, 112.0])
LEFT_EAR = np.array([238.0, 110.0, 136.0])  # pink, round
RIGHT_EAR = np.array([86.0, 150.0, 232.0])  # blue, elongated along the body
STRIPE = np.array([196.0, 190.0, 172.0])  # pale band across the back (identity_stripes)
#: stripe centre (fraction of the body length from the snout) of animal i, and its width.
STRIPE_AT, STRIPE_STEP, STRIPE_WIDTH = 0.36, 0.14, 0.07
FLOOR_TINT = np.array([1.04, 1.0, 0.88])
#: right ear semi-axes (along, across the body) relative to the left ear's radius.
RIGHT_EAR_AXES = (1.3, 1.0 / 1.3)
_BYTES = np.uint64(0x0101010101010101)


class NoisePlan(NamedTuple):
    """Sensor noise: per byte, a sum of uniform random bit fields (``widths``,
    packed into ``words`` random 64-bit words per 8 bytes), plus flicker."""

    widths: tuple[int, ...]  # field widths in bits of one word's byte lane
    words: int  # random words per 8 output bytes (each split into ``widths``)
    std: float  # actual standard deviation
    margin: int  # grey levels kept free at both ends of the palette
    flicker: int

    @property
    def scale(self) -> float:
        """Design colour -> stored value factor."""
        return (255.0 - 2 * self.margin) / 255.0


def _partitions(total: int, largest: int) -> list[tuple[int, ...]]:
    """Non-increasing tuples of positive ints with sum <= total."""
    out = []
    for first in range(min(total, largest), 0, -1):
        out.append((first,))
        out += [(first, *rest) for rest in _partitions(total - first, first)]
    return out


_PATTERNS = _partitions(8, 8)


def noise_plan(noise_std: float, flicker: int) -> NoisePlan:
    """The cheapest bit-field pattern (fewest random words) whose summed uniform
    noise is within 10 % of ``noise_std`` (else the closest)."""
    flicker = int(flicker)
    if noise_std <= 0:
        return NoisePlan((), 0, 0.0, flicker, flicker)
    best = None
    for words in range(1, 5):
        for widths in _PATTERNS:
            std = math.sqrt(words * sum((4**b - 1) / 12.0 for b in widths))
            err = abs(std - noise_std)
            key = (err > 0.1 * noise_std, words, err, len(widths))
            if best is None or key < best[0]:
                best = (key, widths, words, std)
    _, widths, words, std = best
    top = words * sum(2**b - 1 for b in widths)  # largest noise value; the mean is half
    return NoisePlan(widths, words, std, (top + 1) // 2 + flicker, flicker)


@lru_cache(maxsize=4)
def background_design(height: int, width: int, seed: int) -> np.ndarray:
    """(H, W, 3) float32 floor texture in design colours: smooth shading, grain,
    a few stains and seams, a mild vignette."""
    rng = np.random.default_rng([seed, 3])
    side = min(height, width)
    lo_shape = (height // 8 + 2, width // 8 + 2)
    coarse = gaussian_filter(rng.standard_normal(lo_shape), side / 80.0, mode="wrap")
    coarse = zoom(
        coarse,
        (height / lo_shape[0], width / lo_shape[1]),
        order=1,
        grid_mode=True,
        mode="nearest",
    )
    fine = gaussian_filter(rng.standard_normal((height, width)), 1.2)
    lum = 166.0 + 12.0 * coarse / coarse.std() + 5.0 * fine / fine.std()
    lum += 2.5 * rng.standard_normal((height, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    for cx, cy, sig, amp in zip(
        rng.uniform(0, width, 6),
        rng.uniform(0, height, 6),
        rng.uniform(0.02, 0.08, 6) * side,
        rng.choice([-1, 1], 6) * rng.uniform(12, 28, 6),
        strict=True,
    ):
        lum += amp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig**2))
    for theta, frac in zip(rng.uniform(0, np.pi, 3), rng.uniform(0.15, 0.85, 3), strict=True):
        c, s = np.cos(theta), np.sin(theta)
        offset = frac * (abs(c) * width + abs(s) * height) + min(0, c * width) + min(0, s * height)
        dist = np.abs(xx * c + yy * s - offset)
        lum -= 30.0 * np.clip(1.6 - dist, 0.0, 1.0)
    r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
    lum *= 1.0 - 0.06 * r2
    return np.clip(lum[..., None] * FLOOR_TINT, 0, 255).astype(np.float32)


@lru_cache(maxsize=4)
def background_words(height: int, width: int, seed: int, scale: float) -> np.ndarray:
    """The stored background of one frame as uint64 words (padded to 8 bytes)."""
    stored = np.rint(background_design(height, width, seed) * scale).astype(np.uint8).ravel()
    padded = np.zeros(-(-stored.size // 8) * 8, np.uint8)
    padded[: stored.size] = stored
    out = padded.view(np.uint64)
    out.flags.writeable = False
    return out


def add_noise(
    buf: np.ndarray, start: int, seed: int, plan: NoisePlan, offsets: np.ndarray
) -> None:
    """Add noise and per-frame flicker (``offsets`` in [0, 2 flicker]) to ``buf``
    ((frames, words) uint64) in place. Frame ``start + i`` always gets the same
    noise, however the clip is chunked (the generator jumps ahead to it)."""
    n_frames, q = buf.shape
    flick = offsets.astype(np.uint64) * _BYTES
    if not plan.widths:
        if plan.flicker:
            buf += flick[:, None]
        return
    block = max(1, min(n_frames, 2**17 // q))  # <= ~1 MB of words at a time: stays in cache
    acc = np.empty((block, q), np.uint64)
    tmp = np.empty((block, q), np.uint64)
    gen = np.random.PCG64DXSM(np.random.SeedSequence([seed, 4]))
    gen.advance(start * q * plan.words)
    fields = [(np.uint64(sum(plan.widths[:i])), np.uint64(2**b - 1) * _BYTES)
              for i, b in enumerate(plan.widths)]  # fmt: skip
    for b0 in range(0, n_frames, block):
        b1 = min(n_frames, b0 + block)
        a, t = acc[: b1 - b0], tmp[: b1 - b0]
        raw = gen.random_raw((b1 - b0) * plan.words * q).reshape(b1 - b0, plan.words, q)
        np.bitwise_and(raw[:, 0], fields[0][1], out=a)  # the first field needs no shift
        for w in range(plan.words):
            for shift, mask in fields[1:] if w == 0 else fields:
                np.right_shift(raw[:, w], shift, out=t)
                t &= mask
                a += t
        if plan.flicker:
            a += flick[b0:b1, None]
        buf[b0:b1] += a


class _Box(NamedTuple):
    x0: np.ndarray  # (F,) int
    y0: np.ndarray
    dx: np.ndarray  # (F, 1, Sx) float32: pixel x minus the primitive's origin
    dy: np.ndarray  # (F, Sy, 1)


def _box(xmin, xmax, ymin, ymax, ox, oy, height: int, width: int) -> _Box:
    """One box size for the chunk (the largest needed), placed per frame inside the image."""
    x0, y0 = np.floor(xmin).astype(np.intp), np.floor(ymin).astype(np.intp)
    sx = int(min(width, np.max(np.ceil(xmax) - x0) + 1))
    sy = int(min(height, np.max(np.ceil(ymax) - y0) + 1))
    x0, y0 = np.clip(x0, 0, width - sx), np.clip(y0, 0, height - sy)
    dx = (x0[:, None] + np.arange(sx) - ox[:, None]).astype(np.float32)[:, None, :]
    dy = (y0[:, None] + np.arange(sy) - oy[:, None]).astype(np.float32)[:, :, None]
    return _Box(x0, y0, dx, dy)


def _composite(frames: np.ndarray, box: _Box, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` ((3,) or (F, 3, Sy, Sx), stored values) over ``frames`` with ``alpha``."""
    sy, sx = alpha.shape[1:]
    win = sliding_window_view(frames, (sy, sx), axis=(1, 2), writeable=True)
    idx = np.arange(frames.shape[0])
    crop = win[idx, box.y0, box.x0].astype(np.float32)  # (F, 3, Sy, Sx)
    if colour.ndim == 1:
        colour = colour.astype(np.float32)[None, :, None, None]
    crop += alpha[:, None] * (colour - crop)
    crop += 0.5
    win[idx, box.y0, box.x0] = crop  # truncation after +0.5 rounds


def _tube(box: _Box, c, s, kappa, s_lo: float, s_hi: float):
    """Distance field of an arc leaving the primitive's origin along (c, s) and
    bending toward (-s, c) (the animal's right) with curvature ``kappa``.

    Returns the arc parameter of the nearest midline point, clamped to
    [s_lo, s_hi], and the distance to it (past an end: to the end point, so
    the ends get round caps). Stable for kappa -> 0."""
    c, s = c[:, None, None], s[:, None, None]
    k = np.where(np.abs(kappa) < 1e-7, 1e-7, kappa).astype(np.float32)[:, None, None]
    u = box.dx * c + box.dy * s
    v = box.dy * c - box.dx * s
    ku = k * u
    kv = 1.0 - k * v
    d = (k * (u * u + v * v) - 2.0 * v) / (1.0 + np.sqrt(ku * ku + kv * kv))
    sig = np.arctan2(ku, kv) / k
    sc = np.clip(sig, s_lo, s_hi)
    e = sig - sc
    return sc, np.sqrt(d * d + e * e)


def _arc_box(ox, oy, c, s, kappa, s_lo, s_hi, pad, height, width) -> _Box:
    a, b = mo.arc(kappa[:, None], np.linspace(s_lo, s_hi, 9)[None, :])
    px = ox[:, None] + a * c[:, None] - b * s[:, None]
    py = oy[:, None] + a * s[:, None] + b * c[:, None]
    return _box(
        px.min(1) - pad, px.max(1) + pad, py.min(1) - pad, py.max(1) + pad, ox, oy, height, width
    )


def stripe_position(animal: int) -> float:
    """Where animal ``animal``'s identity stripe crosses the body (fraction from the snout)."""
    return STRIPE_AT + STRIPE_STEP * (animal % 4)


def draw_animals(
    frames: np.ndarray, m: mo.Motion, g: mo.Frame, lay: Layout, scale: float, identity: bool,
    stripes: bool = False,
) -> None:
    """Draw every animal (tail, body, nose, ears, in that order) into ``frames`` (F, H, W, 3).

    Animals are drawn in index order, so a higher index lies on top where they overlap.
    """
    height, width = frames.shape[1:3]
    length, tail_len, half = lay.length, lay.tail, 0.5 * lay.length
    f32 = np.float32
    table = (np.interp(np.linspace(0, 1, 257), mo.PROFILE_X, mo.PROFILE_R) * length).astype(f32)
    r_base = mo.TAIL_BASE_R * length
    r_tip = max(mo.TAIL_TIP_R * length, mo.TAIL_TIP_MIN)
    ear_r = mo.EAR_RADIUS * length
    pts = mo.landmarks(m, g, lay)
    for a in range(m.x.shape[1]):
        body_col = (IDENTITY_BODIES[a % len(IDENTITY_BODIES)] if identity else BODY) * scale
        # tail: radius tapering linearly from base to tip
        ox, oy, c, s, k = (
            v[:, a] for v in (g.tail_x, g.tail_y, g.tail_cos, g.tail_sin, g.tail_kappa)
        )
        box = _arc_box(ox, oy, c, s, k, 0.0, tail_len, r_base + 2, height, width)
        sc, dist = _tube(box, c.astype(f32), s.astype(f32), k, 0.0, tail_len)
        radius = r_base + (r_tip - r_base) / tail_len * sc
        _composite(frames, box, np.clip(radius - dist + 0.5, 0, 1), TAIL * scale)
        # body: radius from the profile table along the midline
        ox, oy, c, s, k = m.x[:, a], m.y[:, a], g.cos[:, a], g.sin[:, a], g.kappa[:, a]
        box = _arc_box(ox, oy, c, s, k, -half, half, table.max() + 2, height, width)
        sc, dist = _tube(box, c.astype(f32), s.astype(f32), k, -half, half)
        radius = table[((half - sc) * f32(256 / length) + f32(0.5)).astype(np.intp)]
        body_alpha = np.clip(radius - dist + 0.5, 0, 1)
        _composite(frames, box, body_alpha, body_col)
        if stripes:
            s_at = (0.5 - stripe_position(a)) * length
            band = np.clip(f32(0.5 * STRIPE_WIDTH * length) - np.abs(sc - f32(s_at)) + 0.5, 0, 1)
            _composite(frames, box, body_alpha * band, STRIPE * scale)
        # nose disc and ears, centred on their keypoints; left round, right elongated
        nose_r = mo.NOSE_RADIUS * length
        ec, es = g.ear_cos[:, a], g.ear_sin[:, a]
        for name, (ru, rv), colour in (
            ("snout", (nose_r, nose_r), NOSE),
            ("leftear", (ear_r, ear_r), LEFT_EAR),
            ("rightear", (ear_r * RIGHT_EAR_AXES[0], ear_r * RIGHT_EAR_AXES[1]), RIGHT_EAR),
        ):
            px, py = pts[name]
            _ellipse(frames, px[:, a], py[:, a], ec, es, ru, rv, colour * scale)


def _ellipse(frames, cx, cy, c, s, ru: float, rv: float, colour: np.ndarray) -> None:
    """Filled ellipse per frame: centre (cx, cy), semi-axis ``ru`` along (c, s), ``rv`` across."""
    height, width = frames.shape[1:3]
    f32 = np.float32
    pad = max(ru, rv) + 2
    box = _box(cx - pad, cx + pad, cy - pad, cy + pad, cx, cy, height, width)
    c, s = c.astype(f32)[:, None, None], s.astype(f32)[:, None, None]
    u = (box.dx * c + box.dy * s) * f32(1 / ru)
    v = (box.dy * c - box.dx * s) * f32(1 / rv)
    q = np.sqrt(u * u + v * v)
    _composite(frames, box, np.clip((1.0 - q) * f32(min(ru, rv)) + 0.5, 0, 1), colour)
