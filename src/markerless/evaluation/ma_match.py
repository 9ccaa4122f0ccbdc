"""Matching predicted assemblies to labeled animals, and the matched pixel errors.

Evaluation of a multi-animal model must pair each labeled animal with at most one predicted
assembly before any distance means something. Here the pairing minimises the summed mean
distance over keypoints both have (an assembly sharing no keypoint with an animal cannot be
its match), per frame, with every permutation scored at once for up to
`markerless.assembly.matching.MAX_ENUMERATED` animals (scipy's Hungarian beyond).
"""

from __future__ import annotations

import numpy as np

from markerless.assembly.matching import MAX_ENUMERATED, _permutations

__all__ = ["match_to_truth", "matched_errors"]

_NO_MATCH = 1e9


def _cost(pred_xy: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``(F, I, A)`` mean distance over shared keypoints (``_NO_MATCH`` when none)."""
    d = np.linalg.norm(gt[:, :, None] - pred_xy[:, None], axis=-1)  # (F, I, A, K)
    both = np.isfinite(d)
    n = both.sum(-1)
    mean = np.where(n > 0, np.where(both, d, 0).sum(-1) / np.maximum(n, 1), _NO_MATCH)
    return mean


def match_to_truth(assemblies: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Predictions re-ordered to the labeled animals: ``(F, I, K, C)`` (NaN: no match).

    ``assemblies`` ``(F, A, K, C)`` (``C >= 2``, x and y first; more columns travel along);
    ``gt`` ``(F, I, K, 2)`` with NaN for unlabeled keypoints or absent animals.
    """
    n_f, n_a, n_k, n_c = assemblies.shape
    n_i = gt.shape[1]
    size = max(n_a, n_i)
    cost = np.full((n_f, size, size), _NO_MATCH)
    cost[:, :n_i, :n_a] = _cost(assemblies[..., :2], gt)
    if size <= MAX_ENUMERATED:
        perms = _permutations(size)
        total = cost[:, np.arange(size), perms].sum(-1)  # (F, Q)
        cols = perms[np.argmin(total, axis=-1)]  # (F, size): assembly of each animal
    else:
        from scipy.optimize import linear_sum_assignment

        cols = np.stack([linear_sum_assignment(c)[1] for c in cost])
    cols = cols[:, :n_i]
    good = np.take_along_axis(cost[:, :n_i], cols[..., None], -1)[..., 0] < _NO_MATCH
    padded = np.concatenate([assemblies, np.full((n_f, max(size - n_a, 0), n_k, n_c), np.nan)],
                            axis=1) if size > n_a else assemblies
    out = np.take_along_axis(padded, cols[:, :, None, None], axis=1)
    return np.where(good[:, :, None, None], out, np.nan)


def matched_errors(matched: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean error of each labeled keypoint ``(F, I, K)``: NaN where unlabeled, ``inf``
    where the labeled keypoint has no matched prediction (a miss)."""
    d = np.linalg.norm(matched[..., :2] - gt, axis=-1)
    labeled = np.isfinite(gt).all(-1)
    return np.where(labeled, np.where(np.isfinite(d), d, np.inf), np.nan)
