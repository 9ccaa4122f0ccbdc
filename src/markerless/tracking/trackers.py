"""Frame-to-frame trackers (DeepLabCut's ``ellipse``, ``box`` and ``skeleton``), identity-aware.

A tracker links each frame's assembled animals to the tracks alive in the
previous frames: every track predicts where its animal is now (constant
velocity of the centre, smoothed), a similarity matrix ``(detections, tracks)``
is built with the method's measure (:mod:`.features`), optionally mixed with
the identity head's agreement, and solved by the Hungarian algorithm. Matches
below the method's threshold start a new tracklet instead. A track not seen for
more than ``max_age`` frames ends.

Output: one tracklet id per (frame, assembly row), ``-1`` where there is no
animal. That ``(F, N)`` int array is all a tracker produces; tracklets are
groups of rows with the same id (:mod:`.tracklets`). Features are computed for
a whole chunk at once; the loop over frames touches only arrays of a few
tracks, so tracking runs at tens of thousands of frames per second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from markerless.errors import ArgumentError
from markerless.tracking.detections import Assemblies
from markerless.tracking.features import (
    box_iou,
    ellipse_similarity,
    identity_similarity,
    oks_similarity,
    pose_features,
    shared_center_distance,
)

__all__ = ["TRACK_METHODS", "Tracker", "TrackerConfig", "track_assemblies"]

#: DeepLabCut's tracker names and the file suffix of their tracklets.
TRACK_METHODS = {"ellipse": "_el", "box": "_bx", "skeleton": "_sk"}


@dataclass
class TrackerConfig:
    """Tracker parameters; names as in DeepLabCut's ``inference_cfg.yaml`` where it has them."""

    method: str = "ellipse"
    max_age: int = 1
    min_hits: int = 1
    iou_threshold: float = 0.6  # ellipse similarity / box IoU needed to link
    oks_threshold: float = 0.5  # OKS needed to link (skeleton)
    boundingboxslack: float = 0.0
    pcutoff: float = 0.1  # keypoints below this likelihood are ignored
    oks_sigma: float = 0.1
    identity_weight: float = 0.1  # share of the identity agreement in the frame-to-frame cost
    velocity_smoothing: float = 0.5  # 0 = last displacement only, -> 1 = constant
    min_size: float | None = None  # floor on animal size (px); default half the track's size
    sd: float = 2.0  # ellipse size in standard deviations

    def __post_init__(self) -> None:
        if self.method not in TRACK_METHODS:
            raise ArgumentError(
                f"track_method {self.method!r} is not one of {sorted(TRACK_METHODS)}"
            )
        if int(self.max_age) < 0 or int(self.min_hits) < 1:
            raise ArgumentError(f"max_age must be >= 0 and min_hits >= 1 ({self})")
        if not 0 <= self.identity_weight <= 1:
            raise ArgumentError(f"identity_weight must be in [0, 1], got {self.identity_weight}")
        self.max_age, self.min_hits = int(self.max_age), int(self.min_hits)

    @classmethod
    def from_inference_cfg(
        cls, inference_cfg: Mapping[str, Any] | None, method: str = "ellipse", **overrides: Any
    ) -> TrackerConfig:
        """Take the keys this tracker knows from an ``inference_cfg`` dict (others ignored)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in (inference_cfg or {}).items() if k in names and v is not None}
        kw.update({k: v for k, v in overrides.items() if v is not None})
        kw["method"] = method
        return cls(**kw)

    @property
    def threshold(self) -> float:
        return self.oks_threshold if self.method == "skeleton" else self.iou_threshold


class Tracker:
    """Stateful tracker: feed consecutive :class:`Assemblies` chunks to :meth:`update`."""

    def __init__(self, config: TrackerConfig | None = None, **kw: Any):
        self.config = config or TrackerConfig(**kw)
        self.next_id = 0
        self.min_size = self.config.min_size
        self._diag = None
        self._n_kp = None
        self._tracks = None  # dict of arrays over active tracks

    def _init_tracks(self, n_kp: int, n_id: int) -> None:
        self._n_kp = n_kp
        self._tracks = {
            "tid": np.zeros(0, np.int64),
            "xy": np.zeros((0, n_kp, 2)),
            "center": np.zeros((0, 2)),
            "vel": np.zeros((0, 2)),
            "ellipse": np.zeros((0, 3)),
            "box": np.zeros((0, 4)),
            "scale": np.zeros(0),
            "ident": np.zeros((0, n_id)),
            "n_ident": np.zeros(0),
            "since": np.zeros(0, np.int64),
        }

    def update(self, assemblies: Assemblies) -> np.ndarray:
        """Tracklet id per (frame, row) of this chunk, ``(F, N)`` int64, -1 = no animal."""
        cfg = self.config
        data = assemblies.data.astype(np.float64)
        xy = data[..., :2].copy()
        lik = data[..., 2]
        xy[~(np.nan_to_num(lik, nan=1.0) >= cfg.pcutoff)] = np.nan  # NaN likelihood: keep
        feats = pose_features(xy, cfg.sd)
        b = feats.box
        diag = np.hypot(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])
        self._diag = np.where(feats.n_visible >= 2, diag, 0.0)
        has_id = assemblies.identity is not None and cfg.identity_weight > 0
        n_id = assemblies.n_identities if has_id else 0
        if self._tracks is None or self._n_kp != assemblies.n_bodyparts:
            self._init_tracks(assemblies.n_bodyparts, n_id)
        ident = assemblies.identity.astype(np.float64) if has_id else None
        present = feats.n_visible > 0
        labels = np.full(present.shape, -1, np.int64)
        for f in range(present.shape[0]):
            dets = np.flatnonzero(present[f])
            self._step(f, dets, feats, ident, labels)
        return labels

    # one frame ------------------------------------------------------------
    def _step(self, f: int, dets: np.ndarray, feats, ident, labels: np.ndarray) -> None:
        cfg, t = self.config, self._tracks
        n_t = t["tid"].size
        matched_d = np.zeros(dets.size, bool)
        matched_t = np.zeros(n_t, bool)
        if n_t and dets.size:
            # size floor per track: half the largest size it was seen with (chunk-independent)
            floor = (np.maximum(0.5 * t["scale"], 1.0) if self.min_size is None
                     else np.full(n_t, float(self.min_size)))
            dt = (t["since"] + 1).astype(np.float64)
            shift = t["vel"] * dt[:, None]
            if cfg.method == "ellipse":
                dist = shared_center_distance(feats.xy[f, dets], t["xy"] + shift[:, None])
                geom = ellipse_similarity(dist, feats.ellipse[f, dets], t["ellipse"], floor)
            elif cfg.method == "box":
                box_t = t["box"] + np.concatenate([shift, shift], -1)
                geom = box_iou(feats.box[f, dets], box_t, cfg.boundingboxslack, floor)
            else:
                box_t = t["box"] + np.concatenate([shift, shift], -1)
                geom = oks_similarity(
                    feats.xy[f, dets], t["xy"] + shift[:, None], box_t, cfg.oks_sigma, floor,
                )
            score = geom
            if ident is not None:
                w = cfg.identity_weight
                score = (1 - w) * geom + w * identity_similarity(ident[f, dets], t["ident"])
            score = np.where(geom >= cfg.threshold, score, -1.0)
            rows, cols = linear_sum_assignment(score, maximize=True)
            ok = score[rows, cols] >= 0
            rows, cols = rows[ok], cols[ok]
            matched_d[rows] = True
            matched_t[cols] = True
            if rows.size:
                self._update_tracks(cols, dets[rows], f, feats, ident, dt[cols])
                labels[f, dets[rows]] = t["tid"][cols]
        t["since"][~matched_t] += 1
        keep = t["since"] <= cfg.max_age
        if not keep.all():
            for k in t:
                t[k] = t[k][keep]
        new = dets[~matched_d]
        if new.size:
            self._new_tracks(new, f, feats, ident, labels)

    def _update_tracks(self, cols, rows, f, feats, ident, dt) -> None:
        t, lam = self._tracks, self.config.velocity_smoothing
        c_new = feats.center[f, rows]
        step = (c_new - t["center"][cols]) / dt[:, None]
        t["vel"][cols] = lam * t["vel"][cols] + (1 - lam) * step
        shift = c_new - t["center"][cols]
        old = t["xy"][cols] + shift[:, None]  # keep unseen keypoints, moved with the animal
        new_xy = feats.xy[f, rows]
        t["xy"][cols] = np.where(np.isfinite(new_xy), new_xy, old)
        t["center"][cols] = c_new
        t["ellipse"][cols] = feats.ellipse[f, rows]
        t["box"][cols] = feats.box[f, rows]
        t["scale"][cols] = np.maximum(t["scale"][cols], self._diag[f, rows])
        t["since"][cols] = 0
        if ident is not None:
            p = ident[f, rows]
            good = np.isfinite(p).all(-1)
            n = np.minimum(t["n_ident"][cols], 50.0)[:, None]
            upd = (t["ident"][cols] * n + np.nan_to_num(p)) / (n + 1)
            t["ident"][cols] = np.where(good[:, None], upd, t["ident"][cols])
            t["n_ident"][cols] += good

    def _new_tracks(self, rows, f, feats, ident, labels) -> None:
        t = self._tracks
        n = rows.size
        ids = np.arange(self.next_id, self.next_id + n)
        self.next_id += n
        labels[f, rows] = ids
        n_id = t["ident"].shape[1]
        if ident is not None:
            p = ident[f, rows]
            good = np.isfinite(p).all(-1)
            new_ident = np.where(good[:, None], np.nan_to_num(p), 1.0 / max(n_id, 1))
            new_n = good.astype(np.float64)
        else:
            new_ident, new_n = np.zeros((n, n_id)), np.zeros(n)
        add = {
            "tid": ids,
            "xy": feats.xy[f, rows],
            "center": feats.center[f, rows],
            "vel": np.zeros((n, 2)),
            "ellipse": feats.ellipse[f, rows],
            "box": feats.box[f, rows],
            "scale": self._diag[f, rows],
            "ident": new_ident,
            "n_ident": new_n,
            "since": np.zeros(n, np.int64),
        }
        for k in t:
            t[k] = np.concatenate([t[k], add[k]])


def track_assemblies(
    assemblies: Assemblies, config: TrackerConfig | None = None, **kw: Any
) -> np.ndarray:
    """Track all frames of ``assemblies`` at once; see :class:`Tracker`."""
    return Tracker(config, **kw).update(assemblies)
