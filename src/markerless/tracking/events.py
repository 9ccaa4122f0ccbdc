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
        previous frame (or the previous row is not the previous frame)."""
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
    ok = np.isfinite(poses.xy[:, animals]).all(-1) & poses.defined[animals][None]
    if pcutoff is not None and poses.likelihood is not None:
        ok &= np.nan_to_num(poses.likelihood[:, animals], nan=-1.0) >= float(pcutoff)
    return ok


def _centres(poses: Poses, animals: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``(F, A, 2)`` mean of each animal's seen keypoints (NaN when it has none)."""
    xy = np.where(seen[..., None], poses.xy[:, animals], 0.0)
    n = seen.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[..., None] > 0, xy.sum(-2) / n[..., None], np.nan)


def body_size(poses: Poses, pcutoff: float | None = None) -> float:
    """An animal's typical size in px: the median diagonal of its keypoints' bounding box,
    over animals and frames with at least two keypoints (NaN when there are none)."""
    animals = _animals(poses)
    seen = _seen(poses, animals, pcutoff)
    xy = poses.xy[:, animals]
    lo = np.where(seen[..., None], xy, np.inf).min(-2)
    hi = np.where(seen[..., None], xy, -np.inf).max(-2)
    diag = np.linalg.norm(hi - lo, axis=-1)
    ok = (seen.sum(-1) >= 2) & np.isfinite(diag)
    return float(np.median(diag[ok])) if ok.any() else float("nan")


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
    if unit not in ("body", "px"):
        raise ArgumentError(f"unit must be 'body' or 'px', not {unit!r}")
    if not float(distance) > 0:
        raise ArgumentError(f"distance must be positive, got {distance}")
    animals = _animals(poses)
    names = [poses.individuals[i] for i in animals]
    frames = frame_numbers(poses)
    who = np.zeros((poses.n_frames, len(animals)), bool)
    if len(animals) < 2:
        return TrackEvents("close", frames, who, names)
    limit = float(distance) * (body_size(poses, pcutoff) if unit == "body" else 1.0)
    c = _centres(poses, animals, _seen(poses, animals, pcutoff))
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
    seen = _seen(poses, animals, pcutoff)
    who = seen.sum(-1) < max(int(min_keypoints), 1)
    return TrackEvents("missing", frame_numbers(poses), who,
                       [poses.individuals[i] for i in animals])


def low_confidence(poses: Poses, pcutoff: float = 0.6) -> TrackEvents:
    """Frames where an animal is there but the mean likelihood of its keypoints is below
    ``pcutoff`` (tracks without likelihoods, e.g. human labels, have no such frames)."""
    animals = _animals(poses)
    names = [poses.individuals[i] for i in animals]
    frames = frame_numbers(poses)
    if poses.likelihood is None:
        return TrackEvents("low_confidence", frames,
                           np.zeros((poses.n_frames, len(animals)), bool), names)
    seen = _seen(poses, animals)
    lik = np.where(seen, np.nan_to_num(poses.likelihood[:, animals], nan=0.0), 0.0)
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
    out: dict[str, TrackEvents] = {}
    for kind in kinds:
        if kind == "close":
            out[kind] = close_approaches(poses, distance, unit)
        elif kind == "missing":
            out[kind] = missing_tracks(poses, min_keypoints)
        else:
            out[kind] = low_confidence(poses, pcutoff)
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
