"""Copy, paste and undo of keypoints, without Qt.

Pasting (Ctrl+V, and *Copy the previous frame's points*) puts copied points on the
frame on screen where their keypoint is not placed yet, as napari-deeplabcut's paste
does: a label already there is never overwritten. Undo restores the layer's points as
they were before the last user change (a placement, a move, a paste, a deletion).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Snapshot:
    """A keypoints layer's points before a change, and where the dock stood."""

    data: np.ndarray
    features: pd.DataFrame
    frame: int
    current: int


class UndoStack:
    """The last ``depth`` snapshots of one layer, newest last."""

    def __init__(self, depth: int = 100) -> None:
        self._items: deque[Snapshot] = deque(maxlen=depth)

    def push(self, snapshot: Snapshot) -> None:
        self._items.append(snapshot)

    def pop(self) -> Snapshot | None:
        return self._items.pop() if self._items else None

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def points_on(data: np.ndarray, frame: int) -> np.ndarray:
    """Indices of the points on ``frame``."""
    data = np.asarray(data, float).reshape(-1, 3)
    return np.flatnonzero(np.rint(data[:, 0]) == frame)


def paste_rows(data: np.ndarray, kp: np.ndarray, copied_kp: np.ndarray, frame: int) -> np.ndarray:
    """Which copied points (their keypoints ``copied_kp``) to paste on ``frame``.

    Those whose keypoint is known (>= 0) and not placed on ``frame`` yet, once each
    (the first copy of a keypoint copied twice).
    """
    copied_kp = np.asarray(copied_kp, int)
    placed = np.asarray(kp, int)[points_on(data, frame)]
    ok = (copied_kp >= 0) & ~np.isin(copied_kp, placed)
    first = np.zeros(len(copied_kp), bool)
    _, idx = np.unique(copied_kp, return_index=True)
    first[idx] = True
    return np.flatnonzero(ok & first)
