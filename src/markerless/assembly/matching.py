"""Per-edge matching of peaks, all frames and edges at once (DeepLabCut's
``Assembler.extract_best_links``).

For each frame and edge ``(s, t)``, the candidates are the ``M = max_n_individuals``
strongest peaks of ``s`` and of ``t`` that reach ``pcutoff``; the links are an optimal
(Hungarian) assignment of the ``M x M`` affinity matrix, keeping pairs with affinity
``>= min_affinity``. Affinities are clipped at 0 (a negative line integral points the wrong
way: no limb); with non-negative weights, maximising over the padded ``M x M`` matrix gives
the same optimum as over DLC's rectangular one, so invalid candidates simply weigh 0.

Vectorised: for ``M <= MAX_ENUMERATED`` every permutation of ``M`` is scored at once
(``M!`` sums per frame and edge: 2 for two animals, 24 for four); beyond that,
``scipy.optimize.linear_sum_assignment`` runs per (frame, edge) matrix. ``greedy=True``
is DLC's greedy mode: ``M`` rounds of "take the best remaining pair", vectorised.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Links", "MAX_ENUMERATED", "candidate_mask", "match_edges"]

#: largest ``M`` solved by enumerating permutations (720 per matrix).
MAX_ENUMERATED = 6


@dataclass
class Links:
    """Selected links, one row each, ordered by (frame, edge, source slot) like DLC's list.

    ``frame``, ``edge`` (index into the assembled edges), ``src`` and ``dst`` (peak slots of
    the edge's two bodyparts) are int arrays; ``affinity`` float.
    """

    frame: np.ndarray
    edge: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    affinity: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, idx: np.ndarray) -> Links:
        return Links(self.frame[idx], self.edge[idx], self.src[idx], self.dst[idx],
                     self.affinity[idx])


@lru_cache(maxsize=8)
def _permutations(m: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(m))), dtype=np.intp).reshape(-1, m)


def candidate_mask(scores: np.ndarray, m: int, pcutoff: float) -> np.ndarray:
    """``(F, K, M)`` bool: slot among the ``m`` strongest peaks (slots come best first from
    the device) with a finite score ``>= pcutoff``."""
    s = scores[..., :m]
    return np.isfinite(s) & (s >= pcutoff) & (s > 0)


def match_edges(affinity: np.ndarray, kept: np.ndarray, edges: np.ndarray, min_affinity: float,
                greedy: bool = False) -> Links:
    """Links of every frame and edge.

    Parameters
    ----------
    affinity
        ``(F, E, P, P)`` line integrals (NaN = padding), ``P >= M``.
    kept
        ``(F, Km, M)`` candidate mask from `candidate_mask`.
    edges
        ``(E, 2)`` bodypart indices ``(s, t)`` of each affinity channel.
    """
    n_f, n_e = affinity.shape[:2]
    m = kept.shape[2]
    a = np.nan_to_num(affinity[:, :, :m, :m].astype(np.float64), nan=0.0)
    np.maximum(a, 0.0, out=a)
    ks = kept[:, edges[:, 0]]  # (F, E, M)
    kt = kept[:, edges[:, 1]]
    a *= ks[..., :, None] & kt[..., None, :]
    rows = np.broadcast_to(np.arange(m), (n_f, n_e, m))
    if greedy:
        cols = _greedy(a)
    elif m <= MAX_ENUMERATED:
        perms = _permutations(m)
        total = a[:, :, np.arange(m), perms].sum(-1)  # (F, E, Q)
        cols = perms[np.argmax(total, axis=-1)]  # (F, E, M)
    else:
        cols = _scipy(a)
    w = np.take_along_axis(a, cols[..., None], axis=-1)[..., 0]  # (F, E, M)
    ok = (cols >= 0) & ks & np.take_along_axis(kt, np.maximum(cols, 0), axis=-1)
    ok &= w >= min_affinity
    f, e, i = np.nonzero(ok)  # C order: frame, edge, source slot (DLC's link order)
    return Links(f, e, rows[f, e, i], cols[f, e, i], w[f, e, i])


def _greedy(a: np.ndarray) -> np.ndarray:
    """DLC's greedy pairing: repeatedly the best remaining pair (ties: first in row-major)."""
    n_f, n_e, m, _ = a.shape
    work = np.where(a > 0, a, -np.inf)
    cols = np.full((n_f, n_e, m), -1, dtype=np.intp)
    for _ in range(m):  # m rounds, each over all frames and edges at once
        flat = work.reshape(n_f, n_e, m * m)
        best = np.argmax(flat, axis=-1)
        val = np.take_along_axis(flat, best[..., None], -1)[..., 0]
        r, c = np.divmod(best, m)
        f, e = np.nonzero(np.isfinite(val))
        cols[f, e, r[f, e]] = c[f, e]
        work[f, e, r[f, e], :] = -np.inf
        work[f, e, :, c[f, e]] = -np.inf
    return cols


def _scipy(a: np.ndarray) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment

    n_f, n_e, m, _ = a.shape
    cols = np.empty((n_f, n_e, m), dtype=np.intp)
    for f in range(n_f):  # many animals only: one assignment per (frame, edge) matrix
        for e in range(n_e):
            r, c = linear_sum_assignment(a[f, e], maximize=True)
            cols[f, e, r] = c
    return cols
