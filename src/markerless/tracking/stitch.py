"""Stitch tracklets into exactly ``n_tracks`` tracks by a minimum-cost flow.

The graph (DeepLabCut's formulation, made always feasible): a source sends
``n_tracks`` units of flow to a sink; every tracklet of at least ``min_length``
frames is a node of capacity 1 (split into in/out); a unit of flow is a track.
Edges join tracklet ``i`` to tracklet ``j`` when ``j`` starts after ``i`` ends,
within ``max_gap`` frames, at the cost of an unlikely continuation (motion
extrapolated from both ends, size-normalised, plus identity disagreement).
Covering a tracklet earns a reward proportional to its length, so the flow
first covers as many frames as ``n_tracks`` disjoint tracks can, then prefers
the most plausible links; a direct source -> sink edge makes empty tracks
possible, so the problem is never infeasible (DLC #2273, #1270).

Tracklets shorter than ``min_length`` and those the flow could not use are then
added greedily into a track that is free over their frames; what fits nowhere
is left out, and a :class:`StitchWarning` names the frames (more animals than
``n_tracks``, tracks that stay empty).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from markerless.errors import ArgumentError
from markerless.poses import Poses
from markerless.tracking.tracklets import RowTable, Tracklets, TrackletTable

__all__ = [
    "StitchPlan", "StitchResult", "StitchWarning", "frame_ranges", "link_costs", "plan_tracks",
    "scatter_tracks", "stitch",
]

_COST_SCALE = 1000  # network simplex works best on integers
_MAX_COST = 50.0


class StitchWarning(UserWarning):
    """Stitching could not honour ``n_tracks`` everywhere (the message names the frames)."""


def frame_ranges(frames: Sequence[int] | np.ndarray, limit: int = 8) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"`` (at most ``limit`` ranges, then a count)."""
    f = np.unique(np.asarray(frames, dtype=np.int64))
    if not f.size:
        return ""
    breaks = np.flatnonzero(np.diff(f) > 1)
    starts = np.r_[f[0], f[breaks + 1]]
    ends = np.r_[f[breaks], f[-1]]
    parts = [f"{s}" if s == e else f"{s}-{e}" for s, e in zip(starts, ends, strict=True)]
    more = len(parts) - limit
    return ", ".join(parts[:limit]) + (f" and {more} more ranges" if more > 0 else "")


def link_costs(
    tab: TrackletTable, i: np.ndarray, j: np.ndarray, identity_weight: float = 0.5
) -> np.ndarray:
    """Cost of tracklet ``j`` continuing tracklet ``i`` (``j`` after ``i``), vectorised.

    Mean of the forward and backward extrapolation errors over the gap, in
    animal sizes, plus 0.01 per missing frame, plus ``10 * identity_weight`` x
    the probability that the two tracklets' identities differ x how reliable the
    shorter tracklet's mean identity is (``n / (n + 5)`` for ``n`` frames).
    """
    gap = (tab.start[j] - tab.end[i]).astype(np.float64)[:, None]
    fwd = tab.last_xy[i] + tab.v_end[i] * gap - tab.first_xy[j]
    bwd = tab.first_xy[j] - tab.v_start[j] * gap - tab.last_xy[i]
    size = max(tab.size, 1e-6)
    motion = 0.5 * (np.linalg.norm(fwd, axis=1) + np.linalg.norm(bwd, axis=1)) / size
    # over long gaps velocities extrapolate badly: never worse than the plain distance
    still = np.linalg.norm(tab.first_xy[j] - tab.last_xy[i], axis=1) / size
    motion = np.fmin(motion, still)
    cost = np.nan_to_num(motion, nan=_MAX_COST) + 0.01 * (gap[:, 0] - 1)
    if tab.identity is not None and identity_weight > 0:
        same = np.nansum(tab.identity[i] * tab.identity[j], axis=1)
        known = np.isfinite(tab.identity[i]).all(1) & np.isfinite(tab.identity[j]).all(1)
        # a tracklet's mean identity is only as reliable as it is long
        n = np.minimum(tab.length[i], tab.length[j]).astype(np.float64)
        reliable = n / (n + 5.0)
        cost = cost + np.where(known, 10.0 * identity_weight * reliable * (1.0 - same), 0.0)
    return np.minimum(cost, _MAX_COST)


def _candidate_edges(tab, idx, max_gap, max_degree):
    """(i, j) pairs among ``idx``: j starts within (end_i, end_i + max_gap]."""
    order = idx[np.argsort(tab.start[idx], kind="stable")]
    starts = tab.start[order]
    lo = np.searchsorted(starts, tab.end[idx], side="right")
    hi = np.searchsorted(starts, tab.end[idx] + max_gap, side="right")
    hi = np.minimum(hi, lo + max_degree)
    counts = np.maximum(hi - lo, 0)
    src = np.repeat(idx, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dst = order[np.repeat(lo, counts) + offs]
    return src, dst


def _flow_chains(tab, idx, n_tracks, max_gap, identity_weight) -> list[list[int]]:
    """Min-cost flow over tracklets ``idx``: up to ``n_tracks`` chains (lists of rows)."""
    import networkx as nx

    if not idx.size:
        return []
    src, dst = _candidate_edges(tab, idx, max_gap, max_degree=max(4 * n_tracks, 8))
    cost = np.rint(link_costs(tab, src, dst, identity_weight) * _COST_SCALE).astype(np.int64)
    reward = np.rint(
        tab.length[idx] * (0.5 + 0.5 * np.clip(tab.likelihood[idx], 0, 1))
        * 4 * _MAX_COST * _COST_SCALE
    ).astype(np.int64)
    g = nx.DiGraph()
    g.add_node("s", demand=-n_tracks)
    g.add_node("t", demand=n_tracks)
    g.add_edge("s", "t", capacity=n_tracks, weight=0)
    for i, r in zip(idx.tolist(), reward.tolist(), strict=True):
        g.add_edge("s", ("in", i), capacity=1, weight=0)
        g.add_edge(("in", i), ("out", i), capacity=1, weight=-r)
        g.add_edge(("out", i), "t", capacity=1, weight=0)
    for a, b, c in zip(src.tolist(), dst.tolist(), cost.tolist(), strict=True):
        g.add_edge(("out", a), ("in", b), capacity=1, weight=c)
    _, flow = nx.network_simplex(g)
    chains = []
    for node, f in flow["s"].items():
        if node == "t" or not f:
            continue
        chain, cur = [], node[1]
        while True:
            chain.append(cur)
            nxt = [v for v, x in flow[("out", cur)].items() if x and v != "t"]
            if not nxt:
                break
            cur = nxt[0][1]
        chains.append(chain)
    return chains


@dataclass
class StitchResult:
    """Tracks and how they were made."""

    poses: Poses  # (F, n_tracks, K) with likelihood
    track_of: np.ndarray  # (T,) track index of each tracklet of the table, -1 = left out
    table: TrackletTable
    left_out_frames: np.ndarray  # frames with a detection that is in no track
    identity: np.ndarray | None  # (n_tracks, I) mean identity of each track


def _order_tracks(tab, chains, n_tracks, names_from_identity):
    """Track order: matched to identity classes when there is an identity head, else by start."""
    if tab.identity is not None and names_from_identity and chains:
        n_id = tab.identity.shape[1]
        score = np.zeros((len(chains), n_id))
        for c, chain in enumerate(chains):
            w = tab.length[chain].astype(np.float64)
            score[c] = np.nansum(tab.identity[chain] * w[:, None], 0) / max(w.sum(), 1)
        rows, cols = linear_sum_assignment(score, maximize=True)
        slots = -np.ones(len(chains), np.int64)
        slots[rows] = cols
        free = [k for k in range(n_tracks) if k not in set(cols.tolist())]
        for c in np.flatnonzero(slots < 0):
            slots[c] = free.pop(0)
        return slots
    first = [min(tab.start[ch]) for ch in chains]
    slots = np.empty(len(chains), np.int64)
    slots[np.argsort(first, kind="stable")] = np.arange(len(chains))
    return slots


@dataclass
class StitchPlan:
    """Which track each row goes to, decided from row summaries alone."""

    row_track: np.ndarray  # (R,) track of each row of the RowTable given, -1 = left out
    track_of: np.ndarray  # (T,) track of each tracklet of ``table``
    table: TrackletTable
    identity: np.ndarray | None  # (n_tracks, I) mean identity of each track


def plan_tracks(
    rows: RowTable,
    n_tracks: int,
    min_length: int = 10,
    max_gap: int | None = None,
    split_tracklets: bool = True,
    identity_weight: float = 0.5,
    n_frames: int | None = None,
) -> StitchPlan:
    """Exactly ``n_tracks`` tracks from tracked rows (see the module docstring).

    Warns (:class:`StitchWarning`, naming the frames) where ``n_tracks`` could
    not be honoured; never raises on an infeasible flow.
    """
    if int(n_tracks) < 1:
        raise ArgumentError(f"n_tracks must be at least 1, got {n_tracks}")
    if int(min_length) < 1:
        raise ArgumentError(f"min_length must be at least 1, got {min_length}")
    n_tracks, min_length = int(n_tracks), int(min_length)
    if split_tracklets:
        rows = rows.split_gaps()
    n_frames = max(n_frames or 0, int(rows.frame.max()) + 1 if len(rows) else 0)
    tab = rows.table()
    long_ = np.flatnonzero(tab.length >= min_length)
    # No default gap limit (DeepLabCut's 1.5 x largest gap breaks chains across long
    # stretches of short tracklets, forcing swaps); the out-degree cap keeps the graph sparse.
    gap = int(max_gap) if max_gap else max(n_frames, 1)
    chains = _flow_chains(tab, long_, n_tracks, gap, identity_weight)
    n_id = 0 if tab.identity is None else tab.identity.shape[1]
    slots = _order_tracks(tab, chains, n_tracks, n_id == n_tracks)
    track_of = -np.ones(len(tab), np.int64)
    for c, chain in enumerate(chains):
        track_of[chain] = slots[c]
    pos = np.searchsorted(tab.ids, rows.tid)
    _add_residuals(rows.frame, pos, tab, track_of, n_tracks, n_frames, identity_weight)
    row_track = track_of[pos] if len(rows) else np.zeros(0, np.int64)
    track_identity = None
    if tab.identity is not None:
        track_identity = np.full((n_tracks, n_id), np.nan)
        for t in range(n_tracks):
            sel = track_of == t
            if sel.any():
                w = tab.length[sel].astype(np.float64)
                track_identity[t] = np.nansum(tab.identity[sel] * w[:, None], 0) / w.sum()
    _warn(rows.frame, row_track, n_tracks, track_of, tab)
    return StitchPlan(row_track, track_of, tab, track_identity)


def scatter_tracks(
    assemblies, labels: np.ndarray, row_track: np.ndarray, n_tracks: int
) -> tuple[np.ndarray, np.ndarray]:
    """(xy (F, n_tracks, K, 2), likelihood (F, n_tracks, K)) of one chunk, float64.

    ``row_track`` holds the tracks of this chunk's rows in ``np.nonzero(labels >= 0)`` order.
    """
    f, n = np.nonzero(labels >= 0)
    a = assemblies
    xy = np.full((a.n_frames, n_tracks, a.n_bodyparts, 2), np.nan)
    lik = np.full((a.n_frames, n_tracks, a.n_bodyparts), np.nan)
    ok = row_track >= 0
    rows = a.data[f[ok], n[ok]].astype(np.float64)
    xy[f[ok], row_track[ok]] = rows[..., :2]
    lik[f[ok], row_track[ok]] = rows[..., 2]
    lik[~np.isfinite(xy).all(-1)] = np.nan
    return xy, lik


def stitch(
    tracklets: Tracklets,
    n_tracks: int,
    min_length: int = 10,
    max_gap: int | None = None,
    split_tracklets: bool = True,
    identity_weight: float = 0.5,
    animal_names: Sequence[str] | None = None,
    scorer: str = "markerless",
    n_frames: int | None = None,
) -> StitchResult:
    """Exactly ``n_tracks`` tracks from ``tracklets``, in memory; never raises on an
    infeasible flow. With an identity head and as many identity classes as tracks,
    track ``k`` is the one whose identity is class ``k`` (names follow config.yaml)."""
    a = tracklets.assemblies
    n_frames = max(n_frames or 0, a.first_frame + a.n_frames)
    rows = tracklets.row_table()
    plan = plan_tracks(rows, n_tracks, min_length, max_gap, split_tracklets, identity_weight,
                       n_frames)
    n_tracks = int(n_tracks)
    cxy, clik = scatter_tracks(a, tracklets.labels, plan.row_track, n_tracks)
    xy = np.full((n_frames, n_tracks, a.n_bodyparts, 2), np.nan)
    lik = np.full((n_frames, n_tracks, a.n_bodyparts), np.nan)
    xy[a.first_frame:a.first_frame + a.n_frames] = cxy
    lik[a.first_frame:a.first_frame + a.n_frames] = clik
    names = list(animal_names or [])
    if len(names) < n_tracks:
        names = [f"ind{i}" for i in range(1, n_tracks + 1)]
    poses = Poses(xy, list(a.bodyparts), names[:n_tracks], list(range(n_frames)), scorer, lik)
    left_out = np.unique(rows.frame[plan.row_track < 0])
    return StitchResult(poses, plan.track_of, plan.table, left_out, plan.identity)


def _add_residuals(frames, pos, tab, track_of, n_tracks, n_frames, identity_weight) -> None:
    """Put each unplaced tracklet (longest first) into the cheapest track free over its frames.

    ``frames`` and ``pos`` (index into ``tab``) describe every row.
    """
    if not frames.size:
        return
    o = np.lexsort((frames, pos))
    frames_s, pos_s = frames[o], pos[o]
    occ = np.zeros((n_frames, n_tracks), bool)
    placed = track_of[pos_s] >= 0
    occ[frames_s[placed], track_of[pos_s][placed]] = True
    bounds = np.r_[0, np.flatnonzero(np.diff(pos_s)) + 1, pos_s.size]
    rows_of = {int(pos_s[b]): frames_s[b:e] for b, e in zip(bounds[:-1], bounds[1:], strict=False)}
    for r in np.argsort(-tab.length, kind="stable"):
        if track_of[r] >= 0:
            continue
        fr = rows_of[int(r)]
        free = np.flatnonzero(~occ[fr].any(0))
        if not free.size:
            continue
        costs = np.array([_neighbour_cost(tab, track_of, r, k, identity_weight) for k in free])
        k = int(free[np.argmin(costs)])
        track_of[r] = k
        occ[fr, k] = True


def _neighbour_cost(tab, track_of, r, k, identity_weight) -> float:
    members = np.flatnonzero(track_of == k)
    if not members.size:
        return _MAX_COST  # an empty track: possible, but any fitting neighbour is better
    before = members[tab.end[members] < tab.start[r]]
    after = members[tab.start[members] > tab.end[r]]
    cost, n = 0.0, 0
    if before.size:
        i = before[np.argmax(tab.end[before])]
        cost += float(link_costs(tab, np.array([i]), np.array([r]), identity_weight)[0])
        n += 1
    if after.size:
        j = after[np.argmin(tab.start[after])]
        cost += float(link_costs(tab, np.array([r]), np.array([j]), identity_weight)[0])
        n += 1
    return cost / n if n else _MAX_COST


def _warn(frames, row_track, n_tracks, track_of, tab) -> None:
    counts = np.bincount(frames, minlength=1) if frames.size else np.zeros(0, int)
    crowded = np.flatnonzero(counts > n_tracks)
    if crowded.size:
        warnings.warn(
            f"more animals than n_tracks={n_tracks} in {crowded.size} frames "
            f"({frame_ranges(crowded)}); the extra detections are left out of the tracks",
            StitchWarning, stacklevel=3,
        )
    left = np.setdiff1d(np.unique(frames[row_track < 0]), crowded)
    if left.size:
        warnings.warn(
            f"{left.size} frames ({frame_ranges(left)}) have detections that fit in none of the "
            f"{n_tracks} tracks (overlapping tracklets); they are left out",
            StitchWarning, stacklevel=3,
        )
    used = np.unique(track_of[track_of >= 0])
    if used.size < n_tracks:
        warnings.warn(
            f"only {used.size} of n_tracks={n_tracks} tracks could be formed from "
            f"{len(tab)} tracklets; the others are empty (NaN)",
            StitchWarning, stacklevel=3,
        )
