"""The Labeling dock's edits: placing clicked points, copy and paste, undo.

A click adds a point through napari's own add mode; :meth:`EditingMixin._placed` then
pins it to its frame and applies the habits (a click for a keypoint already on the
frame moves it or places nothing, :mod:`.habits`). Before every user change napari
announces it (``adding``, ``removing``, ``changing`` data events): the dock keeps a
snapshot then, so Ctrl+Z restores the points as they were, frame and current keypoint
included. Pasting and copying the previous frame never overwrite a placed keypoint
(:func:`.edits.paste_rows`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pandas as pd

from markerless.napari.labeling.edits import Snapshot, UndoStack, paste_rows, points_on
from markerless.napari.labeling.state import duplicates_of, place_points
from markerless.napari.layers.lookup import frames_layer, meta

BEFORE = ("adding", "removing", "changing")


class EditingMixin:
    """Edits of :class:`~.dock.LabelingWidget` (which provides ``viewer``, ``layer``,
    ``state``, ``frame``, ``habits``, ``mode``, ``_dirty``, ``_quietly``, ``_go_to``,
    ``_show_keypoint``, ``_sync`` and ``_say``)."""

    viewer: Any
    layer: Any
    state: Any
    frame: int
    habits: Any
    mode: str
    _dirty: Any
    _quietly: Callable[[], AbstractContextManager[None]]
    _go_to: Callable[[int], None]
    _show_keypoint: Callable[[], None]
    _sync: Callable[[], None]
    _say: Callable[..., None]

    def _init_editing(self) -> None:
        self._undo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._clipboard: tuple[np.ndarray, pd.DataFrame] | None = None
        self._was_dirty = False

    def undo_stack(self, layer: Any = None) -> UndoStack:
        layer = self.layer if layer is None else layer
        if layer not in self._undo:
            self._undo[layer] = UndoStack()
        return self._undo[layer]

    def _snapshot(self) -> Snapshot:
        layer = self.layer
        return Snapshot(np.array(layer.data, float).reshape(-1, 3), layer.features.copy(),
                        self.frame, self.state.current)

    def _before_change(self) -> None:
        """napari is about to change the points for the user: remember them for undo."""
        self._was_dirty = self.layer in self._dirty
        self.undo_stack().push(self._snapshot())

    def _kp(self) -> np.ndarray:
        return self.state.keypoint_index(self.layer.features, len(self.layer.data))

    # --- clicks -------------------------------------------------------------------------
    def _placed(self, new: np.ndarray) -> None:
        """A click added points ``new``: pin them to their frame, drop strays, then advance."""
        layer, state = self.layer, self.state
        image = frames_layer(self.viewer, meta(layer).get("folder", ""))
        shape = None if image is None else image.data.shape[1:3]
        kp = self._kp()
        move = self.habits.moves(self.mode)
        clash = len(duplicates_of(layer.data, kp, new)) > 0
        data, drop, kept = place_points(layer.data, kp, new, state.n_frames, shape, move)
        with self._quietly():
            if not np.array_equal(data, layer.data):
                layer.data = data
            if len(drop):
                layer.remove(drop.tolist())
        if len(kept) < len(new):
            if clash and not move:
                bp = state.current_keypoint[1]
                self._say(f"{bp} is already on this frame: QUICK mode moves placed keypoints "
                          "(or drag it in select mode)")
            else:
                self._say("A click outside the frames' images was ignored", error=True)
        if not len(kept):
            self.undo_stack().pop()  # nothing changed
            if not self._was_dirty:
                self._dirty.discard(layer)
            return
        state.update(layer.data, layer.features)
        frame = state.after_add(int(data[kept[-1], 0]))
        self._go_to(frame)
        self._show_keypoint()

    # --- copy and paste ---------------------------------------------------------------------
    def copy_points(self) -> None:
        """Ctrl+C: the selected points, or with none selected every point of this frame."""
        if self.layer is None:
            return
        layer = self.layer
        rows = np.array(sorted(layer.selected_data), int)
        if not len(rows):
            rows = points_on(layer.data, self.frame)
        self._clipboard = (np.array(layer.data, float)[rows, 1:],
                           layer.features.iloc[rows].reset_index(drop=True))
        self._say(f"Copied {len(rows)} point(s)")

    def paste_points(self) -> None:
        """Ctrl+V: the copied points on this frame, where their keypoint is not placed yet."""
        if self.layer is None or self._clipboard is None:
            self._say("Nothing copied: select points and press Ctrl+C")
            return
        yx, feats = self._clipboard
        self._add_points(yx, feats, "pasted")

    def copy_previous_frame(self) -> None:
        """Every animal's points of the frame before onto this one, where it has none yet."""
        if self.layer is None:
            return
        if self.frame == 0:
            self._say("The first frame has no previous frame")
            return
        layer = self.layer
        rows = points_on(layer.data, self.frame - 1)
        if not len(rows):
            self._say("The previous frame has no labels to copy")
            return
        self._add_points(np.array(layer.data, float)[rows, 1:],
                         layer.features.iloc[rows].reset_index(drop=True), "copied")

    def _add_points(self, yx: np.ndarray, feats: pd.DataFrame, verb: str) -> None:
        layer, frame = self.layer, self.frame
        take = paste_rows(layer.data, self._kp(), self.state.keypoint_index(feats, len(feats)),
                          frame)
        if not len(take):
            self._say(f"Nothing {verb}: those keypoints are already on this frame")
            return
        self.undo_stack().push(self._snapshot())
        coords = np.column_stack([np.full(len(take), float(frame)), yx[take]])
        old = layer.features.reset_index(drop=True)
        new = feats.iloc[take].reset_index(drop=True).astype(old.dtypes.to_dict())
        with self._quietly():
            layer.selected_data = set()
            layer.data = np.concatenate([np.array(layer.data, float).reshape(-1, 3), coords])
            layer.features = pd.concat([old, new], ignore_index=True)
        self._dirty.add(layer)
        self._sync()
        self._say(f"{len(take)} point(s) {verb} onto this frame")

    # --- undo -------------------------------------------------------------------------------
    def undo(self) -> None:
        """Ctrl+Z: the points as they were before the last placement, move, paste or deletion."""
        if self.layer is None:
            return
        snap = self.undo_stack().pop()
        if snap is None:
            self._say("Nothing to undo")
            return
        layer = self.layer
        with self._quietly():
            layer.selected_data = set()
            layer.data = snap.data
            layer.features = snap.features
        self._dirty.add(layer)
        self._go_to(snap.frame)
        self.state.select(snap.current)
        self._sync()
        self._show_keypoint()
        self._say(f"Undone ({len(self.undo_stack())} more)")
