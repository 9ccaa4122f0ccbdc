"""Shape summaries of assembled animals and the similarities trackers compare them by.

Everything here is vectorised over leading dimensions: features are computed
once for a whole chunk ``(F, N, K, 2)``, and the similarity of ``D`` detections
to ``T`` predicted tracks is one broadcast ``(D, T)``.

* ellipse: the 2-sigma covariance ellipse of the keypoints (centre, major and
  minor axis, orientation) -- DeepLabCut's ``EllipseFitter(sd=2)``; compared by
  DLC's similarity ``0.8 s + 0.2 s |cos(dtheta)|`` with ``s = 1 - d / size``;
* box: the keypoints' bounding box grown by ``slack`` pixels, compared by IoU;
* skeleton: the keypoints themselves, compared by object keypoint similarity
  (OKS) with the box area as scale.

``min_size`` (a scalar, or one value per track) floors every size so that
animals seen as one or two points (or a degenerate box) still have a finite,
meaningful similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PoseFeatures",
    "box_iou",
    "ellipse_similarity",
    "identity_similarity",
    "oks_similarity",
    "pose_features",
    "shared_center_distance",
    "typical_size",
]


@dataclass
class PoseFeatures:
    """Per-animal summaries, each with the animals' leading shape ``S``."""

    xy: np.ndarray  # S + (K, 2), NaN where absent
    center: np.ndarray  # S + (2,)
    ellipse: np.ndarray  # S + (3,): major, minor, theta (radians, [0, pi))
    box: np.ndarray  # S + (4,): x1, y1, x2, y2 (without slack)
    n_visible: np.ndarray  # S, int


def pose_features(xy: np.ndarray, sd: float = 2.0) -> PoseFeatures:
    """Ellipse, box and centre of every animal in ``xy`` (..., K, 2); vectorised."""
    xy = np.asarray(xy, dtype=np.float64)
    vis = np.isfinite(xy).all(-1)
    n = vis.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = np.where(vis[..., None], xy, 0.0).sum(-2) / n[..., None]
        d = np.where(vis[..., None], xy - center[..., None, :], 0.0)
        denom = np.maximum(n - 1, 1)[..., None]
        sxx = (d[..., 0] ** 2).sum(-1, keepdims=True) / denom
        syy = (d[..., 1] ** 2).sum(-1, keepdims=True) / denom
        sxy = (d[..., 0] * d[..., 1]).sum(-1, keepdims=True) / denom
    sxx, syy, sxy = sxx[..., 0], syy[..., 0], sxy[..., 0]
    half_tr = 0.5 * (sxx + syy)
    disc = np.sqrt(np.maximum((0.5 * (sxx - syy)) ** 2 + sxy**2, 0.0))
    lam1 = np.maximum(half_tr + disc, 0.0)
    lam2 = np.maximum(half_tr - disc, 0.0)
    theta = np.mod(0.5 * np.arctan2(2 * sxy, sxx - syy), np.pi)
    ellipse = np.stack([2 * sd * np.sqrt(lam1), 2 * sd * np.sqrt(lam2), theta], -1)
    with np.errstate(invalid="ignore"):
        lo = np.where(vis[..., None], xy, np.inf).min(-2)
        hi = np.where(vis[..., None], xy, -np.inf).max(-2)
    box = np.concatenate([lo, hi], -1)
    none = n == 0
    center[none] = np.nan
    ellipse[none] = np.nan
    box[none] = np.nan
    return PoseFeatures(xy, center, ellipse, box, n)


def typical_size(features: PoseFeatures, default: float = 10.0) -> float:
    """Median animal size (box diagonal) over animals with at least 2 keypoints."""
    ok = features.n_visible >= 2
    if not ok.any():
        return default
    b = features.box[ok]
    diag = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    size = float(np.median(diag))
    return size if size > 0 else default


def shared_center_distance(xy_d: np.ndarray, xy_t: np.ndarray) -> np.ndarray:
    """``(D, T)`` distance between the centres of the keypoints both animals show.

    A centre over *different* keypoint subsets jumps when a keypoint drops out,
    by as much as two overlapping animals are apart; over the shared subset it
    does not. Inf when no keypoint is shared.
    """
    diff = xy_d[:, None] - xy_t[None]  # (D, T, K, 2)
    both = np.isfinite(diff).all(-1)
    n = both.sum(-1)
    mean = np.where(both[..., None], diff, 0.0).sum(-2) / np.maximum(n, 1)[..., None]
    return np.where(n > 0, np.linalg.norm(mean, axis=-1), np.inf)


def ellipse_similarity(
    dist: np.ndarray, ell_d: np.ndarray, ell_t: np.ndarray, min_size: float,
) -> np.ndarray:
    """DeepLabCut's ellipse similarity in [0, 1], ``(D, T)``, from centre distances ``dist``."""
    size = np.maximum(
        np.maximum(ell_d[:, None, 0], ell_t[None, :, 0]), np.asarray(min_size)[..., None, :]
        if np.ndim(min_size) else min_size
    )  # major axes are the larger ones
    s1 = 1.0 - np.minimum(dist / size, 1.0)
    s2 = np.abs(np.cos(ell_d[:, None, 2] - ell_t[None, :, 2]))
    return 0.8 * s1 + 0.2 * s2 * s1


def _grow(box: np.ndarray, slack: float, min_size: float) -> np.ndarray:
    c = 0.5 * (box[..., :2] + box[..., 2:])
    half = np.maximum(0.5 * (box[..., 2:] - box[..., :2]) + slack, 0.5 * min_size)
    return np.concatenate([c - half, c + half], -1)


def box_iou(box_d: np.ndarray, box_t: np.ndarray, slack: float, min_size) -> np.ndarray:
    """Intersection over union of (grown) boxes, ``(D, T)``; a per-track ``min_size``
    floors both boxes of each pair."""
    m = np.asarray(min_size, dtype=np.float64)
    m = m[None, :, None] if m.ndim else m
    a = _grow(box_d[:, None], slack, m)
    b = _grow(box_t[None], slack, m)
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


def oks_similarity(
    xy_d: np.ndarray, xy_t: np.ndarray, box_t: np.ndarray, sigma: float, min_size: float
) -> np.ndarray:
    """Object keypoint similarity over keypoints seen in both, ``(D, T)``; 0 if none shared.

    The scale is the square root of the track's box area (floored by ``min_size``),
    each keypoint's tolerance ``sigma`` times that scale (COCO's ``k_i``).
    """
    d2 = ((xy_d[:, None] - xy_t[None]) ** 2).sum(-1)  # (D, T, K), NaN where absent
    both = np.isfinite(d2)
    area = (box_t[:, 2] - box_t[:, 0]) * (box_t[:, 3] - box_t[:, 1])
    scale2 = np.maximum(area, np.asarray(min_size, dtype=np.float64) ** 2)[None, :, None]
    e = np.where(both, np.exp(-d2 / (2 * scale2 * sigma**2)), 0.0)
    n = both.sum(-1)
    return np.where(n > 0, e.sum(-1) / np.maximum(n, 1), 0.0)


def identity_similarity(ident_d: np.ndarray, ident_t: np.ndarray) -> np.ndarray:
    """Probability that a detection and a track have the same identity, ``(D, T)``.

    ``sum_i p_d(i) p_t(i)`` after normalising each to 1; 0.5 where either is unknown
    (NaN), so that an unknown identity neither attracts nor repels.
    """
    pd_ = ident_d / np.nansum(ident_d, -1, keepdims=True)
    pt = ident_t / np.nansum(ident_t, -1, keepdims=True)
    s = pd_ @ pt.T
    return np.where(np.isfinite(s), s, 0.5)
