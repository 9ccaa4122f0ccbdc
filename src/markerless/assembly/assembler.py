"""Keypoint assembly on the host: DeepLabCut's ``Assembler`` semantics, vectorised over frames.

Input: what `markerless.decoding.ma_peaks.detect_peaks` returns for a chunk of frames
(``peaks`` ``(F, K, P, 3)`` best first, ``affinity`` ``(F, E, P, P)``, optional
``identity`` ``(F, K, P, N)``). Output: `AssemblyResult`, fixed-size arrays
``(F, max_n_individuals, Km, 4)`` ``[x, y, likelihood, affinity]`` (NaN where absent).

The steps are DLC's (``deeplabcut/core/inferenceutils.py``, uncalibrated, ``greedy`` off,
``add_discarded`` and ``force_fusion`` off by default as in DLC 3's PAF predictor):

1. per edge, optimal (Hungarian) matching of the ``max_n_individuals`` strongest peaks of
   each end that reach ``pcutoff``, keeping links with affinity ``>= min_affinity``
   (`markerless.assembly.matching`, all frames and edges at once);
2. complete components first, then growing assemblies from the strongest remaining links,
   fusing, filling. When no connected group of links holds two peaks of one bodypart -- the
   usual frame -- that procedure returns exactly the connected components, which are found
   for all frames at once with ``scipy.sparse.csgraph``; the other frames run DLC's
   procedure step by step (`markerless.assembly.frame_builder`);
3. assemblies with ``0 < links < min_n_links`` are dropped, then pose NMS (an assembly
   whose keypoints lie ``>= max_overlap`` inside a better-scored one's box, DLC's
   ``intersection_with``, is dropped), then the ``max_n_individuals`` largest are kept
   (vectorised over frames; the loops run over assembly ranks, never over peaks);
4. unique bodyparts: the best peak of each, if above ``pcutoff``;
5. ``identity_only``: peaks are grouped by their most likely identity instead of by PAFs,
   the best peak of each bodypart per identity (assembly ``i`` is then individual ``i``).

The affinity column holds the assembly's mean link affinity (DLC's ``Assembly.affinity``,
the score that ranks assemblies in the OKS mAP), the same on each of its keypoints.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from markerless.assembly.frame_builder import build_frame
from markerless.assembly.matching import candidate_mask, match_edges
from markerless.errors import ConfigError

__all__ = ["AssemblerConfig", "AssemblyResult", "assemble"]


@dataclass(frozen=True)
class AssemblerConfig:
    """Assembly settings (DeepLabCut's ``Assembler`` arguments, same names and defaults).

    ``edges`` are the ``(s, t)`` bodypart pairs of the affinity channels, in order.
    """

    max_n_individuals: int
    n_multibodyparts: int
    edges: tuple[tuple[int, int], ...] = ()
    pcutoff: float = 0.1
    min_affinity: float = 0.05
    min_n_links: int = 2
    max_overlap: float = 0.8
    identity_only: bool = False
    greedy: bool = False

    def __post_init__(self) -> None:
        if self.max_n_individuals < 1:
            raise ConfigError(f"max_n_individuals must be >= 1, got {self.max_n_individuals}")
        if self.n_multibodyparts < 1:
            raise ConfigError(f"n_multibodyparts must be >= 1, got {self.n_multibodyparts}")
        object.__setattr__(self, "edges", tuple((int(s), int(t)) for s, t in self.edges))

    @classmethod
    def from_inference_cfg(cls, values: Mapping[str, Any], **kwargs: Any) -> AssemblerConfig:
        """From DeepLabCut ``inference_cfg.yaml`` keys (``topktoretain``, ``pcutoff``,
        ``pafthreshold``, ``minimalnumberofconnections``, ``greedy``...); ``kwargs`` win."""
        names = {"topktoretain": "max_n_individuals", "pcutoff": "pcutoff",
                 "pafthreshold": "min_affinity", "minimalnumberofconnections": "min_n_links",
                 "max_overlap": "max_overlap", "identity_only": "identity_only",
                 "greedy": "greedy"}
        got = {names[k]: v for k, v in values.items() if k in names and v is not None}
        if got.get("max_n_individuals") in (float("inf"), "inf"):
            got.pop("max_n_individuals")
        return cls(**{**got, **kwargs})


@dataclass
class AssemblyResult:
    """Animals found in a run of frames: the arrays of `markerless.tracking.Assemblies`
    (see `to_assemblies`), plus each assembly's link count.

    ``data`` ``(F, A, Km, 4)`` float32 ``[x, y, likelihood, affinity]`` (NaN where a
    keypoint is absent; an all-NaN row is no animal); ``identity`` ``(F, A, N)`` mean
    identity probabilities of each assembly's keypoints (identity models); ``unique``
    ``(F, Ku, 3)`` ``[x, y, likelihood]`` of the unique bodyparts; ``n_links`` ``(F, A)``.
    """

    data: np.ndarray
    identity: np.ndarray | None = None
    unique: np.ndarray | None = None
    n_links: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.data.shape[0])

    def count(self) -> np.ndarray:
        """Animals per frame ``(F,)``."""
        return (~np.isnan(self.data[..., 0])).any(-1).sum(-1)

    def to_assemblies(self, bodyparts, unique_bodyparts=(), identities=None,
                      first_frame: int = 0):
        """The tracking stage's `markerless.tracking.Assemblies` (names attached)."""
        from markerless.tracking.detections import Assemblies

        return Assemblies(self.data, list(bodyparts), self.identity, self.unique,
                          list(unique_bodyparts), None if identities is None else
                          list(identities), first_frame)


def assemble(peaks: np.ndarray, affinity: np.ndarray | None, config: AssemblerConfig,
             identity: np.ndarray | None = None, *, vectorized: bool = True) -> AssemblyResult:
    """Assemble a chunk of frames (see the module docstring).

    ``vectorized=False`` sends every frame down DLC's step-by-step procedure (for tests and
    benchmarks: both give the same assemblies).
    """
    cfg = config
    peaks = np.asarray(peaks, dtype=np.float64)
    n_f, n_k, n_p, _ = peaks.shape
    km, m = cfg.n_multibodyparts, cfg.max_n_individuals
    if n_k < km:
        raise ConfigError(f"peaks have {n_k} bodyparts, fewer than the {km} multi-animal ones")
    scores = np.where(np.isfinite(peaks[..., 0]), peaks[..., 2], np.nan)
    identity_only = cfg.identity_only
    if identity_only and identity is None:
        warnings.warn("The network was not trained with identity; setting identity_only to "
                      "False", UserWarning, stacklevel=2)
        identity_only = False
    if km == 1 or m == 1 or identity_only:
        members = _without_links(scores[:, :km], cfg, identity, identity_only)
        n_links = np.zeros(members.shape[:2], np.int64)
        aff_sum = np.zeros(members.shape[:2])
        if km == 1 or m == 1:  # DLC returns these before any filtering
            return _finish(peaks, members, n_links, aff_sum, cfg, identity, filtering=False)
    else:
        if m > n_p:
            raise ConfigError(f"{m} individuals but only {n_p} peaks per bodypart were kept on "
                              "the device; raise max_peaks")
        members, n_links, aff_sum = _link_assemble(scores[:, :km], affinity, cfg, vectorized)
    return _finish(peaks, members, n_links, aff_sum, cfg, identity)


# --- assemblies from links -------------------------------------------------------------------
def _link_assemble(scores: np.ndarray, affinity: np.ndarray, cfg: AssemblerConfig,
                   vectorized: bool = True):
    """``members (F, A, Km)`` peak slots (-1 = none), ``n_links (F, A)``, ``aff_sum (F, A)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_f, km = scores.shape[:2]
    m = cfg.max_n_individuals
    a_max = max(1, (km * m) // 2)
    members = np.full((n_f, a_max, km), -1, np.int64)
    n_links = np.zeros((n_f, a_max), np.int64)
    aff_sum = np.zeros((n_f, a_max))
    edges = np.asarray(cfg.edges, dtype=np.intp).reshape(-1, 2)
    if affinity is None or not len(edges):
        return members, n_links, aff_sum
    if affinity.shape[1] != len(edges):
        raise ConfigError(f"{affinity.shape[1]} affinity channels for {len(edges)} edges")
    kept = candidate_mask(scores, m, cfg.pcutoff)
    links = match_edges(affinity, kept, edges, cfg.min_affinity, cfg.greedy)
    if not len(links):
        return members, n_links, aff_sum
    per_frame = km * m
    src = links.frame * per_frame + edges[links.edge, 0] * m + links.src  # global node ids
    dst = links.frame * per_frame + edges[links.edge, 1] * m + links.dst
    n_nodes = n_f * per_frame
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_nodes, n_nodes))
    _, comp = connected_components(graph, directed=False)
    linked = np.zeros(n_nodes, bool)
    linked[src] = linked[dst] = True
    nodes = np.flatnonzero(linked)
    c = comp[nodes]
    part = (nodes % per_frame) // m
    # A component holding two peaks of one bodypart sends its frame down the exact path.
    key = np.unique(c * km + part, return_counts=True)
    dup_comp = np.unique(key[0][key[1] > 1] // km)
    frame_of_comp = np.zeros(comp.max() + 1, np.int64)
    frame_of_comp[c] = nodes // per_frame
    slow = np.zeros(n_f, bool)
    slow[frame_of_comp[dup_comp]] = True
    if not vectorized:
        slow[:] = True
    link_slow = slow[links.frame]

    fast = ~slow[nodes // per_frame]
    _fast_components(nodes[fast], comp, links, src, dst, ~link_slow, km, m, members, n_links,
                     aff_sum)
    for f in np.flatnonzero(slow):  # the exact path, frame by frame (see frame_builder)
        sel = np.flatnonzero(links.frame == f)
        base = f * per_frame
        built = build_frame((src[sel] - base).tolist(), (dst[sel] - base).tolist(),
                            links.affinity[sel].tolist(), m, km, m)
        for r, a in enumerate(built[:a_max]):
            for p, node in a.parts.items():
                members[f, r, p] = node % m
            n_links[f, r] = len(a.links)
            aff_sum[f, r] = a.aff
    used = int((members >= 0).any(-1).any(0).nonzero()[0].max(initial=-1)) + 1
    width = max(used, m)  # assemblies beyond the last one used anywhere: none to carry
    return members[:, :width], n_links[:, :width], aff_sum[:, :width]


def _fast_components(nodes, comp, links, src, dst, link_ok, km, m, members, n_links, aff_sum):
    """Fill the arrays with connected components (frames without bodypart clashes)."""
    if not len(nodes):
        return
    per_frame = km * m
    uc, inv = np.unique(comp[nodes], return_inverse=True)
    n_c = len(uc)
    size = np.bincount(inv, minlength=n_c)
    frame = np.zeros(n_c, np.int64)
    frame[inv] = nodes // per_frame
    lk = np.flatnonzero(link_ok)
    lc = np.searchsorted(uc, comp[src[lk]])
    n_l = np.bincount(lc, minlength=n_c)
    a_sum = np.bincount(lc, weights=links.affinity[lk], minlength=n_c)
    a_max = np.full(n_c, -np.inf)
    np.maximum.at(a_max, lc, links.affinity[lk])
    first = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(first, lc, lk)
    complete = size == km
    # DLC's early return: as many complete animals as individuals -> nothing else.
    n_complete = np.bincount(frame[complete], minlength=members.shape[0])
    keep = complete | (n_complete[frame] < m)
    # Order inside a frame: complete components (discovery order), then the others by their
    # strongest link (DLC's seeds), ties by link order.
    order = np.lexsort((first, np.where(complete, first, -a_max), ~complete, frame))
    order = order[keep[order]]
    f_sorted = frame[order]
    starts = np.searchsorted(f_sorted, f_sorted, side="left")
    rank = np.arange(len(order)) - starts
    ok = rank < members.shape[1]
    order, rank = order[ok], rank[ok]
    rank_of = np.full(n_c, -1)
    rank_of[order] = rank
    r = rank_of[inv]
    sel = r >= 0
    nd = nodes[sel]
    members[nd // per_frame, r[sel], (nd % per_frame) // m] = nd % m
    n_links[frame[order], rank] = n_l[order]
    aff_sum[frame[order], rank] = a_sum[order]


def _without_links(scores: np.ndarray, cfg: AssemblerConfig, identity: np.ndarray | None,
                   identity_only: bool) -> np.ndarray:
    """Members for one bodypart, one individual, or identity-only grouping."""
    n_f, km, n_p = scores.shape
    valid = np.isfinite(scores)
    s = np.where(valid, scores, -np.inf)
    if cfg.max_n_individuals == 1:  # DLC: the best peak of every bodypart, no cutoff
        best = np.argmax(s, axis=-1)
        return np.where(np.isfinite(np.max(s, -1)), best, -1)[:, None, :]
    if km == 1:  # every peak above pcutoff is an animal (strongest first; fixed size)
        slots = np.broadcast_to(np.arange(n_p), (n_f, n_p))
        good = s[:, 0] >= cfg.pcutoff
        out = np.where(good, slots, -1)[:, : cfg.max_n_individuals]
        return out[:, :, None]
    ids = np.argmax(identity[:, :km], axis=-1)  # (F, Km, P)
    n_id = identity.shape[-1]
    members = np.full((n_f, n_id, km), -1, np.int64)
    for g in range(n_id):  # one pass per identity, all frames and bodyparts at once
        sg = np.where((ids == g) & (s >= cfg.pcutoff), s, -np.inf)
        best = np.argmax(sg, axis=-1)
        members[:, g] = np.where(np.isfinite(np.max(sg, -1)), best, -1)
    return members


# --- filtering and output --------------------------------------------------------------------
def _finish(peaks, members, n_links, aff_sum, cfg: AssemblerConfig, identity,
            filtering: bool = True) -> AssemblyResult:
    n_f, n_k = peaks.shape[:2]
    km, max_n = cfg.n_multibodyparts, cfg.max_n_individuals
    present = members >= 0
    length = present.sum(-1)
    alive = length > 0
    n_a = members.shape[1]
    order = np.broadcast_to(np.arange(n_a), (n_f, n_a))  # construction order
    if filtering:
        alive &= ~((n_links > 0) & (n_links < cfg.min_n_links))
        if 0 < cfg.max_overlap < 1:  # DLC re-orders by score (sum of link affinities)
            order = np.argsort(-np.where(alive, aff_sum, -np.inf), axis=1, kind="stable")
            xy = _member_values(peaks[:, :km, :, :2], members)
            alive = _pose_nms(xy, present, alive, order, cfg.max_overlap)
    dead_last = np.argsort(~np.take_along_axis(alive, order, 1), axis=1, kind="stable")
    order = np.take_along_axis(order, dead_last, 1)
    too_many = alive.sum(1) > max_n
    if filtering and too_many.any():  # DLC keeps the largest, stable in the current order
        ln = np.take_along_axis(np.where(alive, length, -1), order, 1)
        by_len = np.take_along_axis(order, np.argsort(-ln, axis=1, kind="stable"), 1)
        order = np.where(too_many[:, None], by_len, order)
    if n_a < max_n:
        order = np.pad(order, ((0, 0), (0, max_n - n_a)), constant_values=-1)
    top = order[:, :max_n]
    top_c = np.maximum(top, 0)
    ok = (top >= 0) & np.take_along_axis(alive, top_c, 1)
    mem = np.where(ok[..., None], np.take_along_axis(members, top_c[..., None], 1), -1)
    out = np.full((n_f, max_n, km, 4), np.nan, np.float32)
    out[..., :3] = _member_values(peaks[:, :km], mem)
    nl = np.where(ok, np.take_along_axis(n_links, top_c, 1), 0)
    mean_aff = np.where(nl > 0, np.take_along_axis(aff_sum, top_c, 1) / np.maximum(nl, 1), 0.0)
    out[..., 3] = np.where(mem >= 0, mean_aff[..., None], np.nan)
    ident = None
    if identity is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty assemblies: NaN
            ident = np.nanmean(_member_values(identity[:, :km], mem), axis=2).astype(np.float32)
    unique = _unique(peaks[:, km:], cfg.pcutoff) if n_k > km else None
    return AssemblyResult(out, ident, unique, nl.astype(np.int64))


def _member_values(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``values`` ``(F, Km, P, C)`` at member slots ``(F, A, Km)`` -> ``(F, A, Km, C)``
    (NaN where the slot is -1)."""
    n_f, km = values.shape[:2]
    fi = np.arange(n_f)[:, None, None]
    ki = np.arange(km)[None, None, :]
    got = values[fi, ki, np.maximum(members, 0)]
    return np.where((members >= 0)[..., None], got, np.nan)


def _pose_nms(xy: np.ndarray, present: np.ndarray, alive: np.ndarray, order: np.ndarray,
              max_overlap: float) -> np.ndarray:
    """DLC's non-maximum pose suppression, vectorised over frames (a loop over ranks).

    ``intersection_with``: where the two bounding boxes intersect, the smaller of the two
    fractions of each assembly's keypoints that lie inside the intersection (0 when apart).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty assemblies
        lo = np.nanmin(xy, axis=2)  # (F, A, 2)
        hi = np.nanmax(xy, axis=2)
    ilo = np.maximum(lo[:, :, None], lo[:, None, :])  # (F, A, A, 2) box of a ∩ b
    ihi = np.minimum(hi[:, :, None], hi[:, None, :])
    apart = np.any(ihi < ilo, axis=-1) | np.isnan(ilo).any(-1) | np.isnan(ihi).any(-1)
    pts = xy[:, :, None]  # (F, A, 1, Km, 2): points of a against each box (a, b)
    inside = np.all((pts >= ilo[:, :, :, None]) & (pts <= ihi[:, :, :, None]), axis=-1)
    n_in = (inside & present[:, :, None]).sum(-1)  # (F, A, A): a's points in box(a, b)
    n = np.maximum(present.sum(-1), 1)
    overlap = np.minimum(n_in / n[:, :, None], np.swapaxes(n_in, 1, 2) / n[:, None, :])
    overlap = np.where(apart, 0.0, overlap)
    alive = alive.copy()
    fi = np.arange(xy.shape[0])
    for r in range(order.shape[1] - 1):  # ranks, best score first
        cur, rest = order[:, r], order[:, r + 1:]
        kill = (overlap[fi[:, None], cur[:, None], rest] >= max_overlap) & alive[fi, cur][:, None]
        rows, cols = np.nonzero(kill)
        alive[rows, rest[rows, cols]] = False
    return alive


def _unique(peaks_u: np.ndarray, pcutoff: float) -> np.ndarray:
    """Best peak of each unique bodypart ``(F, Ku, 3)``; NaN at or below ``pcutoff``."""
    s = np.where(np.isfinite(peaks_u[..., 0]), peaks_u[..., 2], -np.inf)
    best = np.argmax(s, axis=-1)
    got = np.take_along_axis(peaks_u, best[..., None, None], axis=2)[:, :, 0]
    good = np.take_along_axis(s, best[..., None], -1)[..., 0] > pcutoff
    return np.where(good[..., None], got, np.nan).astype(np.float32)
