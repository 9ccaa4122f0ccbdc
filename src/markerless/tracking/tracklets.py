"""Tracklets: assembled animals grouped by a tracker, and DeepLabCut's tracklet pickles.

In memory a set of tracklets is the chunk's :class:`~.detections.Assemblies`
plus one tracklet id per (frame, row) (``labels``, -1 = no animal); nothing is
copied per tracklet. :meth:`Tracklets.table` summarises each tracklet (start,
end, end-point positions and velocities, mean identity) with a few sorts and
bincounts, which is what stitching needs.

On disk DeepLabCut writes ``<video><scorer>_el.pickle`` (``_bx``, ``_sk``)::

    {"header": MultiIndex(scorer, bodyparts, coords=x/y/likelihood),
     "single": {frame: (n_unique, 3)},                     # unique bodyparts
     tracklet_id: {"frame0042": (n_bodyparts, 4) x, y, likelihood, identity}}

:func:`write_tracklets_pickle` and :func:`read_tracklets_pickle` convert.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.tracking.detections import Assemblies, frame_key, key_width
from markerless.tracking.features import pose_features
from markerless.tracking.pickle_stream import DictPickleWriter

__all__ = [
    "RowTable",
    "TrackletTable",
    "Tracklets",
    "read_tracklets_pickle",
    "tracklets_header",
    "write_tracklets_pickle",
]

_N_VELOCITY = 5  # frames over which end-point velocities are measured


@dataclass
class TrackletTable:
    """One row per tracklet (arrays of length T, ids in increasing order)."""

    ids: np.ndarray
    start: np.ndarray
    end: np.ndarray
    length: np.ndarray
    first_xy: np.ndarray  # (T, 2) centre at start
    last_xy: np.ndarray  # (T, 2) centre at end
    v_start: np.ndarray  # (T, 2) px / frame over the first frames
    v_end: np.ndarray  # (T, 2) px / frame over the last frames
    likelihood: np.ndarray  # (T,) mean keypoint likelihood
    identity: np.ndarray | None  # (T, I) mean identity probability
    size: float  # typical animal size (px)

    def __len__(self) -> int:
        return self.ids.size


@dataclass(eq=False)
class Tracklets:
    """Assemblies of a video and the tracklet each row belongs to."""

    assemblies: Assemblies
    labels: np.ndarray  # (F, N) int64 tracklet id, -1 = none

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != self.assemblies.data.shape[:2]:
            raise ValueError(
                f"labels {self.labels.shape} do not fit assemblies "
                f"{self.assemblies.data.shape[:2]}"
            )

    @property
    def n_frames(self) -> int:
        return self.labels.shape[0]

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frame position, row, id) of every labelled row, sorted by (id, frame)."""
        f, n = np.nonzero(self.labels >= 0)
        tid = self.labels[f, n]
        order = np.lexsort((f, tid))
        return f[order], n[order], tid[order]

    def split_gaps(self) -> Tracklets:
        """Tracklets with a missing frame split there (DeepLabCut's ``split_tracklets``)."""
        f, n, tid = self.rows()
        if not f.size:
            return self
        new = np.ones(f.size, bool)
        new[1:] = (tid[1:] != tid[:-1]) | (np.diff(f) > 1)
        labels = np.full_like(self.labels, -1)
        labels[f, n] = np.cumsum(new) - 1
        return Tracklets(self.assemblies, labels)

    def drop_short(self, min_length: int) -> Tracklets:
        """Tracklets with fewer than ``min_length`` rows removed (``min_hits``)."""
        if min_length <= 1:
            return self
        f, n, tid = self.rows()
        _, inv, counts = np.unique(tid, return_inverse=True, return_counts=True)
        short = counts[inv] < min_length
        labels = self.labels.copy()
        labels[f[short], n[short]] = -1
        return Tracklets(self.assemblies, labels)

    def row_table(self) -> RowTable:
        return RowTable.from_chunk(self.assemblies, self.labels)

    def table(self) -> TrackletTable:
        """Per-tracklet summaries, vectorised over rows."""
        return self.row_table().table()


@dataclass
class RowTable:
    """A few numbers per tracked row (frame-major order of ``np.nonzero(labels >= 0)``).

    All that stitching needs (about 32 bytes a row), so long videos can be
    stitched from chunk summaries without keeping their assemblies in memory.
    """

    frame: np.ndarray  # int64 (R,) video frame
    tid: np.ndarray  # int64 (R,) tracklet id
    center: np.ndarray  # float32 (R, 2)
    lik: np.ndarray  # float32 (R,) mean keypoint likelihood (1 when unknown)
    diag: np.ndarray  # float32 (R,) box diagonal, NaN with < 2 keypoints
    identity: np.ndarray | None = None  # float32 (R, I)

    def __len__(self) -> int:
        return self.frame.size

    @classmethod
    def from_chunk(cls, a: Assemblies, labels: np.ndarray) -> RowTable:
        f, n = np.nonzero(labels >= 0)
        rows = a.data[f, n]  # (R, K, 4)
        feats = pose_features(rows[..., :2])
        lik = rows[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            fin = np.isfinite(lik)
            row_lik = np.where(fin.any(-1), np.where(fin, lik, 0).sum(-1) / fin.sum(-1), 1.0)
        b = feats.box
        diag = np.where(feats.n_visible >= 2, np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]),
                        np.nan)
        ident = None if a.identity is None else a.identity[f, n].astype(np.float32)
        return cls((f + a.first_frame).astype(np.int64), labels[f, n].astype(np.int64),
                   feats.center.astype(np.float32), row_lik.astype(np.float32),
                   diag.astype(np.float32), ident)

    @classmethod
    def concatenate(cls, parts: Sequence[RowTable]) -> RowTable:
        ident = None
        if parts and parts[0].identity is not None:
            ident = np.concatenate([p.identity for p in parts])
        cat = (lambda name: np.concatenate([getattr(p, name) for p in parts])) if parts else (
            lambda name: np.zeros((0, 2) if name == "center" else 0))
        return cls(cat("frame").astype(np.int64), cat("tid").astype(np.int64),
                   cat("center").astype(np.float32), cat("lik").astype(np.float32),
                   cat("diag").astype(np.float32), ident)

    def order(self) -> np.ndarray:
        """Row order by (tracklet, frame)."""
        return np.lexsort((self.frame, self.tid))

    def split_gaps(self) -> RowTable:
        """New ids where a tracklet skips a frame (DeepLabCut's ``split_tracklets``)."""
        if not len(self):
            return self
        o = self.order()
        tid, fr = self.tid[o], self.frame[o]
        new = np.ones(o.size, bool)
        new[1:] = (tid[1:] != tid[:-1]) | (np.diff(fr) > 1)
        out = np.empty_like(self.tid)
        out[o] = np.cumsum(new) - 1
        return RowTable(self.frame, out, self.center, self.lik, self.diag, self.identity)

    def table(self) -> TrackletTable:
        """Per-tracklet summaries, vectorised over rows."""
        o = self.order()
        f, tid = self.frame[o], self.tid[o]
        c = self.center[o].astype(np.float64)
        ids, first, counts = np.unique(tid, return_index=True, return_counts=True)
        last = first + counts - 1
        m = np.minimum(counts - 1, _N_VELOCITY)
        with np.errstate(invalid="ignore", divide="ignore"):
            dt_end = (f[last] - f[last - m]).astype(np.float64)
            v_end = np.where(m[:, None] > 0, (c[last] - c[last - m]) / dt_end[:, None], 0.0)
            dt_start = (f[first + m] - f[first]).astype(np.float64)
            v_start = np.where(m[:, None] > 0, (c[first + m] - c[first]) / dt_start[:, None], 0.0)
        inv = np.repeat(np.arange(ids.size), counts)
        row_lik = self.lik[o].astype(np.float64)
        lik = np.bincount(inv, row_lik, minlength=ids.size) / np.maximum(counts, 1)
        identity = None
        if self.identity is not None:
            p = self.identity[o].astype(np.float64)
            good = np.isfinite(p).all(-1)
            w = row_lik * good
            acc = np.stack(
                [np.bincount(inv, w * np.nan_to_num(p[:, i]), minlength=ids.size)
                 for i in range(p.shape[1])], -1,
            ) if p.shape[1] else np.zeros((ids.size, 0))
            tot = acc.sum(-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                identity = np.where(tot > 0, acc / tot, np.nan)
        d = self.diag[np.isfinite(self.diag)]
        size = float(np.median(d)) if d.size and np.median(d) > 0 else 10.0
        return TrackletTable(ids, f[first] if f.size else f, f[last] if f.size else f, counts,
                             c[first], c[last], v_start, v_end, lik, identity, size)


# ------------------------------------------------------------------ DLC files
def tracklets_header(bodyparts: Sequence[str], scorer: str) -> pd.MultiIndex:
    """DeepLabCut's ``header``: (scorer, bodyparts, coords) for x, y, likelihood."""
    bps = [bp for bp in bodyparts for _ in range(3)]
    return pd.MultiIndex.from_arrays(
        [[scorer] * len(bps), bps, ["x", "y", "likelihood"] * len(bodyparts)],
        names=["scorer", "bodyparts", "coords"],
    )


def write_tracklets_pickle(
    path: str | os.PathLike, tracklets: Tracklets, scorer: str, n_frames: int | None = None
) -> Path:
    """DeepLabCut's tracklet pickle, streamed tracklet by tracklet."""
    a = tracklets.assemblies
    n_frames = n_frames or a.first_frame + a.n_frames
    width = key_width(n_frames)
    f, n, tid = tracklets.rows()
    rows = a.data[f, n].astype(np.float64)
    ids = -np.ones(f.size)
    if a.identity is not None:
        ident = a.identity[f, n]
        ok = np.isfinite(ident).all(-1)
        ids[ok] = np.argmax(ident[ok], -1)
    rows[..., 3] = ids[:, None]
    rows[~np.isfinite(rows[..., :2]).all(-1)] = np.nan
    bounds = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1], True])
    with DictPickleWriter(path) as w:
        w["header"] = tracklets_header(a.bodyparts + a.unique_bodyparts, scorer)
        if a.unique is not None and a.unique_bodyparts:
            u = a.unique.astype(np.float64)
            keep = np.flatnonzero(np.isfinite(u[..., :2]).all(-1).any(-1))
            w["single"] = {int(a.first_frame + i): u[i] for i in keep}
        for s, e in zip(bounds[:-1], bounds[1:], strict=False):
            w[int(tid[s])] = {
                frame_key(a.first_frame + f[i], width): rows[i] for i in range(s, e)
            }
    return Path(path)


_DIGITS = re.compile(r"\d+")


def _frame_of(key: object) -> int:
    if isinstance(key, (int, np.integer)):
        return int(key)
    m = _DIGITS.search(str(key))
    if m is None:
        raise ValueError(key)
    return int(m.group())


def read_tracklets_pickle(
    path: str | os.PathLike,
    n_frames: int | None = None,
    bodyparts: Sequence[str] | None = None,
    n_identities: int | None = None,
) -> tuple[Tracklets, str]:
    """A tracklet pickle (ours or DeepLabCut's) as :class:`Tracklets`, and its scorer."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = pickle.load(fh)
    except FileNotFoundError:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise LabelFileError(f"{str(path)!r} is not a readable tracklet pickle: {err}") from err
    if not isinstance(raw, dict):
        raise LabelFileError(f"{str(path)!r} holds a {type(raw).__name__}, not tracklets")
    header = raw.get("header")
    scorer, all_bps = "markerless", None
    if isinstance(header, pd.MultiIndex):
        scorer = str(header.get_level_values("scorer")[0]) if len(header) else scorer
        all_bps = list(pd.unique(header.get_level_values("bodyparts")))
    single = raw.get("single") or {}
    frames, tids, values = [], [], []
    for key, entries in raw.items():
        if key in ("header", "single") or not isinstance(entries, dict):
            continue
        for fk, v in entries.items():
            try:
                frames.append(_frame_of(fk))
            except ValueError:
                raise LabelFileError(
                    f"{str(path)!r}: tracklet {key!r} has frame key {fk!r}"
                ) from None
            tids.append(key)
            values.append(np.asarray(v, dtype=np.float64))
    if not values:
        raise LabelFileError(f"{str(path)!r} holds no tracklets")
    width = max(v.size for v in values)
    ncol = 4 if any(v.ndim == 2 and v.shape[-1] == 4 for v in values) else 3
    n_kp = width // ncol
    arr = np.full((len(values), n_kp, 4), np.nan)
    arr[..., 3] = -1
    for i, v in enumerate(values):
        v = v.reshape(-1, v.shape[-1] if v.ndim == 2 else 3)
        arr[i, : v.shape[0], : v.shape[1]] = v
    frames = np.asarray(frames)
    tid = pd.factorize(pd.Index(tids, dtype=object))[0]
    n_frames = max(int(frames.max()) + 1, n_frames or 0)
    order = np.lexsort((tid, frames))
    frames, tid, arr = frames[order], tid[order], arr[order]
    starts = np.searchsorted(frames, frames, side="left")
    slot = np.arange(frames.size) - starts
    n_slots = int(slot.max()) + 1
    data = np.full((n_frames, n_slots, n_kp, 4), np.nan, np.float32)
    data[frames, slot, :, :3] = arr[..., :3]
    data[~np.isfinite(data[..., :2]).all(-1) | (data[..., 2] < 0)] = np.nan
    labels = np.full((n_frames, n_slots), -1, np.int64)
    labels[frames, slot] = tid
    identity = None
    ids = arr[..., 3]
    if (ids >= 0).any():
        n_id = n_identities or int(ids.max()) + 1
        onehot = (ids[..., None] == np.arange(n_id)).astype(np.float64)
        votes = (onehot * np.nan_to_num(arr[..., 2:3], nan=0.0)).sum(1)
        tot = votes.sum(-1, keepdims=True)
        identity = np.full((n_frames, n_slots, n_id), np.nan, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            identity[frames, slot] = np.where(tot > 0, votes / tot, np.nan)
    names = list(bodyparts) if bodyparts is not None else None
    if names is None:
        names = (all_bps or [f"bpt{i}" for i in range(1, n_kp + 1)])[:n_kp]
    unique_bps = list((all_bps or [])[n_kp:])
    unique = None
    if unique_bps:
        unique = np.full((n_frames, len(unique_bps), 3), np.nan, np.float32)
        for k, v in single.items():
            fr = _frame_of(k)
            if 0 <= fr < n_frames:
                unique[fr] = np.asarray(v, dtype=np.float64).reshape(-1, 3)[: len(unique_bps)]
    a = Assemblies(data, names, identity, unique, unique_bps)
    return Tracklets(a, labels), scorer
