"""Keypoint error metrics as pure NumPy functions (no JAX), so they are trivially testable.

Naming follows DeepLabCut: its "RMSE" (``evaluate_network``, ``pairwisedistances``) is the
*mean Euclidean distance* between predicted and labeled keypoints over all labeled points,
not the root of the mean squared error. `compute_rmse` keeps that definition so numbers are
comparable with DeepLabCut's ("DLC gets ~2 px on openfield"); `compute_rmse(..., root=True)`
gives the textbook RMSE.

Arrays are ``(..., K, 2)`` for coordinates and ``(..., K)`` for likelihoods; NaN marks an
unlabeled ground-truth point or a missing prediction and such points are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "bbox_diagonal",
    "compute_pck",
    "compute_rmse",
    "keypoint_errors",
    "per_bodypart_table",
    "visibility_scores",
]


def keypoint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance per keypoint, ``(..., K)``; NaN where either side is missing.

    ``pred`` may carry a third column (likelihood), which is ignored here.
    """
    pred = np.asarray(pred, dtype=np.float64)[..., :2]
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and ground truth {gt.shape} shapes differ")
    return np.sqrt(np.sum((pred - gt) ** 2, axis=-1))


def _apply_cutoff(errors: np.ndarray, likelihood: np.ndarray | None, pcutoff: float | None):
    if pcutoff is None:
        return errors
    if likelihood is None:
        raise ValueError("pcutoff needs the predictions' likelihood")
    likelihood = np.asarray(likelihood, dtype=np.float64)
    if likelihood.shape != errors.shape:
        raise ValueError(f"likelihood {likelihood.shape} does not match errors {errors.shape}")
    return np.where(likelihood >= pcutoff, errors, np.nan)


def compute_rmse(
    pred: np.ndarray,
    gt: np.ndarray,
    likelihood: np.ndarray | None = None,
    pcutoff: float | None = None,
    root: bool = False,
) -> float:
    """DeepLabCut's pixel error: mean Euclidean distance over labeled points.

    Parameters
    ----------
    pred, gt
        ``(..., K, 2)`` coordinates (``pred`` may be ``(..., K, 3)`` with likelihood).
    likelihood, pcutoff
        With ``pcutoff``, only predictions with ``likelihood >= pcutoff`` count (DLC's
        "error with p-cutoff").
    root
        ``sqrt(mean(d**2))`` instead of ``mean(d)``.

    Returns NaN when no point qualifies.
    """
    errors = _apply_cutoff(keypoint_errors(pred, gt), likelihood, pcutoff)
    valid = errors[np.isfinite(errors)]
    if valid.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(valid**2)) if root else np.mean(valid))


def bbox_diagonal(gt: np.ndarray) -> np.ndarray:
    """Diagonal of the labeled keypoints' bounding box per instance, ``(...)``.

    The scale used for PCK "as a fraction of the animal's size"; NaN with no labeled point.
    """
    gt = np.asarray(gt, dtype=np.float64)
    labeled = np.isfinite(gt).all(axis=-1)
    lo = np.where(labeled[..., None], gt, np.inf).min(axis=-2)
    hi = np.where(labeled[..., None], gt, -np.inf).max(axis=-2)
    diag = np.sqrt(np.sum((hi - lo) ** 2, axis=-1))
    return np.where(labeled.any(axis=-1), diag, np.nan)


def compute_pck(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: Sequence[float],
    likelihood: np.ndarray | None = None,
    pcutoff: float | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Percentage of correct keypoints: fraction of labeled points within each threshold.

    Every labeled ground-truth point counts; a prediction that is missing, or below
    ``pcutoff`` when given, counts as a miss (unlike `compute_rmse`, which drops it).

    Parameters
    ----------
    thresholds
        Distances in pixels, or fractions of the instance's `bbox_diagonal` with
        ``normalize="bbox"``.

    Returns
    -------
    ``(len(thresholds),)`` fractions in [0, 1]; NaN when nothing is labeled.
    """
    gt = np.asarray(gt, dtype=np.float64)
    errors = _apply_cutoff(keypoint_errors(pred, gt), likelihood, pcutoff)
    labeled = np.isfinite(gt).all(axis=-1)
    if normalize == "bbox":
        diag = bbox_diagonal(gt)
        # A single labeled point has no extent: its PCK is undefined, counted as a miss.
        errors = errors / np.where(diag > 0, diag, np.nan)[..., None]
    elif normalize is not None:
        raise ValueError(f"normalize must be None or 'bbox', got {normalize!r}")
    n = labeled.sum()
    if n == 0:
        return np.full(len(thresholds), np.nan)
    thr = np.asarray(thresholds, dtype=np.float64)
    # NaN errors compare False: missing predictions are misses.
    hits = (errors[labeled][:, None] <= thr[None, :]).sum(axis=0)
    return hits / n


def visibility_scores(likelihood: np.ndarray, labeled: np.ndarray, pcutoff: float
                      ) -> tuple[float, float]:
    """Precision and recall of "visible at ``pcutoff``" against the labels.

    A prediction says "visible" when its likelihood is ``>= pcutoff``; a label says so when
    the point is labeled. Precision: of the points said visible, the share that are
    labeled (low precision = confident points where nothing is labeled: a part shown where
    it is hidden). Recall: of the labeled points, the share said visible (low recall =
    visible parts dropped as missing). NaN when nothing is said visible / labeled.
    """
    said = np.asarray(likelihood, dtype=np.float64) >= pcutoff
    labeled = np.asarray(labeled, dtype=bool)
    tp = float((said & labeled).sum())
    precision = tp / said.sum() if said.any() else float("nan")
    recall = tp / labeled.sum() if labeled.any() else float("nan")
    return precision, recall


def per_bodypart_table(
    pred: np.ndarray,
    gt: np.ndarray,
    bodyparts: Sequence[str],
    likelihood: np.ndarray | None = None,
    pcutoff: float | None = None,
    thresholds: Sequence[float] = (2.0, 5.0, 10.0),
) -> pd.DataFrame:
    """Error and PCK per bodypart (rows) for ``(N, K, 2)`` or ``(N, I, K, 2)`` arrays.

    Columns: ``n_labeled``, ``n_unlabeled``, ``error_px``, ``median_px``, ``max_px``,
    with ``pcutoff`` also ``error_px_pcutoff`` and the precision and recall of "visible at
    pcutoff" (`visibility_scores`: does the likelihood fall below ``pcutoff`` where the part
    is not labeled, and stay above it where it is), then ``pck@<t>px`` for each threshold.
    """
    pred = np.asarray(pred, dtype=np.float64)[..., :2]
    gt = np.asarray(gt, dtype=np.float64)
    k = gt.shape[-2]
    if len(bodyparts) != k:
        raise ValueError(f"{len(bodyparts)} bodypart names for {k} keypoints")
    # Move the keypoint axis first and flatten the rest: one row per bodypart.
    pred_k = np.moveaxis(pred, -2, 0).reshape(k, -1, 1, 2)
    gt_k = np.moveaxis(gt, -2, 0).reshape(k, -1, 1, 2)
    lik_k = None if likelihood is None else np.moveaxis(
        np.asarray(likelihood, dtype=np.float64), -1, 0).reshape(k, -1, 1)
    rows = []
    for i, name in enumerate(bodyparts):  # K is small (a handful of names): loop is fine
        lik_i = None if lik_k is None else lik_k[i]
        labeled = np.isfinite(gt_k[i]).all(axis=-1)
        err = keypoint_errors(pred_k[i], gt_k[i])
        finite = err[np.isfinite(err)]
        row = {
            "bodypart": name,
            "n_labeled": int(labeled.sum()),
            "n_unlabeled": int((~labeled).sum()),
            "error_px": compute_rmse(pred_k[i], gt_k[i]),
            "median_px": float(np.median(finite)) if finite.size else float("nan"),
            "max_px": float(finite.max()) if finite.size else float("nan"),
        }
        if pcutoff is not None:
            row["error_px_pcutoff"] = compute_rmse(pred_k[i], gt_k[i], lik_i, pcutoff)
            if lik_i is not None:
                row["visible_precision"], row["visible_recall"] = visibility_scores(
                    lik_i, labeled, pcutoff)
        pck = compute_pck(pred_k[i], gt_k[i], thresholds)
        row.update({f"pck@{t:g}px": float(v) for t, v in zip(thresholds, pck, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("bodypart")
