"""What the labeling dock decides, without Qt: which keypoint comes next, progress, skeleton.

The dock keeps one :class:`LabelingState` per keypoints layer and feeds it the
layer's ``data`` (frame, y, x) and ``features`` after every change; the state
answers "what should the user label next" for each advance mode:

* ``sequential``: the next unlabeled keypoint on this frame, then the next frame;
* ``quick``: the same keypoint on the next frame (one bodypart across all frames),
  then the next keypoint from the first frame;
* ``loop``: the next unlabeled keypoint on this frame, wrapping around; never
  leaves the frame.

Everything here is vectorised over points and tested without a viewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError

MODES = ("sequential", "quick", "loop")


class Progress(NamedTuple):
    """Counts shown in the dock: keypoints placed of all keypoints, frames fully labeled."""

    n_labeled: int
    n_total: int
    frames_done: int
    n_frames: int

    def __str__(self) -> str:
        return (f"{self.n_labeled} of {self.n_total} keypoints labeled; "
                f"{self.frames_done} of {self.n_frames} frames done")


class LabelingState:
    """Labeled/unlabeled keypoints per frame of one keypoints layer, and the current keypoint.

    Parameters
    ----------
    bodyparts, individuals
        Names in file order (``individuals == [""]`` for single-animal projects).
    defined : (n_individuals, n_bodyparts) bool, optional
        Which pairs exist (unique bodyparts belong to the ``"single"`` individual only).
    n_frames
        Frames (images) of the layer.
    mode
        One of :data:`MODES`.
    """

    def __init__(
        self,
        bodyparts: Sequence[str],
        individuals: Sequence[str],
        defined: np.ndarray | None,
        n_frames: int,
        mode: str = "sequential",
    ) -> None:
        self.bodyparts = [str(b) for b in bodyparts]
        self.individuals = [str(i) for i in individuals]
        shape = (len(self.individuals), len(self.bodyparts))
        defined = np.ones(shape, bool) if defined is None else np.asarray(defined, bool)
        if defined.shape != shape:
            raise ValueError(f"defined mask {defined.shape} != (individuals, bodyparts) {shape}")
        ind_idx, bp_idx = np.nonzero(defined)  # individual-major: all of animal 1, then 2
        #: (individual, bodypart) in labeling order
        self.keypoints: list[tuple[str, str]] = [
            (self.individuals[i], self.bodyparts[k]) for i, k in zip(ind_idx, bp_idx, strict=True)
        ]
        # (individual, bodypart) -> keypoint position, -1 where undefined
        self._lookup = np.full(shape, -1, int)
        self._lookup[ind_idx, bp_idx] = np.arange(len(ind_idx))
        self.n_frames = int(n_frames)
        self.labeled = np.zeros((self.n_frames, len(self.keypoints)), bool)
        self.current = 0
        self.mode = mode

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any], mode: str = "sequential") -> LabelingState:
        """State for a layer made by the reader (``layer.metadata['markerless']``)."""
        try:
            bodyparts, frames = meta["bodyparts"], meta["frames"]
        except KeyError as err:
            raise LabelFileError(f"Keypoints layer metadata lacks {err}") from None
        individuals = meta.get("individuals", [""])
        return cls(bodyparts, individuals, meta.get("defined"), len(frames), mode)

    # --- the mode -------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"Unknown labeling mode {value!r}; choose one of {MODES}")
        self._mode = value

    # --- keypoints ------------------------------------------------------
    @property
    def n_keypoints(self) -> int:
        return len(self.keypoints)

    @property
    def current_keypoint(self) -> tuple[str, str]:
        """(individual, bodypart) the next click places."""
        return self.keypoints[self.current]

    def index_of(self, individual: str, bodypart: str) -> int:
        """Position of (individual, bodypart) in :attr:`keypoints`."""
        try:
            return self.keypoints.index((str(individual), str(bodypart)))
        except ValueError:
            raise KeyError(f"No keypoint {bodypart!r} for individual {individual!r}") from None

    def select(self, index: int) -> None:
        self.current = int(index) % max(self.n_keypoints, 1)

    def step(self, delta: int) -> None:
        """Previous (-1) or next (+1) keypoint, wrapping around (the up/down keys)."""
        self.select(self.current + delta)

    # --- what is labeled ------------------------------------------------
    def keypoint_index(self, features: pd.DataFrame | Mapping[str, Any], n: int) -> np.ndarray:
        """Keypoint position of each of ``n`` points (-1: unknown or undefined name)."""
        features = pd.DataFrame(features)
        if n == 0:
            return np.zeros(0, int)
        bp = pd.Index(self.bodyparts).get_indexer(features["bodypart"].astype(str).to_numpy())
        if "individual" in features:
            ind_names = features["individual"].astype(str).to_numpy()
            ind_names = np.where(features["individual"].isna().to_numpy(), self.individuals[0],
                                 ind_names)
            ind = pd.Index(self.individuals).get_indexer(ind_names)
        else:
            ind = np.zeros(n, int)
        ok = (bp >= 0) & (ind >= 0)
        out = np.full(n, -1, int)
        out[ok] = self._lookup[ind[ok], bp[ok]]
        return out

    def update(self, data: np.ndarray, features: pd.DataFrame | Mapping[str, Any]) -> None:
        """Recompute which keypoints are labeled on which frame from the layer's points."""
        data = np.asarray(data, float).reshape(-1, 3)
        self.labeled[:] = False
        kp = self.keypoint_index(features, len(data))
        frames = np.rint(data[:, 0]).astype(int) if len(data) else np.zeros(0, int)
        ok = (kp >= 0) & (frames >= 0) & (frames < self.n_frames)
        self.labeled[frames[ok], kp[ok]] = True

    def progress(self) -> Progress:
        done = int(self.labeled.all(axis=1).sum()) if self.n_keypoints else 0
        return Progress(int(self.labeled.sum()), self.labeled.size, done, self.n_frames)

    # --- what comes next ------------------------------------------------
    def _next_unlabeled_on(self, frame: int, start: int, wrap: bool) -> int | None:
        """First unlabeled keypoint on ``frame`` at or after ``start`` (circular if ``wrap``)."""
        n = self.n_keypoints
        order = np.arange(start, start + n) % n if wrap else np.arange(start, n)
        free = order[~self.labeled[frame, order]]
        return int(free[0]) if len(free) else None

    def _clamp(self, frame: int) -> int:
        return min(max(int(frame), 0), self.n_frames - 1)

    def start_on(self, frame: int) -> None:
        """Select the first unlabeled keypoint of ``frame`` (when a layer is opened)."""
        if self.n_keypoints and 0 <= frame < self.n_frames:
            first = self._next_unlabeled_on(frame, 0, wrap=False)
            self.current = 0 if first is None else first

    def after_add(self, frame: int) -> int:
        """Advance after a point was placed on ``frame``; returns the frame to show next.

        Updates :attr:`current`. Call :meth:`update` with the new points first.
        """
        if not self.n_keypoints or not self.n_frames:
            return frame
        frame = self._clamp(frame)
        if self.mode == "quick":
            if frame + 1 < self.n_frames:
                return frame + 1
            self.step(1)
            return 0
        if self.mode == "loop":
            nxt = self._next_unlabeled_on(frame, self.current + 1, wrap=True)
            self.select(self.current + 1 if nxt is None else nxt)
            return frame
        # sequential
        nxt = self._next_unlabeled_on(frame, self.current + 1, wrap=False)
        if nxt is not None:
            self.current = nxt
            return frame
        if frame + 1 >= self.n_frames:
            nxt = self._next_unlabeled_on(frame, 0, wrap=False)
            self.current = self.current if nxt is None else nxt
            return frame
        nxt = self._next_unlabeled_on(frame + 1, 0, wrap=False)
        self.current = 0 if nxt is None else nxt
        return frame + 1

    def next_unlabeled(self, frame: int) -> int:
        """Jump to the next unlabeled keypoint (the 'e' key): on this frame, else a later one.

        Searches this frame after the current keypoint (wrapping), then the
        following frames (wrapping to the first). Returns the frame to show.
        """
        if not self.n_keypoints or not self.n_frames:
            return frame
        frame = self._clamp(frame)
        here = self._next_unlabeled_on(frame, self.current + 1, wrap=True)
        if here is not None:
            self.current = here
            return frame
        order = (frame + 1 + np.arange(self.n_frames - 1)) % self.n_frames
        todo = order[~self.labeled[order].all(axis=1)]
        if len(todo) == 0:
            return frame
        nxt = int(todo[0])
        self.current = int(self._next_unlabeled_on(nxt, 0, wrap=False))
        return nxt


# --- pure helpers the dock uses ----------------------------------------------
def duplicates_of(data: np.ndarray, kp: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Indices of older points with the same (frame, keypoint) as the points ``new``.

    A click for a keypoint already placed on that frame moves it there: the
    dock removes these older points so each keypoint appears once per frame.
    """
    data = np.asarray(data, float).reshape(-1, 3)
    frames = np.rint(data[:, 0]).astype(int)
    new = np.asarray(new, int)
    old = np.setdiff1d(np.arange(len(data)), new)
    if len(old) == 0 or len(new) == 0:
        return np.zeros(0, int)
    key = frames * (kp.max() + 2) + kp
    hit = np.isin(key[old], key[new[kp[new] >= 0]])
    return old[hit]


def place_points(
    data: np.ndarray, kp: np.ndarray, new: np.ndarray, n_frames: int,
    image_shape: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What to do with freshly clicked points ``new`` (indices into ``data``).

    Returns ``(data, drop, kept)``: ``data`` with the new points' frame
    coordinate rounded to the image they were placed on, the indices to remove
    (clicks off the images, and older points of the same keypoint on the same
    frame: a second click moves the keypoint), and the new points that stay.
    """
    data = np.array(data, float).reshape(-1, 3)
    new = np.asarray(new, int)
    data[new, 0] = np.rint(data[new, 0])
    frames = data[new, 0]
    bad = (frames < 0) | (frames >= n_frames)
    if image_shape is not None:
        h, w = image_shape
        y, x = data[new, 1], data[new, 2]
        bad |= (y < -0.5) | (y > h - 0.5) | (x < -0.5) | (x > w - 0.5)
    drop = np.union1d(duplicates_of(data, kp, new[~bad]), new[bad])
    return data, drop, new[~bad]


def skeleton_vectors(
    data: np.ndarray,
    kp: np.ndarray,
    state: LabelingState,
    edges: Sequence[tuple[str, str]],
) -> np.ndarray:
    """napari Vectors data (N, 2, 3) [[frame, y, x], [0, dy, dx]] for each edge on each frame.

    An edge is drawn for each individual that has both of its bodyparts placed
    on a frame (unique bodyparts connect within the ``"single"`` individual).
    """
    data = np.asarray(data, float).reshape(-1, 3)
    ok = kp >= 0
    table = np.full((state.n_frames, state.n_keypoints, 2), np.nan)
    frames = np.rint(data[ok, 0]).astype(int)
    inside = (frames >= 0) & (frames < state.n_frames)
    table[frames[inside], kp[ok][inside]] = data[ok][inside][:, 1:]
    pairs = [
        (state._lookup[i, a], state._lookup[i, b])
        for i in range(len(state.individuals))
        for a, b in ((state.bodyparts.index(p), state.bodyparts.index(q))
                     for p, q in edges if p in state.bodyparts and q in state.bodyparts)
    ]
    pairs = np.array([(a, b) for a, b in pairs if a >= 0 and b >= 0], int).reshape(-1, 2)
    if len(pairs) == 0:
        return np.zeros((0, 2, 3))
    start = table[:, pairs[:, 0]]  # (F, E, 2)
    stop = table[:, pairs[:, 1]]
    f_idx, e_idx = np.nonzero(~np.isnan(start).any(-1) & ~np.isnan(stop).any(-1))
    vec = np.zeros((len(f_idx), 2, 3))
    vec[:, 0, 0] = f_idx
    vec[:, 0, 1:] = start[f_idx, e_idx]
    vec[:, 1, 1:] = stop[f_idx, e_idx] - start[f_idx, e_idx]
    return vec
