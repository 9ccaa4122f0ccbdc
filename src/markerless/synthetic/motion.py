"""Smooth, seeded animal motion and the exact keypoints it implies.

The whole trajectory is computed up front (a few floats per frame and animal,
~20 MB for an hour at 30 fps) with vectorised smoothing and cumulative sums, so
frames can then be drawn in any chunking with identical results.

Model (per animal): speed and turning rate are smoothed Gaussian noise; their
integral is a free walk that is folded into the animal's roaming box by the
smooth map ``x = lo + w (1 - cos(2u / w)) / 2`` (the animal slows down and turns
back near walls, so no wall is ever crossed). The heading is the smoothed
direction of the folded velocity, and the body bends into turns.

Body geometry: the midline from snout to tailbase is a circular arc of length
``L`` and curvature ``bend / L`` centred on the body midpoint; the tail is
another arc leaving the tailbase backwards. The keypoints are points of these
arcs (and the ear centres beside them), which are also what :mod:`.render`
draws from, so keypoints are exact by construction.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter1d

from markerless.synthetic.config import ALL_BODYPARTS, Layout, SyntheticConfig

# Positions along the body as a fraction of L from the snout.
NECK, EARS, SPINE1, SPINE2 = 0.28, 0.22, 0.5, 0.75
#: ear radius (left ear disc; the right ear is an ellipse of the same area), in L.
EAR_RADIUS = 0.08
#: radius of the pink nose disc centred on the snout keypoint, in L.
NOSE_RADIUS = 0.04
#: body half-width profile (fraction of L from snout -> half-width in L).
PROFILE_X = np.array([0.0, 0.04, 0.1, 0.17, 0.25, 0.32, 0.45, 0.6, 0.75, 0.9, 1.0])
PROFILE_R = np.array([0.03, 0.05, 0.072, 0.085, 0.078, 0.1, 0.13, 0.145, 0.135, 0.1, 0.06])
#: tail half-width at base and tip, in L (tip at least TAIL_TIP_MIN px).
TAIL_BASE_R, TAIL_TIP_R, TAIL_TIP_MIN = 0.045, 0.015, 0.8
#: time scales (s) of the smoothed noise driving speed, turning, bending, tail.
TAU_SPEED, TAU_TURN, TAU_BEND, TAU_TAIL, TAU_HEADING = 1.0, 0.5, 0.5, 0.4, 0.25
TAIL_MAX = 1.0


class Motion(NamedTuple):
    """Per-frame state, each array (n_frames, n_animals)."""

    x: np.ndarray  # body midpoint, px
    y: np.ndarray
    heading: np.ndarray  # direction the head points, rad (image axes: x right, y down)
    bend: np.ndarray  # body arc angle (curvature * L), rad; > 0 bends toward the animal's right
    tail_bend: np.ndarray  # tail arc angle (curvature * tail length), rad


def ear_offset(length: float) -> float:
    """Lateral distance of the ear centres from the midline."""
    return length * (float(np.interp(EARS, PROFILE_X, PROFILE_R)) + 0.3 * EAR_RADIUS)


def smooth_noise(seed: tuple[int, ...], n: int, sigma: float) -> np.ndarray:
    """Unit-variance Gaussian-smoothed white noise; its first values do not depend on ``n``."""
    sigma = max(sigma, 0.5)
    pad = int(4.0 * sigma + 0.5) + 1
    white = np.random.default_rng(list(seed)).standard_normal(n + 2 * pad)
    smooth = gaussian_filter1d(white, sigma, mode="nearest", truncate=4.0)[pad : pad + n]
    k = np.exp(-0.5 * (np.arange(-pad + 1, pad) / sigma) ** 2)
    return smooth / np.sqrt(np.sum((k / k.sum()) ** 2))


def _fold(u: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Map a free coordinate into [lo, hi] smoothly; returns (position, d position / d u)."""
    w = max(hi - lo, 1e-9)
    phase = 2.0 * u / w
    return lo + 0.5 * w * (1.0 - np.cos(phase)), np.sin(phase)


def simulate(cfg: SyntheticConfig, lay: Layout) -> Motion:
    """The trajectory of every animal over the whole clip."""
    fps = float(cfg.fps)
    n = cfg.n_frames
    # extra frames past the end so that smoothing never sees the end: frame i
    # is then the same whatever n_frames is.
    n_ext = n + int(12 * TAU_HEADING * fps) + 4
    length = lay.length
    cols = {f: np.empty((n, cfg.n_animals)) for f in Motion._fields}
    for a in range(cfg.n_animals):

        def noise(stream: int, tau: float, a: int = a) -> np.ndarray:
            return smooth_noise((cfg.seed, 1, a, stream), n_ext, tau * fps)

        init = np.random.default_rng([cfg.seed, 2, a]).random(3)
        v = (cfg.speed * length / fps) * np.exp(0.45 * noise(0, TAU_SPEED) - 0.1)
        h_free = 2 * np.pi * init[0] + np.cumsum(noise(1, TAU_TURN) * (cfg.turn_rate / fps))
        xlo, xhi, ylo, yhi = lay.boxes[a]
        u = init[1] * 0.5 * np.pi * (xhi - xlo) + np.cumsum(v * np.cos(h_free))
        w = init[2] * 0.5 * np.pi * (yhi - ylo) + np.cumsum(v * np.sin(h_free))
        x, dxdu = _fold(u, xlo, xhi)
        y, dydw = _fold(w, ylo, yhi)
        # heading: direction of the smoothed actual velocity (speed-weighted, so
        # slow moments near walls do not jitter), then smoothed as an angle.
        sig = TAU_HEADING * fps
        vx = gaussian_filter1d(dxdu * v * np.cos(h_free), sig, mode="nearest")
        vy = gaussian_filter1d(dydw * v * np.sin(h_free), sig, mode="nearest")
        heading = gaussian_filter1d(np.unwrap(np.arctan2(vy, vx)), sig, mode="nearest")
        omega = np.gradient(heading) * fps  # rad/s
        bend = cfg.max_bend * np.tanh(0.3 * omega + 0.7 * noise(2, TAU_BEND))
        tail = 0.5 * bend * cfg.tail_length + TAIL_MAX * np.tanh(0.9 * noise(3, TAU_TAIL))
        for f, arr in zip(Motion._fields, (x, y, heading, bend, tail), strict=True):
            cols[f][:, a] = arr[:n]
    return Motion(**cols)


def arc(kappa: np.ndarray, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Point at arc length ``s`` along a circle leaving the origin along +x with
    curvature ``kappa`` (bending toward +y); stable at ``kappa == 0``."""
    ks = kappa * s
    along = s * np.sinc(ks / np.pi)
    across = 0.5 * ks * s * np.sinc(ks / (2 * np.pi)) ** 2
    return along, across


class Frame(NamedTuple):
    """World-space geometry for drawing, each array (frames, animals)."""

    cos: np.ndarray  # body frame: e1 = (cos, sin) toward the head, e2 = (-sin, cos)
    sin: np.ndarray
    kappa: np.ndarray  # body curvature, 1/px
    tail_x: np.ndarray  # tailbase, px
    tail_y: np.ndarray
    tail_cos: np.ndarray  # tail direction at the tailbase (pointing away from the body)
    tail_sin: np.ndarray
    tail_kappa: np.ndarray
    ear_cos: np.ndarray  # body tangent at the ears
    ear_sin: np.ndarray


def frame_geometry(m: Motion, lay: Layout) -> Frame:
    """Derived per-frame quantities shared by keypoints and drawing."""
    length = lay.length
    c, s = np.cos(m.heading), np.sin(m.heading)
    kappa = m.bend / length
    ta, tb = arc(kappa, -0.5 * length)
    tail_angle = m.heading + np.pi - 0.5 * m.bend
    ear_angle = m.heading + kappa * (0.5 - EARS) * length
    return Frame(
        c, s, kappa,
        m.x + ta * c - tb * s, m.y + ta * s + tb * c,
        np.cos(tail_angle), np.sin(tail_angle), -m.tail_bend / lay.tail,
        np.cos(ear_angle), np.sin(ear_angle),
    )  # fmt: skip


def landmarks(m: Motion, g: Frame, lay: Layout) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every keypoint of :data:`ALL_BODYPARTS` as ``name -> (x, y)``, arrays (frames, animals).

    The drawing uses these same points (nose and ear centres), so the keypoints
    are where the features are drawn.
    """
    length = lay.length
    pts = {}

    def body(frac: float) -> tuple[np.ndarray, np.ndarray]:
        a, b = arc(g.kappa, (0.5 - frac) * length)
        return m.x + a * g.cos - b * g.sin, m.y + a * g.sin + b * g.cos

    for name, frac in (("snout", 0.0), ("neck", NECK), ("spine1", SPINE1), ("spine2", SPINE2)):
        pts[name] = body(frac)
    pts["tailbase"] = (g.tail_x, g.tail_y)
    ex, ey = body(EARS)
    off = ear_offset(length)
    # e2 rotated to the ear tangent points to the animal's right (image y is down)
    nx, ny = -g.ear_sin * off, g.ear_cos * off
    pts["leftear"] = (ex - nx, ey - ny)
    pts["rightear"] = (ex + nx, ey + ny)
    for name, frac in (("tailmid", 0.5), ("tailtip", 1.0)):
        a, b = arc(g.tail_kappa, frac * lay.tail)
        pts[name] = (
            g.tail_x + a * g.tail_cos - b * g.tail_sin,
            g.tail_y + a * g.tail_sin + b * g.tail_cos,
        )
    assert set(pts) == set(ALL_BODYPARTS)
    return pts


def keypoints(m: Motion, g: Frame, lay: Layout, bodyparts: tuple[str, ...]) -> np.ndarray:
    """(frames, animals, len(bodyparts), 2) exact keypoint coordinates."""
    pts = landmarks(m, g, lay)
    return np.stack([np.stack(pts[b], axis=-1) for b in bodyparts], axis=2)
