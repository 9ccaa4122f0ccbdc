"""What the Tracks dock holds, without Qt: the opened tracks, their edits and undo, the
events found in them, the frames chosen for labeling.

Every edit is an identity swap, which is its own inverse, so the undo stack keeps only
the swaps' arguments (no copies of the poses, whatever the video's length). Events are
found once per set of parameters and edit (``version``) and reused for each jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from markerless.poses import UNIQUE_INDIVIDUAL, Poses
from markerless.tracking.edit import swap_identities
from markerless.tracking.events import EVENT_KINDS, TrackEvents, find_track_events, next_event
from markerless.tracking.proofread import TracksFile

#: the dock's names of the event kinds (``"any"`` jumps to the nearest of all).
EVENT_LABELS = {"any": "any event", "close": "animals close", "missing": "track missing",
                "low_confidence": "low confidence"}  # fmt: skip


@dataclass(frozen=True)
class Swap:
    """One edit: animals ``a`` and ``b`` swapped over frames ``[start, stop)``."""

    a: str
    b: str
    start: int
    stop: int | None = None

    def describe(self) -> str:
        where = (f"from frame {self.start} on" if self.stop is None
                 else f"over frames {self.start}-{self.stop - 1}")  # fmt: skip
        return f"{self.a} <-> {self.b} {where}"


@dataclass
class EventParams:
    distance: float = 0.5
    unit: str = "body"
    pcutoff: float = 0.6
    min_keypoints: int = 1


@dataclass
class TracksState:
    """The tracks being proofread and everything done to them since they were opened."""

    tracks: TracksFile
    undo_stack: list[Swap] = field(default_factory=list)
    redo_stack: list[Swap] = field(default_factory=list)
    chosen: set[int] = field(default_factory=set)  # frames to send to labeled-data
    version: int = 0  # bumped by every edit and undo (the events' cache key)
    saved: tuple = ()  # the undo stack when the file was last written
    _events: tuple | None = None

    @property
    def poses(self) -> Poses:
        return self.tracks.poses

    @property
    def path(self) -> Path:
        return self.tracks.path

    @property
    def animals(self) -> list[str]:
        return [n for n in self.poses.individuals if n != UNIQUE_INDIVIDUAL]

    @property
    def dirty(self) -> bool:
        """Edits not saved yet (undoing back to the saved state is clean again)."""
        return tuple(self.undo_stack) != self.saved

    def save_point(self) -> tuple:
        """What :meth:`mark_saved` records once the copy taken now is written."""
        return tuple(self.undo_stack)

    # --- edits ----------------------------------------------------------------------------
    def _apply(self, swap: Swap) -> None:
        swap_identities(self.poses, swap.a, swap.b, swap.start, swap.stop, inplace=True)
        self.version += 1

    def swap(self, a: str, b: str, start: int, stop: int | None = None) -> Swap:
        """Swap ``a`` and ``b`` over ``[start, stop)`` (``stop`` None: to the end)."""
        edit = Swap(str(a), str(b), int(start), None if stop is None else int(stop))
        self._apply(edit)
        self.undo_stack.append(edit)
        self.redo_stack.clear()
        return edit

    def undo(self) -> Swap | None:
        """Undo the last swap (None when there is nothing to undo)."""
        if not self.undo_stack:
            return None
        edit = self.undo_stack.pop()
        self._apply(edit)
        self.redo_stack.append(edit)
        return edit

    def redo(self) -> Swap | None:
        if not self.redo_stack:
            return None
        edit = self.redo_stack.pop()
        self._apply(edit)
        self.undo_stack.append(edit)
        return edit

    def mark_saved(self, point: tuple | None = None) -> None:
        self.saved = self.save_point() if point is None else tuple(point)

    # --- events ---------------------------------------------------------------------------
    def events(self, params: EventParams) -> dict[str, TrackEvents]:
        key = (self.version, params.distance, params.unit, params.pcutoff, params.min_keypoints)
        if self._events is None or self._events[0] != key:
            found = find_track_events(self.poses, EVENT_KINDS, params.distance, params.unit,
                                params.pcutoff, params.min_keypoints)  # fmt: skip
            self._events = (key, found)
        return self._events[1]

    def jump(self, frame: int, kind: str, params: EventParams, backwards: bool = False
             ) -> tuple[int, str] | None:
        """``(frame, kind)`` of the next (previous) event start of ``kind`` (or ``"any"``)."""
        found = self.events(params)
        chosen = found if kind == "any" else {kind: found[kind]}
        return next_event(chosen, frame, backwards)
