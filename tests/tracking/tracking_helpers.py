"""Shared helpers for tracking tests: crossing clips and an exact identity-switch count."""

from __future__ import annotations

import numpy as np

from markerless.poses import Poses
from markerless.synthetic import SyntheticConfig, ground_truth


def crossing_truth(n_animals: int = 2, n_frames: int = 600, seed: int = 1, k: int = 9) -> Poses:
    """Ground truth of a shared-arena synthetic clip (animals meet and cross)."""
    return ground_truth(SyntheticConfig(n_frames=n_frames, n_animals=n_animals, arena="shared",
                                        bodyparts=k, seed=seed))


def close_frames(gt: Poses, factor: float = 1.0) -> int:
    """Frames where two animals' centres are within ``factor`` body lengths."""
    c = np.nanmean(gt.xy, axis=2)
    i, j = np.triu_indices(gt.n_individuals, 1)
    d = np.linalg.norm(c[:, i] - c[:, j], axis=-1)
    length = np.nanmedian(np.linalg.norm(gt.xy[:, :, 0] - gt.xy[:, :, -1], axis=-1))
    return int((d < factor * length).any(-1).sum())


def switches(tracks_xy: np.ndarray, gt_xy: np.ndarray, tol: float = 6.0) -> tuple[int, float]:
    """(identity switches, fraction of ground-truth animal-frames covered by some track).

    Each track's animal per frame is the ground-truth animal within ``tol`` px
    (mean keypoint distance); a switch is a change of track for the same animal.
    """
    d = np.linalg.norm(tracks_xy[:, :, None] - gt_xy[:, None], axis=-1)  # (F, T, A, K)
    with np.errstate(invalid="ignore"):
        n = np.isfinite(d).sum(-1)
        mean = np.where(n > 0, np.nansum(d, -1) / np.maximum(n, 1), np.inf)  # (F, T, A)
    best_t = np.argmin(mean, axis=1)  # (F, A)
    ok = np.take_along_axis(mean, best_t[:, None], 1)[:, 0] < tol
    n_sw = 0
    for a in range(gt_xy.shape[1]):
        seq = best_t[ok[:, a], a]
        n_sw += int((np.diff(seq) != 0).sum())
    present = np.isfinite(gt_xy).all(-1).any(-1)
    return n_sw, float(ok[present].mean())
