"""Multi-animal pose metrics: OKS mAP / mAR (COCO's definition) and matched RMSE / PCK.

OKS between a prediction and a ground-truth animal (COCO, DeepLabCut's
``calc_object_keypoint_similarity``)::

    OKS = mean over the labeled keypoints of exp(-d^2 / (2 * area * (2 sigma)^2))

with ``area`` the area of the labeled keypoints' bounding box and ``sigma`` the
per-keypoint tolerance (a scalar or one per bodypart). DeepLabCut uses 0.1,
SLEAP 0.025 (COCO's sigmas for people are 0.025-0.107); every result records
the sigma it was computed with. Ground-truth animals with fewer than 2 labeled
keypoints have no area and are left out (as DeepLabCut does).

mAP and mAR follow pycocotools' ``COCOeval`` for keypoints exactly (greedy
matching by score per image, 101-point interpolated precision, at most 20
detections per image, thresholds 0.50:0.05:0.95); ``tests/evaluation`` checks
the numbers against pycocotools. Everything is vectorised over frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from markerless.errors import ArgumentError
from markerless.poses import UNIQUE_INDIVIDUAL, Poses

__all__ = [
    "OKS_THRESHOLDS",
    "MatchedErrors",
    "OKSResult",
    "align_frames",
    "animal_arrays",
    "matched_errors",
    "oks_map",
    "oks_matrix",
]

#: COCO's OKS thresholds.
OKS_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)
_MAX_DETS = 20


def animal_arrays(poses: Poses) -> tuple[np.ndarray, np.ndarray | None]:
    """``(xy (F, A, K, 2), likelihood (F, A, K) or None)`` of the animals (``single`` left out)."""
    keep = [i for i, n in enumerate(poses.individuals) if n != UNIQUE_INDIVIDUAL]
    kps = np.flatnonzero(poses.defined[keep].any(0)) if keep else np.arange(0)
    xy = poses.xy[:, keep][:, :, kps]
    lik = None if poses.likelihood is None else poses.likelihood[:, keep][:, :, kps]
    return xy, lik


def align_frames(pred: Poses, gt: Poses) -> tuple[Poses, Poses]:
    """Both restricted to the frames they share (matched by frame name), in ``gt``'s order."""
    pk = [str(f) for f in pred.frames]
    gk = [str(f) for f in gt.frames]
    if pk == gk:
        return pred, gt
    where = {k: i for i, k in enumerate(pk)}
    common = [i for i, k in enumerate(gk) if k in where]
    if not common:
        raise ArgumentError("predictions and ground truth share no frame")
    return pred.select_frames([where[gk[i]] for i in common]), gt.select_frames(common)


def _sigma(sigma: float | Sequence[float], n_kp: int) -> np.ndarray:
    s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n_kp,)).copy()
    if not (s > 0).all():
        raise ArgumentError(f"sigma must be > 0, got {sigma}")
    return s


def gt_areas(gt_xy: np.ndarray) -> np.ndarray:
    """(F, G) bounding-box area of each animal's labeled keypoints; NaN with < 2 of them."""
    vis = np.isfinite(gt_xy).all(-1)
    with np.errstate(invalid="ignore"):
        lo = np.where(vis[..., None], gt_xy, np.inf).min(-2)
        hi = np.where(vis[..., None], gt_xy, -np.inf).max(-2)
    area = np.prod(hi - lo, axis=-1)
    return np.where(vis.sum(-1) >= 2, area, np.nan)


def oks_matrix(
    pred_xy: np.ndarray, gt_xy: np.ndarray, sigma: float | Sequence[float] = 0.1,
    area: np.ndarray | None = None,
) -> np.ndarray:
    """(F, P, G) OKS of every prediction with every ground-truth animal of the same frame.

    NaN for ground-truth animals without an area (fewer than 2 labeled keypoints).
    """
    k = _sigma(sigma, gt_xy.shape[-2])
    area = gt_areas(gt_xy) if area is None else area
    d2 = ((pred_xy[:, :, None] - gt_xy[:, None]) ** 2).sum(-1)  # (F, P, G, K)
    vis = np.isfinite(gt_xy).all(-1)[:, None]  # (F, 1, G, K)
    d2 = np.where(np.isnan(d2) & vis, np.inf, d2)  # missing prediction: no similarity
    e = d2 / ((2 * k) ** 2 * (area[:, None, :, None] + np.spacing(1)) * 2)
    with np.errstate(invalid="ignore"):
        s = np.where(vis, np.exp(-e), 0.0).sum(-1) / vis.sum(-1)
    return np.where(np.isfinite(area)[:, None, :], s, np.nan)


@dataclass
class OKSResult:
    """COCO-style keypoint detection scores at one ``sigma``."""

    sigma: float | list
    mAP: float
    mAR: float
    ap: dict = field(default_factory=dict)  # threshold -> AP
    ar: dict = field(default_factory=dict)  # threshold -> recall
    n_ground_truth: int = 0
    n_predictions: int = 0

    def __str__(self) -> str:
        s = self.sigma if np.isscalar(self.sigma) else "per-bodypart"
        return (f"OKS mAP {self.mAP:.3f}  mAR {self.mAR:.3f}  (sigma={s}; "
                f"AP50 {self.ap.get(0.5, np.nan):.3f}, AP75 {self.ap.get(0.75, np.nan):.3f}; "
                f"{self.n_ground_truth} animals, {self.n_predictions} predictions)")


def _prediction_scores(pred_xy, pred_lik, scores):
    if scores is not None:
        return np.asarray(scores, dtype=np.float64)
    vis = np.isfinite(pred_xy).all(-1)
    if pred_lik is None:
        return vis.sum(-1).astype(np.float64)  # more keypoints, more confident
    with np.errstate(invalid="ignore"):
        return np.where(vis, np.nan_to_num(pred_lik), 0.0).sum(-1) / np.maximum(vis.sum(-1), 1)


def oks_map(
    pred: Poses,
    gt: Poses,
    sigma: float | Sequence[float] = 0.1,
    scores: np.ndarray | None = None,
    thresholds: Sequence[float] = OKS_THRESHOLDS,
) -> OKSResult:
    """OKS mAP and mAR of ``pred`` against ``gt`` (pycocotools' COCOeval, keypoints).

    ``scores`` (F, P) ranks the predictions; by default their mean keypoint
    likelihood. Frames are matched by name; individuals' names are ignored.
    """
    pred, gt = align_frames(pred, gt)
    pxy, plik = animal_arrays(pred)
    gxy, _ = animal_arrays(gt)
    if pxy.shape[2] != gxy.shape[2]:
        raise ArgumentError(f"predictions have {pxy.shape[2]} bodyparts, ground truth "
                            f"{gxy.shape[2]}")
    area = gt_areas(gxy)
    valid_gt = np.isfinite(area)  # (F, G)
    valid_dt = np.isfinite(pxy).all(-1).any(-1)  # (F, P)
    score = _prediction_scores(pxy, plik, scores)
    score = np.where(valid_dt, score, -np.inf)
    order = np.argsort(-score, axis=1, kind="mergesort")[:, :_MAX_DETS]
    pxy = np.take_along_axis(pxy, order[..., None, None], axis=1)
    score = np.take_along_axis(score, order, axis=1)
    valid_dt = np.take_along_axis(valid_dt, order, axis=1)
    oks = oks_matrix(pxy, gxy, sigma, area)  # (F, P, G)
    oks = np.where(valid_dt[..., None] & valid_gt[:, None], oks, -1.0)
    n_gt = int(valid_gt.sum())
    flat_score = score[valid_dt]
    rank = np.argsort(-flat_score, kind="mergesort")
    ap, ar = {}, {}
    for t in thresholds:
        matched = _greedy_match(oks, float(t))[valid_dt]  # (D,) bool, frame-major
        tp = np.cumsum(matched[rank])
        fp = np.cumsum(~matched[rank])
        if n_gt == 0:
            ap[float(t)], ar[float(t)] = np.nan, np.nan
            continue
        rc = tp / n_gt
        pr = tp / (tp + fp + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1] if pr.size else pr
        idx = np.searchsorted(rc, _RECALL_POINTS, side="left")
        q = np.where(idx < pr.size, pr[np.minimum(idx, max(pr.size - 1, 0))], 0.0) \
            if pr.size else np.zeros_like(_RECALL_POINTS)
        ap[float(t)] = float(q.mean())
        ar[float(t)] = float(rc[-1]) if rc.size else 0.0
    sig = float(sigma) if np.isscalar(sigma) else list(map(float, sigma))
    m_ap, m_ar = float(np.nanmean(list(ap.values()))), float(np.nanmean(list(ar.values())))
    return OKSResult(sig, m_ap, m_ar, ap, ar, n_gt, int(valid_dt.sum()))


def _greedy_match(oks: np.ndarray, t: float) -> np.ndarray:
    """(F, P) bool: prediction matched at threshold ``t`` (COCO: by score, best free gt).

    Vectorised over frames; the loop runs over the (at most 20) prediction ranks.
    """
    n_f, n_p, n_g = oks.shape
    taken = np.zeros((n_f, n_g), bool)
    matched = np.zeros((n_f, n_p), bool)
    thr = min(t, 1 - 1e-10)
    rows = np.arange(n_f)
    for p in range(n_p):
        cand = np.where(taken, -1.0, oks[:, p])
        # COCO keeps the last of equal maxima; argmax keeps the first: reverse to match
        best = n_g - 1 - np.argmax(cand[:, ::-1], axis=1) if n_g else np.zeros(n_f, int)
        ok = cand[rows, best] >= thr if n_g else np.zeros(n_f, bool)
        matched[:, p] = ok
        taken[rows[ok], best[ok]] = True
    return matched


@dataclass
class MatchedErrors:
    """Keypoint errors of predictions matched one-to-one to ground-truth animals."""

    rmse: float  # DeepLabCut's "RMSE": mean Euclidean error over matched keypoints (px)
    pck: dict  # threshold (px) -> fraction of labeled keypoints within it
    per_bodypart: dict  # bodypart -> mean error (px)
    errors: np.ndarray  # (F, G, K) error of each ground-truth keypoint, NaN if unmatched
    sigma: float

    def __str__(self) -> str:
        pck = ", ".join(f"PCK@{t:g}px {v:.3f}" for t, v in self.pck.items())
        return f"matched RMSE {self.rmse:.2f} px ({pck}; matched by OKS, sigma={self.sigma})"


def matched_errors(
    pred: Poses,
    gt: Poses,
    pck_thresholds: Sequence[float] = (2.0, 5.0, 10.0),
    sigma: float = 0.1,
) -> MatchedErrors:
    """Match predictions to ground truth per frame (Hungarian on OKS, as DeepLabCut), then
    measure pixel errors; unmatched ground-truth keypoints count as misses in PCK."""
    pred, gt = align_frames(pred, gt)
    pxy, _ = animal_arrays(pred)
    gxy, _ = animal_arrays(gt)
    oks = np.nan_to_num(oks_matrix(pxy, gxy, sigma), nan=0.0)
    n_f, n_p, n_g = oks.shape
    assign = np.full((n_f, n_g), -1)
    busy = np.flatnonzero((oks > 0).any((1, 2)))
    for f in busy:  # one tiny assignment per frame with animals
        r, c = linear_sum_assignment(oks[f], maximize=True)
        good = oks[f, r, c] > 0
        assign[f, c[good]] = r[good]
    err = np.full(gxy.shape[:3], np.nan)
    ff, gg = np.nonzero(assign >= 0)
    d = np.linalg.norm(pxy[ff, assign[ff, gg]] - gxy[ff, gg], axis=-1)
    err[ff, gg] = d
    labeled = np.isfinite(gxy).all(-1)
    rmse = float(np.nanmean(err)) if np.isfinite(err).any() else np.nan
    pck = {float(t): float((np.nan_to_num(err, nan=np.inf) <= t)[labeled].mean())
           if labeled.any() else np.nan for t in pck_thresholds}
    names = [b for b, keep in zip(gt.bodyparts, gt.defined.any(0), strict=True) if keep]
    flat = err.reshape(-1, err.shape[-1])
    n = np.isfinite(flat).sum(0)
    per = np.where(n > 0, np.nansum(flat, 0) / np.maximum(n, 1), np.nan)
    return MatchedErrors(rmse, pck, dict(zip(names, per.tolist(), strict=False)), err, sigma)
