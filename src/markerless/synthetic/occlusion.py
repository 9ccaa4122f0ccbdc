"""Which keypoints are hidden under another animal: exact occlusion ground truth.

Animals are drawn in index order, so animal ``a``'s keypoint is hidden when it
lies inside the drawn shape (tail, body, nose or ears) of an animal ``b > a``.
The test evaluates the same distance fields :mod:`.render` draws with, at the
keypoints only (vectorised over frames and keypoints), so it agrees with the
pixels: a keypoint counts as hidden where the covering shape's coverage
exceeds one half.
"""

from __future__ import annotations

import numpy as np

from markerless.synthetic import motion as mo
from markerless.synthetic import render
from markerless.synthetic.config import SyntheticConfig, layout

__all__ = ["occlusion"]


def _points_box(px: np.ndarray, py: np.ndarray, ox: np.ndarray, oy: np.ndarray) -> render._Box:
    """A pseudo drawing box whose "pixels" are the points (F, K)."""
    f32 = np.float32
    dx = (px - ox[:, None]).astype(f32)[:, None, :]
    dy = (py - oy[:, None]).astype(f32)[:, None, :]
    zero = np.zeros(px.shape[0], np.intp)
    return render._Box(zero, zero, dx, dy)


def _covered_by(b: int, px, py, m: mo.Motion, g: mo.Frame, lay, pts) -> np.ndarray:
    """(F, K) bool: points inside animal ``b``'s drawn shape."""
    f32 = np.float32
    length, tail_len, half = lay.length, lay.tail, 0.5 * lay.length
    # tail
    box = _points_box(px, py, g.tail_x[:, b], g.tail_y[:, b])
    sc, dist = render._tube(box, g.tail_cos[:, b].astype(f32), g.tail_sin[:, b].astype(f32),
                            g.tail_kappa[:, b], 0.0, tail_len)
    r_base = mo.TAIL_BASE_R * length
    r_tip = max(mo.TAIL_TIP_R * length, mo.TAIL_TIP_MIN)
    inside = (dist < r_base + (r_tip - r_base) / tail_len * sc)[:, 0]
    # body
    box = _points_box(px, py, m.x[:, b], m.y[:, b])
    sc, dist = render._tube(box, g.cos[:, b].astype(f32), g.sin[:, b].astype(f32),
                            g.kappa[:, b], -half, half)
    radius = np.interp((half - sc) / length, mo.PROFILE_X, mo.PROFILE_R) * length
    inside |= (dist < radius)[:, 0]
    # nose and ears
    ear_r = mo.EAR_RADIUS * length
    nose_r = mo.NOSE_RADIUS * length
    c, s = g.ear_cos[:, b][:, None], g.ear_sin[:, b][:, None]
    for name, (ru, rv) in (
        ("snout", (nose_r, nose_r)),
        ("leftear", (ear_r, ear_r)),
        ("rightear", (ear_r * render.RIGHT_EAR_AXES[0], ear_r * render.RIGHT_EAR_AXES[1])),
    ):
        cx, cy = pts[name][0][:, b][:, None], pts[name][1][:, b][:, None]
        u = ((px - cx) * c + (py - cy) * s) / ru
        v = ((py - cy) * c - (px - cx) * s) / rv
        inside |= u * u + v * v < 1.0
    return inside


def occlusion(config: SyntheticConfig, xy: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, n_animals, n_bodyparts) bool: keypoint hidden under another animal.

    ``xy`` (the clip's ground truth, :func:`~markerless.synthetic.ground_truth`)
    may be passed to skip recomputing it. Grid-arena animals rarely overlap, so
    this is mostly for ``arena="shared"``.
    """
    lay = layout(config)
    m = mo.simulate(config, lay)
    g = mo.frame_geometry(m, lay)
    if xy is None:
        xy = mo.keypoints(m, g, lay, config.bodyparts)
    pts = mo.landmarks(m, g, lay)
    hidden = np.zeros(xy.shape[:3], bool)
    for a in range(config.n_animals - 1):
        px, py = xy[:, a, :, 0], xy[:, a, :, 1]
        for b in range(a + 1, config.n_animals):
            hidden[:, a] |= _covered_by(b, px, py, m, g, lay, pts)
    return hidden & np.isfinite(xy).all(-1)
