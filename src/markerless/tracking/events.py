"""Frames worth a look when proofreading tracks: animals close together, a track missing,
confidence dropping.

Identity swaps happen where animals meet; a track that vanishes or whose
likelihood falls is where a tracker guessed. Each finder computes a per-frame,
per-animal mask for the whole video at once (vectorised over frames, no loop
per frame) and returns :class:`TrackEvents`, whose :meth:`~TrackEvents.starts`
are the frames where an event begins (an animal joins it), so "next event"
jumps over a long approach instead of stepping through it frame by frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from markerless.errors import ArgumentError
from markerless.poses import UNIQUE_INDIVIDUAL, Poses
from markerless.tracking.edit import frame_numbers

__all__ = [
    "EVENT_KINDS",
    "TrackEvents",
    "body_size",
    "close_approaches",
    "find_track_events",
    "low_confidence",
    "missing_tracks",
    "next_event",
]

#: the kinds of :func:`find_track_events`, in the order the dock lists them.
EVENT_KINDS = ("close", "missing", "low_confidence")


@dataclass
class TrackEvents:
    """Where one kind of event happens: per row, and which animals take part."""

    kind: str
    frames: np.ndarray  # (F,) int: video frame number of each row
    who: np.ndarray  # (F, A) bool: animal a takes part in the event at row f
    animals: list[str]  # the A animals (the tracks' individuals without "single")

    @property
    def mask(self) -> np.ndarray:
        """``(F,)`` bool: some animal takes part at this row."""
        return self.who.any(axis=1)

    def starts(self) -> np.ndarray:
        """Frame numbers where an event begins: an animal joins that was not in it on the
        previous frame (or the previous row is not the previous frame). Computed once."""
        cached = self.__dict__.get("_starts")
        if cached is None:
            cached = self.__dict__["_starts"] = self._starts()
        return cached

    def _starts(self) -> np.ndarray:
        before = np.zeros_like(self.who)
        before[1:] = self.who[:-1]
        gap = np.ones(len(self.frames), bool)
        gap[1:] = np.diff(self.frames) != 1
        before[gap] = False
        return self.frames[(self.who & ~before).any(axis=1)]

    def next_after(self, frame: int) -> int | None:
        """The first event start after ``frame`` (None when there is none)."""
        s = self.starts()
        i = np.searchsorted(s, int(frame), side="right")
        return int(s[i]) if i < len(s) else None

    def previous_before(self, frame: int) -> int | None:
        """The last event start before ``frame`` (None when there is none)."""
        s = self.starts()
        i = np.searchsorted(s, int(frame), side="left")
        return int(s[i - 1]) if i > 0 else None

    def at(self, frame: int) -> list[str]:
        """The animals taking part at video frame ``frame``."""
        rows = np.flatnonzero(self.frames == int(frame))
        if not len(rows):
            return []
        return [a for a, w in zip(self.animals, self.who[rows[0]], strict=True) if w]

    @property
    def n_frames(self) -> int:
        """How many frames have this event."""
        return int(self.mask.sum())


def _animals(poses: Poses) -> np.ndarray:
    return np.asarray([i for i, n in enumerate(poses.individuals) if n != UNIQUE_INDIVIDUAL],
                      dtype=int)


def _seen(poses: Poses, animals: np.ndarray, pcutoff: float | None = None) -> np.ndarray:
    """``(F, A, K)`` bool: the keypoint exists for that animal, has coordinates and, with
    ``pcutoff``, a likelihood at or above it."""
    every = len(animals) == poses.n_individuals  # no copy of the coordinates then
    x, y = poses.xy[..., 0], poses.xy[..., 1]
    if not every:
        x, y = x[:, animals], y[:, animals]
    ok = np.isfinite(x) & np.isfinite(y) & poses.defined[animals][None]
    if pcutoff is not None and poses.likelihood is not None:
        lik = poses.likelihood if every else poses.likelihood[:, animals]
        ok &= lik >= float(pcutoff)  # NaN compares False
    return ok


def _centres(poses: Poses, animals: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``(F, A, 2)`` mean of each animal's seen keypoints (NaN when it has none)."""
    n = seen.sum(-1)
    out = np.empty((*seen.shape[:2], 2))
    for c in range(2):  # x then y: contiguous sums over the keypoints
        coord = poses.xy[..., c][:, animals]
        out[..., c] = np.where(seen, coord, 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= n[..., None]
    out[n == 0] = np.nan
    return out


#: body_size looks at most this many frames (evenly spaced): a median needs no more.
BODY_SIZE_FRAMES = 5000


def body_size(poses: Poses, pcutoff: float | None = None) -> float:
    """An animal's typical size in px: the median diagonal of its keypoints' bounding box,
    over animals and frames with at least two keypoints (NaN when there are none)."""
    animals = _animals(poses)
    rows = np.unique(np.linspace(0, poses.n_frames - 1, BODY_SIZE_FRAMES).astype(int)) \
        if poses.n_frames > BODY_SIZE_FRAMES else slice(None)
    sub = poses.select_frames(rows) if not isinstance(rows, slice) else poses
    seen = _seen(sub, animals, pcutoff)
    xy = sub.xy[:, animals]
    span = np.zeros(seen.shape[:2])
    for c in range(2):
        coord = xy[..., c]
        hi = np.where(seen, coord, -np.inf).max(-1)
        lo = np.where(seen, coord, np.inf).min(-1)
        span += (hi - lo) ** 2
    ok = (seen.sum(-1) >= 2) & np.isfinite(span)
    return float(np.median(np.sqrt(span[ok]))) if ok.any() else float("nan")


def close_approaches(
    poses: Poses,
    distance: float = 1.0,
    unit: str = "body",
    pcutoff: float | None = None,
) -> TrackEvents:
    """Frames where two animals' centres are closer than ``distance``.

    ``unit="body"`` measures ``distance`` in :func:`body_size` (so one setting fits
    mice and flies), ``"px"`` in pixels. Centres are the mean of each animal's
    keypoints (at or above ``pcutoff`` when given).
    """
    _check_distance(distance, unit)
    animals = _animals(poses)
    return _close(poses, animals, _seen(poses, animals, pcutoff), distance, unit, pcutoff)


def _check_distance(distance: float, unit: str) -> None:
    if unit not in ("body", "px"):
        raise ArgumentError(f"unit must be 'body' or 'px', not {unit!r}")
    if not float(distance) > 0:
        raise ArgumentError(f"distance must be positive, got {distance}")


def _close(poses: Poses, animals: np.ndarray, seen: np.ndarray, distance: float, unit: str,
           pcutoff: float | None) -> TrackEvents:
    names = [poses.individuals[i] for i in animals]
    frames = frame_numbers(poses)
    who = np.zeros((poses.n_frames, len(animals)), bool)
    if len(animals) < 2:
        return TrackEvents("close", frames, who, names)
    limit = float(distance) * (body_size(poses, pcutoff) if unit == "body" else 1.0)
    c = _centres(poses, animals, seen)
    i, j = np.triu_indices(len(animals), 1)
    d = np.linalg.norm(c[:, i] - c[:, j], axis=-1)  # (F, pairs), NaN when one is absent
    near = np.nan_to_num(d, nan=np.inf) < limit
    for a in range(len(animals)):  # a handful of animals, each over all frames at once
        who[:, a] = near[:, (i == a) | (j == a)].any(axis=1)
    return TrackEvents("close", frames, who, names)


def missing_tracks(
    poses: Poses, min_keypoints: int = 1, pcutoff: float | None = None
) -> TrackEvents:
    """Frames where an animal has fewer than ``min_keypoints`` keypoints (at or above
    ``pcutoff`` when given): its track is missing or nearly so."""
    animals = _animals(poses)
    return _missing(poses, animals, _seen(poses, animals, pcutoff), min_keypoints)


def _missing(poses: Poses, animals: np.ndarray, seen: np.ndarray, min_keypoints: int
             ) -> TrackEvents:
    who = seen.sum(-1) < max(int(min_keypoints), 1)
    return TrackEvents("missing", frame_numbers(poses), who,
                       [poses.individuals[i] for i in animals])


def low_confidence(poses: Poses, pcutoff: float = 0.6) -> TrackEvents:
    """Frames where an animal is there but the mean likelihood of its keypoints is below
    ``pcutoff`` (tracks without likelihoods, e.g. human labels, have no such frames)."""
    animals = _animals(poses)
    return _low(poses, animals, _seen(poses, animals), pcutoff)


def _low(poses: Poses, animals: np.ndarray, seen: np.ndarray, pcutoff: float) -> TrackEvents:
    names = [poses.individuals[i] for i in animals]
    frames = frame_numbers(poses)
    if poses.likelihood is None:
        return TrackEvents("low_confidence", frames,
                           np.zeros((poses.n_frames, len(animals)), bool), names)
    lik = poses.likelihood if len(animals) == poses.n_individuals else \
        poses.likelihood[:, animals]
    seen = seen & np.isfinite(lik)
    lik = np.where(seen, lik, 0.0)
    n = seen.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, lik.sum(-1) / np.maximum(n, 1), np.inf)
    return TrackEvents("low_confidence", frames, (n > 0) & (mean < float(pcutoff)), names)


def find_track_events(
    poses: Poses,
    kinds: Sequence[str] = EVENT_KINDS,
    distance: float = 1.0,
    unit: str = "body",
    pcutoff: float = 0.6,
    min_keypoints: int = 1,
) -> dict[str, TrackEvents]:
    """The events of each kind in ``kinds`` (see :data:`EVENT_KINDS`)."""
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown:
        raise ArgumentError(f"unknown event kinds {unknown}; choose from {list(EVENT_KINDS)}")
    if "close" in kinds:
        _check_distance(distance, unit)
    animals = _animals(poses)
    seen = _seen(poses, animals)  # shared by the three kinds
    out: dict[str, TrackEvents] = {}
    for kind in kinds:
        if kind == "close":
            out[kind] = _close(poses, animals, seen, distance, unit, None)
        elif kind == "missing":
            out[kind] = _missing(poses, animals, seen, min_keypoints)
        else:
            out[kind] = _low(poses, animals, seen, pcutoff)
    return out


def next_event(
    events: dict[str, TrackEvents] | Sequence[TrackEvents], frame: int, backwards: bool = False
) -> tuple[int, str] | None:
    """``(frame, kind)`` of the nearest event start after (or before) ``frame`` of any kind."""
    items = events.values() if isinstance(events, dict) else events
    best: tuple[int, str] | None = None
    for ev in items:
        f = ev.previous_before(frame) if backwards else ev.next_after(frame)
        if f is not None and (best is None or (f > best[0] if backwards else f < best[0])):
            best = (f, ev.kind)
    return best
