"""Pruning the complete part-affinity graph to the edges that assemble best (DLC's
``paf_best``, from ``deeplabcut.core.crossvalutils``; reimplemented, vectorised).

After training on every pair of bodyparts, each edge's line integrals are scored on the
training frames by how well they separate true limbs from pairs across animals:

1. every peak is matched to the nearest labeled keypoint of its bodypart (within
   ``radius`` px); a candidate pair is *within* when both ends belong to the same animal,
   *between* when to two different ones;
2. an edge's separability is the AUC of its within- vs between-affinities (Mann-Whitney U);
3. the maximum spanning tree of the separabilities is the smallest graph; larger ones add
   the remaining edges best first (``n_graphs`` sizes);
4. each graph assembles the frames, scored by DLC's ``(1 - miss) * purity`` (miss: share
   of labeled keypoints left unassembled; purity: share of assembled keypoints in the
   assembly that holds most of their animal), averaged over frames with two or more
   animals; the best graph wins, the smallest one on ties.

One change to DLC's procedure, from measurement (docs/multianimal-model.md): on the
training frames the network finds nearly every keypoint, so every candidate scores ~1 and
the smallest (a tree) wins, while at test time keypoints go missing and a tree falls
apart where a denser graph still links the rest. Each candidate is therefore also scored
with ``drop`` (15%) of the peaks removed at random (fixed seed), and the mean of the two
scores decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from markerless.assembly.assembler import AssemblerConfig, assemble

__all__ = ["GraphScore", "edge_separability", "prune_graph", "score_assemblies"]

log = logging.getLogger(__name__)


@dataclass
class GraphScore:
    """One candidate graph: its edge indices, miss rate and purity on the frames as they
    are and with peaks dropped, and DLC's score ``(1 - miss) * purity`` of each."""

    edges: list[int]
    miss: float
    purity: float
    miss_dropped: float = float("nan")
    purity_dropped: float = float("nan")

    @property
    def score(self) -> float:
        return (1.0 - self.miss) * self.purity

    @property
    def score_dropped(self) -> float:
        return (1.0 - self.miss_dropped) * self.purity_dropped


def _peak_owners(peaks: np.ndarray, gt: np.ndarray, radius: float) -> np.ndarray:
    """``(F, Km, P)`` animal index of each peak (nearest labeled keypoint of its part), -1."""
    d = np.linalg.norm(peaks[:, :, :, None, :2] - np.moveaxis(gt, 1, 2)[:, :, None], axis=-1)
    d = np.where(np.isfinite(d), d, np.inf)  # (F, Km, P, I)
    owner = np.argmin(d, axis=-1)
    return np.where(np.min(d, axis=-1) <= radius, owner, -1)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(pos > neg) + 0.5 P(pos == neg), from ranks (Mann-Whitney U)."""
    from scipy.stats import rankdata

    if not len(pos) or not len(neg):
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def edge_separability(peaks: np.ndarray, affinity: np.ndarray, gt: np.ndarray,
                      edges: list[tuple[int, int]], radius: float) -> np.ndarray:
    """AUC of within- vs between-animal affinities for every edge ``(E,)`` (NaN: unknown)."""
    km = gt.shape[2]
    owner = _peak_owners(peaks[:, :km], gt, radius)
    out = np.full(len(edges), np.nan)
    for e, (s, t) in enumerate(edges):  # one vectorised AUC per edge
        os_, ot = owner[:, s, :, None], owner[:, t, None, :]
        a = affinity[:, e]
        known = (os_ >= 0) & (ot >= 0) & np.isfinite(a)
        within = known & (os_ == ot)
        between = known & (os_ != ot)
        out[e] = _auc(a[within], a[between])
    return out


def score_assemblies(data: np.ndarray, gt: np.ndarray, radius: float) -> tuple[float, float]:
    """DLC's mean miss rate and purity over frames with two or more labeled animals."""
    labeled = np.isfinite(gt).all(-1)  # (F, I, Km)
    multi = labeled.any(-1).sum(-1) >= 2
    if not multi.any():
        return float("nan"), float("nan")
    data, gt, labeled = data[multi], gt[multi], labeled[multi]
    # Each labeled keypoint -> the assembly holding a keypoint of its part within radius.
    d = np.linalg.norm(gt[:, :, None] - data[:, None, :, :, :2], axis=-1)  # (F, I, A, Km)
    d = np.where(np.isfinite(d), d, np.inf)
    best = np.argmin(d, axis=2)  # (F, I, Km)
    hit = (np.min(d, axis=2) <= radius) & labeled
    n_dets = labeled.sum((1, 2))
    n_hyp = np.isfinite(data[..., 0]).sum((1, 2))
    miss = np.maximum(0, (n_dets - n_hyp) / np.maximum(n_dets, 1))
    n_i, n_a = gt.shape[1], data.shape[1]
    cont = np.zeros((len(gt), n_i, n_a))  # contingency: animal x assembly
    f, i, k = np.nonzero(hit)
    np.add.at(cont, (f, i, best[f, i, k]), 1)
    total = cont.sum((1, 2))
    purity = np.where(total > 0, cont.max(1).sum(-1) / np.maximum(total, 1), np.nan)
    return float(np.mean(miss)), float(np.nanmean(purity)) if np.isfinite(purity).any() else 0.0


def _drop_peaks(peaks: np.ndarray, affinity: np.ndarray, drop: float, seed: int = 0):
    """Copies with a share ``drop`` of the real peaks removed (padding, as the device pads)."""
    rng = np.random.default_rng(seed)
    gone = np.isfinite(peaks[..., 0]) & (rng.uniform(size=peaks.shape[:3]) < drop)
    p = peaks.copy()
    p[gone] = np.nan
    p[..., 2][gone] = 0.0
    return p, gone


def prune_graph(peaks: np.ndarray, affinity: np.ndarray, gt: np.ndarray,
                edges: list[tuple[int, int]], radius: float, n_graphs: int = 10,
                identity: np.ndarray | None = None, drop: float = 0.15,
                **assembler_kw) -> tuple[list[int], list[GraphScore]]:
    """The best subset of ``edges`` (indices, sorted) and every candidate's score.

    ``peaks`` ``(F, K, P, 3)`` and ``affinity`` ``(F, E, P, P)`` predicted for all ``edges``
    on labeled frames ``gt`` ``(F, I, Km, 2)`` (same pixels).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    n_i, km = gt.shape[1], gt.shape[2]
    auc = edge_separability(peaks, affinity, gt, edges, radius)
    known = np.flatnonzero(np.isfinite(auc))
    if len(known) == 0:
        log.info("No frame with two labeled animals: keeping the complete graph")
        return list(range(len(edges))), []
    e = np.asarray(edges)
    w = 2.0 - auc[known]  # > 0; the minimum spanning tree of 2 - AUC maximises the AUC
    tree = minimum_spanning_tree(coo_matrix((w, (e[known, 0], e[known, 1])), shape=(km, km)))
    tr, tc = tree.nonzero()
    pairs = {tuple(sorted(p)): n for n, p in enumerate(map(tuple, e))}
    root = sorted(pairs[tuple(sorted((int(a), int(b))))] for a, b in zip(tr, tc, strict=True))
    rest = [int(k) for k in known[np.argsort(-auc[known], kind="stable")] if k not in root]
    sizes = sorted({int(n) for n in np.linspace(0, len(rest), min(n_graphs, len(rest) + 1))})
    sparse, gone = _drop_peaks(peaks, affinity, drop)
    s_idx, t_idx = e[:, 0], e[:, 1]
    sparse_aff = np.where(gone[:, s_idx, :, None] | gone[:, t_idx, None, :], np.nan, affinity)
    scores, combined = [], []
    for n in sizes:
        chosen = sorted(root + rest[:n])
        cfg = AssemblerConfig(max_n_individuals=n_i, n_multibodyparts=km,
                              edges=tuple(edges[c] for c in chosen), **assembler_kw)
        res = assemble(peaks, affinity[:, chosen], cfg, identity)
        miss, purity = score_assemblies(res.data, gt, radius)
        res_d = assemble(sparse, sparse_aff[:, chosen], cfg, identity)
        miss_d, purity_d = score_assemblies(res_d.data, gt, radius)
        scores.append(GraphScore(chosen, miss, purity, miss_d, purity_d))
        combined.append(np.nan_to_num(0.5 * (scores[-1].score + scores[-1].score_dropped),
                                      nan=-1))
        log.info("PAF graph with %d edges: miss %.3f, purity %.3f (%.0f%% peaks dropped: "
                 "miss %.3f, purity %.3f)", len(chosen), miss, purity, 100 * drop, miss_d,
                 purity_d)
    best = max(range(len(scores)), key=lambda j: (round(float(combined[j]), 6), -j))
    return scores[best].edges, scores
