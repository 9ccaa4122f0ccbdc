"""Labeling dock: click keypoints onto extracted frames, in order, and save them DeepLabCut's way.

The dock drives napari's own Points layer: before a click it sets the layer's
``feature_defaults`` to the current keypoint; when the layer reports a point
``added`` it pins the point to the frame it was placed on, replaces an earlier
point of the same keypoint on that frame, and advances (see
:mod:`._labeling_state`). Moving (select mode, drag) and deleting are napari's.
Saving goes through :func:`markerless.io.dlc_labels.write_labels`, which
refuses to drop labels on disk unless the user confirms.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QEvent, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from markerless.napari import _keybindings as kb
from markerless.napari import _workers as wk
from markerless.napari._labeling_state import (
    MODES,
    LabelingState,
    place_points,
    skeleton_vectors,
)
from markerless.napari.convert import bodypart_colors

if TYPE_CHECKING:
    import napari

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
NO_LAYER = "No keypoints layer: open a project or labeled-data folder"
MODE_HELP = ("sequential: next keypoint, then next frame; quick: same keypoint on the next "
             "frame; loop: next keypoint, same frame")


class LabelingWidget(QWidget):
    """Keypoint list, advance modes, colours, skeleton, progress and saving of keypoints."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = wk.unwrap(napari_viewer)
        self.layer: Any = None
        self.state: LabelingState | None = None
        self.skeleton_layer: Any = None
        self.edges: list[tuple[str, str]] = []
        self._dirty: weakref.WeakSet = weakref.WeakSet()
        self._busy = False
        #: ask(title, text, buttons) -> chosen button; tests replace it
        self.ask: Callable[[str, str, Sequence[str]], str] = (
            lambda title, text, buttons: kb.ask_user(self, title, text, buttons))
        self._build_ui()
        v = self.viewer
        for signal, slot in ((v.layers.selection.events.active, self._on_active),
                             (v.layers.events.inserted, self._on_inserted),
                             (v.layers.events.removed, self._on_removed),
                             (v.dims.events.current_step, self._mark_frame),
                             (wk.session(v).files_changed, self._on_config_changed)):
            wk.connect_alive(self, signal, slot)
        for layer in wk.keypoint_layers(v):
            self._track(layer)
        self.hooks: kb.WindowHooks | None = None  # installed once the dock is in the window
        QTimer.singleShot(0, self._install_hooks)
        active = v.layers.selection.active
        first = active if wk.is_keypoints(active) else next(iter(wk.keypoint_layers(v)), None)
        if first is not None:
            self.attach(first)

    def set_config(self, config_path: str | Path) -> None:
        """Make ``config_path`` the viewer's project (``jupyter.add_docks``)."""
        wk.session(self.viewer).set(config_path)

    def event(self, e: QEvent) -> bool:  # noqa: D102 - Qt's name
        if e.type() in (QEvent.Type.ParentChange, QEvent.Type.Show):
            self._install_hooks()
        return super().event(e)

    def _install_hooks(self) -> None:
        """Window hooks (Ctrl+S, close guard) once napari has docked this widget."""
        if getattr(self, "hooks", None) is None:
            self.hooks = kb.install_window_hooks(self)

    # --- UI -------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.layer_label = QLabel(NO_LAYER, wordWrap=True)
        self.new_layer_button = wk.button("Keypoints layer for the selected images",
                                       self.create_layer_for_image)
        self.current_label = QLabel(wordWrap=True)
        self.keypoint_list = QListWidget(minimumHeight=120)
        self.keypoint_list.currentRowChanged.connect(self._on_row)
        self.mode_combo = QComboBox(toolTip=MODE_HELP)
        self.mode_combo.addItems(MODES)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.color_combo = QComboBox()
        self.color_combo.addItems(["bodypart", "individual"])
        self.color_combo.currentTextChanged.connect(lambda _: self._apply_colors())
        self.legend = kb.ColorLegend()
        self.show_points = QCheckBox("Keypoints", checked=True)
        self.show_points.toggled.connect(
            lambda on: self.layer is not None and setattr(self.layer, "visible", on))
        self.show_skeleton = QCheckBox("Skeleton", checked=True)
        self.show_skeleton.toggled.connect(self._toggle_skeleton)
        self.add_button = wk.button("Label (add)", lambda: self.set_mode("add"))
        self.move_button = wk.button("Move (select)", lambda: self.set_mode("select"))
        self.delete_button = wk.button(
            "Delete selected", lambda: self.layer is not None and self.layer.remove_selected())
        self.progress = QProgressBar(minimum=0, maximum=1, value=0)
        self.progress_label = QLabel(wordWrap=True)
        self.save_button = wk.button("Save labels (Ctrl+S)", self.save)
        self.status = QLabel(wordWrap=True)
        help_label = QLabel(kb.shortcuts_html(), wordWrap=True, styleSheet="font-size: 10px")
        layout = QVBoxLayout(self)
        for item in (self.layer_label, self.new_layer_button, self.current_label,
                     self.keypoint_list,
                     wk.hbox("Advance", self.mode_combo, "Colour by", self.color_combo),
                     self.legend, wk.hbox("Show", self.show_points, self.show_skeleton),
                     wk.hbox(self.add_button, self.move_button, self.delete_button),
                     self.progress, self.progress_label, self.save_button, self.status,
                     help_label):
            layout.addWidget(item)
        layout.addStretch(1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.keypoint_list, self.mode_combo, self.color_combo, self.add_button,
                  self.move_button, self.delete_button, self.save_button, self.show_points,
                  self.show_skeleton):
            w.setEnabled(on)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #e05050" if error else "")

    # --- attaching to a layer -------------------------------------------------------
    def attach(self, layer: Any) -> None:
        """Label ``layer`` (a keypoints Points layer) from now on."""
        if layer is self.layer:
            return
        self.detach()
        self.layer = layer
        self.state = LabelingState.from_metadata(wk.meta(layer), self.mode_combo.currentText())
        self._read_config()
        kb.bind_layer_keys(layer, self)
        self.layer_label.setText(f"Labeling <b>{layer.name}</b>")
        self.new_layer_button.setVisible(False)
        self._set_enabled(True)
        self.keypoint_list.blockSignals(True)
        self.keypoint_list.clear()
        for ind, bp in self.state.keypoints:
            QListWidgetItem(f"{ind} · {bp}" if ind else bp, self.keypoint_list)
        self.keypoint_list.blockSignals(False)
        wk.show_only_folder(self.viewer, layer)
        self._apply_colors()
        self._sync()
        self.state.start_on(self.frame)
        self._show_keypoint()

    def detach(self) -> None:
        if self.layer is not None:
            kb.unbind_layer_keys(self.layer)
        self.layer = self.state = None
        self.keypoint_list.clear()
        self._set_enabled(False)
        self.new_layer_button.setVisible(True)
        self.layer_label.setText(NO_LAYER)

    def _read_config(self) -> None:
        """Skeleton, colormap and dot size from the project's config.yaml (when there is one)."""
        self.config, self.edges, problem = wk.layer_config(self.layer)
        if problem:
            self._say(f"config.yaml: {problem}", error=True)

    # --- colours and skeleton -------------------------------------------------------
    def colors(self) -> dict[str, np.ndarray]:
        """Colour per bodypart (config colormap) or per individual (tab10)."""
        if self.state is None:
            return {}
        if self.color_combo.currentText() == "individual":
            return bodypart_colors(self.state.individuals, "tab10")
        cmap = str(self.config.get("colormap") or wk.meta(self.layer).get("colormap") or "rainbow")
        return bodypart_colors(self.state.bodyparts, cmap)

    def _apply_colors(self) -> None:
        if self.layer is None:
            return
        by, colors = self.color_combo.currentText(), self.colors()
        with self._quietly():
            self.layer.face_color = by
            self.layer.face_color_cycle = {k: list(v) for k, v in colors.items()}
        self.legend.set_colors(colors)
        for row, (ind, bp) in enumerate(self.state.keypoints):
            color = colors[ind if by == "individual" else bp]
            self.keypoint_list.item(row).setIcon(kb.swatch(color))

    def _update_skeleton(self) -> None:
        if self.layer is None or not self.edges:
            return
        kp = self.state.keypoint_index(self.layer.features, len(self.layer.data))
        vectors = skeleton_vectors(self.layer.data, kp, self.state, self.edges)
        self.skeleton_layer = wk.skeleton_layer(
            self.viewer, self.layer, vectors, self.skeleton_layer,
            width=max(1.0, float(self.config.get("dotsize") or 12) / 8),
            color=str(self.config.get("skeleton_color") or "black"),
            visible=self.show_skeleton.isChecked())

    def _toggle_skeleton(self, on: bool) -> None:
        if self.skeleton_layer is not None and self.skeleton_layer in self.viewer.layers:
            self.skeleton_layer.visible = on

    # --- state <-> UI -------------------------------------------------------------
    @property
    def frame(self) -> int:
        return int(self.viewer.dims.current_step[0]) if self.viewer.dims.ndim > 2 else 0

    def _sync(self) -> None:
        """Recount labeled keypoints and redraw list marks, progress and skeleton."""
        if self.layer is None:
            return
        self.state.update(self.layer.data, self.layer.features)
        self._update_skeleton()
        self._mark_frame()
        p = self.state.progress()
        self.progress.setRange(0, max(p.n_total, 1))
        self.progress.setValue(p.n_labeled)
        unsaved = " (unsaved changes)" if self.layer in self._dirty else ""
        self.progress_label.setText(f"{p}{unsaved}")

    def _mark_frame(self, _event: Any = None) -> None:
        """✓ next to the keypoints placed on the frame on screen."""
        frame = self.frame
        if self.state is None or not 0 <= frame < self.state.n_frames:
            return
        done = self.state.labeled[frame]
        for row, (ind, bp) in enumerate(self.state.keypoints):
            name = f"{ind} · {bp}" if ind else bp
            self.keypoint_list.item(row).setText(f"{name}  ✓" if done[row] else name)

    def _show_keypoint(self) -> None:
        """Show the current keypoint in the list and label; make it the next click's features."""
        if self.state is None or not self.state.n_keypoints:
            return
        ind, bp = self.state.current_keypoint
        self.keypoint_list.blockSignals(True)
        self.keypoint_list.setCurrentRow(self.state.current)
        self.keypoint_list.blockSignals(False)
        whose = f" of <b>{ind}</b>" if ind else ""
        self.current_label.setText(f"Next click: <b>{bp}</b>{whose}")
        self.layer.feature_defaults = {"bodypart": bp, "individual": ind, "likelihood": 1.0}

    def _go_to(self, frame: int) -> None:
        if frame != self.frame:
            self.viewer.dims.set_current_step(0, frame)

    # --- user actions ---------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """napari layer mode 'add' (click to label) or 'select' (drag to move)."""
        if self.layer is not None:
            self.viewer.layers.selection.active = self.layer
            self.layer.mode = mode

    def step_keypoint(self, delta: int) -> None:
        if self.state is not None:
            self.state.step(delta)
            self._show_keypoint()

    def next_unlabeled(self) -> None:
        if self.state is not None:
            frame = self.state.next_unlabeled(self.frame)
            self._show_keypoint()
            self._go_to(frame)

    def _on_row(self, row: int) -> None:
        if self.state is not None and row >= 0:
            self.state.select(row)
            self._show_keypoint()
            self.set_mode("add")

    def _on_mode(self, mode: str) -> None:
        if self.state is not None:
            self.state.mode = mode

    def wants_save_shortcut(self) -> bool:
        return self.layer is not None and self.viewer.layers.selection.active is self.layer

    # --- napari events ---------------------------------------------------------------
    @contextmanager
    def _quietly(self) -> Iterator[None]:
        old, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = old

    def _on_active(self, event: Any) -> None:
        if wk.is_keypoints(event.value) and event.value is not self.layer:
            self.attach(event.value)

    def _on_inserted(self, event: Any) -> None:
        layer = event.value
        if wk.is_keypoints(layer):
            self._track(layer)
            if self.layer is None:
                self.attach(layer)

    def _on_removed(self, event: Any) -> None:
        layer = event.value
        if layer is self.skeleton_layer:
            self.skeleton_layer = None
        if not wk.is_keypoints(layer):
            return
        layer.events.data.disconnect(self._on_data)
        layer.events.current_properties.disconnect(self._on_current_properties)
        if layer is self.layer:
            self.detach()
        if layer in self._dirty:
            self._dirty.discard(layer)
            answer = self.ask("Unsaved labels", f"The removed layer {layer.name!r} has unsaved "
                              "labels. Save them?", ["Save", "Discard"])
            if answer == "Save":
                self.save(layer)

    def _track(self, layer: Any) -> None:
        layer.events.data.connect(self._on_data)
        layer.events.current_properties.connect(self._on_current_properties)

    def _on_current_properties(self, event: Any) -> None:
        """napari copies a selected point's features into the defaults (also right after
        each added point): put the dock's current keypoint back, so the next click places it."""
        if event.source is self.layer and self.state is not None and self.state.n_keypoints:
            ind, bp = self.state.current_keypoint
            defaults = self.layer.feature_defaults
            if (str(defaults["bodypart"][0]), str(defaults["individual"][0])) != (bp, ind):
                self.layer.feature_defaults = {"bodypart": bp, "individual": ind,
                                               "likelihood": 1.0}

    def _on_config_changed(self) -> None:
        if self.layer is not None:
            self._read_config()
            self._apply_colors()
            self._sync()

    def _on_data(self, event: Any) -> None:
        layer, action = event.source, str(event.action)
        if action not in (ADDED, REMOVED, CHANGED):
            return
        if not (self._busy or wk.is_quiet(layer)):
            self._dirty.add(layer)
            if action == ADDED and layer is self.layer:
                self._placed(np.asarray(event.data_indices, int) % len(layer.data))
        if layer is self.layer:
            if len(wk.meta(layer).get("frames", [])) != self.state.n_frames:  # frames reloaded
                self.layer = None
                self.attach(layer)
            self._sync()

    def _placed(self, new: np.ndarray) -> None:
        """A click added points ``new``: pin them to their frame, drop strays, then advance."""
        layer, state = self.layer, self.state
        image = wk.frames_layer(self.viewer, wk.meta(layer).get("folder", ""))
        shape = None if image is None else image.data.shape[1:3]
        kp = state.keypoint_index(layer.features, len(layer.data))
        data, drop, kept = place_points(layer.data, kp, new, state.n_frames, shape)
        with self._quietly():
            if not np.array_equal(data, layer.data):
                layer.data = data
            if len(drop):
                layer.remove(drop.tolist())
        if len(kept) < len(new):
            self._say("A click outside the frames' images was ignored", error=True)
        if len(kept):
            state.update(layer.data, layer.features)
            self._show_keypoint()
            self._go_to(state.after_add(int(data[kept[-1], 0])))

    # --- saving ------------------------------------------------------------------------
    def save(self, layer: Any = None) -> bool:
        """Write ``layer`` (default: the one being labeled) to its CollectedData .h5 + .csv."""
        layer = self.layer if layer is None or isinstance(layer, bool) else layer
        if layer is None:
            return False
        try:
            path = wk.save_keypoints(layer, confirm=lambda why: self.ask(
                "Labels would be lost", f"{why}\n\nSave anyway?", ["Save anyway", "Cancel"]
            ) == "Save anyway")
        except Exception as err:  # noqa: BLE001 - reported in the dock, labels stay in the layer
            self._say(f"Not saved: {type(err).__name__}: {err}", error=True)
            return False
        if path is None:
            self._say("Not saved: nothing was written")
            return False
        self._dirty.discard(layer)
        self._say(f"Saved {path.name} and .csv in {path.parent}")
        if layer is self.layer:
            self._sync()
        wk.session(self.viewer).files_changed.emit()
        return True

    def dirty_layers(self) -> list:
        return [ly for ly in self.viewer.layers if ly in self._dirty]

    def confirm_close(self) -> bool:
        """Before the window closes: save, discard or keep unsaved labels (False: stay open)."""
        dirty = self.dirty_layers()
        if not dirty:
            return True
        names = ", ".join(repr(ly.name) for ly in dirty)
        answer = self.ask("Unsaved labels", f"{names} have unsaved labels.",
                          ["Save", "Discard", "Cancel"])
        if answer == "Save":
            return all(self.save(ly) for ly in dirty)
        if answer == "Discard":
            for ly in dirty:
                self._dirty.discard(ly)
            return True
        return False

    # --- layers for plain image folders ----------------------------------------------------
    def create_layer_for_image(self) -> None:
        """Keypoints for the selected image layer's labeled-data folder (bodyparts from config)."""
        try:
            self.attach(wk.keypoints_for_image(self.viewer, self.viewer.layers.selection.active))
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self._say(f"{type(err).__name__}: {err}", error=True)
