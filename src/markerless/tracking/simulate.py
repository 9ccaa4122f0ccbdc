"""Detections as a network would give them, made from ground truth: for tests and benchmarks.

:func:`noisy_assemblies` turns known poses (e.g. a synthetic shared-arena clip
or the fly clip's labels) into :class:`~.detections.Assemblies` with the
identities removed (rows shuffled in every frame), position noise, missing
keypoints and animals, false positives and, optionally, an imperfect identity
head. ``truth`` tells which animal each row came from, so trackers can be
scored exactly. Vectorised; seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from markerless.poses import Poses
from markerless.tracking.detections import Assemblies

__all__ = ["NoisyDetections", "noisy_assemblies"]


@dataclass
class NoisyDetections:
    assemblies: Assemblies
    truth: np.ndarray  # (F, N) int: ground-truth animal of each row, -1 = none / false positive


def noisy_assemblies(
    poses: Poses,
    noise_px: float = 1.0,
    keypoint_dropout: float = 0.05,
    animal_dropout: float = 0.0,
    false_positives: float = 0.0,
    identity_accuracy: float | None = None,
    seed: int = 0,
) -> NoisyDetections:
    """Shuffled, noisy assemblies of ``poses`` (F, A, K, 2).

    ``false_positives`` is the mean number of spurious animals per frame (a
    few keypoints at a random place, low likelihood). ``identity_accuracy``
    (e.g. 0.9) adds an identity head whose argmax is right that often per
    assembly; None leaves identity out.
    """
    rng = np.random.default_rng(seed)
    xy = poses.xy.astype(np.float64)
    n_f, n_a, n_k, _ = xy.shape
    n_fp = int(np.ceil(3 * false_positives)) if false_positives > 0 else 0
    n = n_a + n_fp
    data = np.full((n_f, n, n_k, 4), np.nan)
    data[:, :n_a, :, :2] = xy + rng.normal(0, noise_px, xy.shape)
    data[:, :n_a, :, 2] = rng.uniform(0.6, 1.0, (n_f, n_a, n_k))
    data[:, :n_a, :, 3] = 0.9
    truth = np.full((n_f, n), -1)
    truth[:, :n_a] = np.arange(n_a)
    drop_k = rng.random((n_f, n_a, n_k)) < keypoint_dropout
    drop_a = rng.random((n_f, n_a)) < animal_dropout
    gone = ~np.isfinite(xy).all(-1) | drop_k | drop_a[..., None]
    data[:, :n_a][gone] = np.nan
    truth[:, :n_a][~(~gone).any(-1)] = -1
    if n_fp:
        fin = xy[np.isfinite(xy).all(-1)]
        lo, hi = (fin.min(0), fin.max(0)) if fin.size else (np.zeros(2), np.full(2, 100.0))
        size = 0.1 * float(np.max(hi - lo)) + 1.0
        centre = rng.uniform(lo, hi, (n_f, n_fp, 1, 2))
        data[:, n_a:, :, :2] = centre + rng.normal(0, size, (n_f, n_fp, n_k, 2))
        data[:, n_a:, :, 2] = rng.uniform(0.1, 0.5, (n_f, n_fp, n_k))
        keep_kp = rng.random((n_f, n_fp, n_k)) < 0.3
        exists = rng.random((n_f, n_fp)) < false_positives / n_fp
        data[:, n_a:][~(keep_kp & exists[..., None])] = np.nan
    identity = None
    if identity_accuracy is not None:
        identity = np.full((n_f, n, n_a), np.nan)
        wrong = rng.random((n_f, n_a)) > identity_accuracy
        guess = np.where(wrong, (np.arange(n_a) + rng.integers(1, max(n_a, 2), (n_f, n_a))) % n_a,
                         np.arange(n_a))
        p = np.full((n_f, n_a, n_a), 0.1 / max(n_a - 1, 1))
        np.put_along_axis(p, guess[..., None], 0.9, axis=-1)
        identity[:, :n_a] = p
        if n_fp:
            identity[:, n_a:] = rng.dirichlet(np.ones(n_a), (n_f, n_fp))
        identity[~np.isfinite(data[..., :2]).all(-1).any(-1)] = np.nan
    # shuffle rows per frame: the tracker must not learn identity from the row order
    order = np.argsort(rng.random((n_f, n)), axis=1)
    data = np.take_along_axis(data, order[..., None, None], axis=1)
    truth = np.take_along_axis(truth, order, axis=1)
    if identity is not None:
        identity = np.take_along_axis(identity, order[..., None], axis=1)
    names = poses.individuals if identity is not None else None
    a = Assemblies(data, poses.bodyparts, identity, identities=names)
    return NoisyDetections(a, truth)
