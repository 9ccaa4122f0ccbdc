"""Labeling dock: click keypoints onto extracted frames, in order, and save them DeepLabCut's way.

The dock drives napari's own Points layer: before a click it sets the layer's
``feature_defaults`` to the current keypoint; when the layer reports a point
``added`` it pins the point to the frame it was placed on, replaces an earlier
point of the same keypoint on that frame, and advances (see :mod:`.state`).
Moving (select mode, drag) and deleting are napari's. Saving and the
unsaved-labels guards are :mod:`.saving`, colours and skeleton :mod:`.colors`,
keys and the close guard :mod:`.keys`, and the *Check labels* panel
(:func:`markerless.check_labels` in a worker) :mod:`.check_labels_panel`.
"""

from __future__ import annotations

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

from markerless.napari.forms import StatusLine, ask_choice, button, group, hbox
from markerless.napari.labeling import keys
from markerless.napari.labeling.check_labels_panel import CheckLabelsPanel, describe
from markerless.napari.labeling.colors import ColorLegend, ColorsMixin
from markerless.napari.labeling.saving import SavingMixin
from markerless.napari.labeling.state import MODES, LabelingState, place_points
from markerless.napari.layers.labeled_folder import (
    keypoints_for_image,
    layer_config,
    show_only_folder,
)
from markerless.napari.layers.lookup import (
    frames_layer,
    is_keypoints,
    is_quiet,
    keypoint_layers,
    meta,
)
from markerless.napari.session import connect_alive, find_config, session, unwrap

if TYPE_CHECKING:
    import napari
    from markerless.project.check_labels import LabelIssue

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
NO_LAYER = "No keypoints layer: open a project or labeled-data folder"
MODE_HELP = ("sequential: next keypoint, then next frame; quick: same keypoint on the next "
             "frame; loop: next keypoint, same frame")


class LabelingWidget(SavingMixin, ColorsMixin, QWidget):
    """Keypoint list, advance modes, colours, skeleton, progress, saving and checking of labels."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.layer: Any = None
        self.state: LabelingState | None = None
        self.skeleton_layer: Any = None
        self.edges: list[tuple[str, str]] = []
        self.config: Any = {}
        self._init_saving()
        self._busy = False
        #: ask(title, text, buttons) -> chosen button; tests replace it
        self.ask: Callable[[str, str, Sequence[str]], str] = (
            lambda title, text, buttons: ask_choice(self, title, text, buttons))
        self._build_ui()
        v = self.viewer
        for signal, slot in ((v.layers.selection.events.active, self._on_active),
                             (v.layers.events.inserted, self._on_inserted),
                             (v.layers.events.removed, self._on_removed),
                             (v.dims.events.current_step, self._mark_frame),
                             (session(v).files_changed, self._on_config_changed)):
            connect_alive(self, signal, slot)
        for layer in keypoint_layers(v):
            self._track(layer)
        self.hooks: keys.WindowHooks | None = None  # installed once the dock is in the window
        QTimer.singleShot(0, self._install_hooks)
        active = v.layers.selection.active
        first = active if is_keypoints(active) else next(iter(keypoint_layers(v)), None)
        if first is not None:
            self.attach(first)

    def set_config(self, config_path: str | Path) -> None:
        """Make ``config_path`` the viewer's project (``jupyter.add_docks``)."""
        session(self.viewer).set(config_path)

    def event(self, e: QEvent) -> bool:  # noqa: D102 - Qt's name
        if e.type() in (QEvent.Type.ParentChange, QEvent.Type.Show):
            self._install_hooks()
        return super().event(e)

    def _install_hooks(self) -> None:
        """Window hooks (Ctrl+S, close guard) once napari has docked this widget."""
        if getattr(self, "hooks", None) is None:
            self.hooks = keys.install_window_hooks(self)

    # --- UI -------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.layer_label = QLabel(NO_LAYER, wordWrap=True)
        self.new_layer_button = button("Keypoints layer for the selected images",
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
        self.legend = ColorLegend()
        self.show_points = QCheckBox("Keypoints", checked=True)
        self.show_points.toggled.connect(
            lambda on: self.layer is not None and setattr(self.layer, "visible", on))
        self.show_skeleton = QCheckBox("Skeleton", checked=True)
        self.show_skeleton.toggled.connect(self._toggle_skeleton)
        self.add_button = button("Label (add)", lambda: self.set_mode("add"))
        self.move_button = button("Move (select)", lambda: self.set_mode("select"))
        self.delete_button = button(
            "Delete selected", lambda: self.layer is not None and self.layer.remove_selected())
        self.progress = QProgressBar(minimum=0, maximum=1, value=0)
        self.progress_label = QLabel(wordWrap=True)
        self.save_button = button("Save labels (Ctrl+S)", self.save)
        self.status = StatusLine()
        self.checker = CheckLabelsPanel(self.viewer)
        self.checker.issue_selected.connect(self.show_issue)
        help_label = QLabel(keys.shortcuts_html(), wordWrap=True, styleSheet="font-size: 10px")
        layout = QVBoxLayout(self)
        for item in (self.layer_label, self.new_layer_button, self.current_label,
                     self.keypoint_list,
                     hbox("Advance", self.mode_combo, "Colour by", self.color_combo),
                     self.legend, hbox("Show", self.show_points, self.show_skeleton),
                     hbox(self.add_button, self.move_button, self.delete_button),
                     self.progress, self.progress_label, self.save_button, self.status,
                     group("Check labels", [self.checker]), help_label):
            layout.addWidget(item)
        layout.addStretch(1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.keypoint_list, self.mode_combo, self.color_combo, self.add_button,
                  self.move_button, self.delete_button, self.save_button, self.show_points,
                  self.show_skeleton):
            w.setEnabled(on)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.say(text, error)

    def show_error(self, err: BaseException) -> None:
        """One line in the status (never a traceback)."""
        self.status.show_error(err)

    # --- attaching to a layer -------------------------------------------------------
    def attach(self, layer: Any) -> None:
        """Label ``layer`` (a keypoints Points layer) from now on."""
        if layer is self.layer:
            return
        self.detach()
        self.layer = layer
        self.state = LabelingState.from_metadata(meta(layer), self.mode_combo.currentText())
        self._read_config()
        keys.bind_layer_keys(layer, self)
        self.layer_label.setText(f"Labeling <b>{layer.name}</b>")
        self.new_layer_button.setVisible(False)
        self._set_enabled(True)
        self.keypoint_list.blockSignals(True)
        self.keypoint_list.clear()
        for ind, bp in self.state.keypoints:
            QListWidgetItem(f"{ind} · {bp}" if ind else bp, self.keypoint_list)
        self.keypoint_list.blockSignals(False)
        show_only_folder(self.viewer, layer)
        self._apply_colors()
        self._sync()
        self.state.start_on(self.frame)
        self._show_keypoint()

    def detach(self) -> None:
        if self.layer is not None:
            keys.unbind_layer_keys(self.layer)
        self.layer = self.state = None
        self.keypoint_list.clear()
        self._set_enabled(False)
        self.new_layer_button.setVisible(True)
        self.layer_label.setText(NO_LAYER)

    def _read_config(self) -> None:
        """Skeleton, colormap and dot size from the project's config.yaml (when there is one)."""
        self.config, self.edges, problem = layer_config(self.layer)
        if problem:
            self._say(f"config.yaml: {problem}", error=True)

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

    def show_issue(self, issue: LabelIssue) -> bool:
        """Label the issue's folder, go to its frame and select the points concerned.

        Only folders open in the viewer can be shown (False otherwise, said in the dock).
        An issue of a whole file or folder (no frame) is only said.
        """
        if not issue.frame:
            config = find_config(self.viewer)
            self._say(describe(issue, None if config is None else config.parent))
            return False
        folder = Path(issue.labels_file).parent.resolve()
        layer = next((ly for ly in keypoint_layers(self.viewer) if meta(ly).get("folder")
                      and Path(meta(ly)["folder"]).resolve() == folder), None)
        names = [Path(str(f)).name for f in meta(layer).get("frames", [])] if layer else []
        image = Path(issue.frame).name
        if image not in names:
            self._say(f"{folder.name}/{image} is not open: open the project's labeled frames "
                      "to see it", error=True)
            return False
        self.viewer.layers.selection.active = layer  # attaches to it (_on_active)
        frame = names.index(image)
        self._go_to(frame)
        feats = layer.features
        on = (layer.data[:, 0] == frame) & feats["bodypart"].isin(
            issue.bodypart.split("/")).to_numpy()
        if issue.individual:
            on &= (feats["individual"] == issue.individual).to_numpy()
        layer.selected_data = set(np.flatnonzero(on).tolist())
        self._say(f"{image}: {issue.bodypart}: {issue.problem}")
        return True

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

    # --- napari events ---------------------------------------------------------------
    @contextmanager
    def _quietly(self) -> Iterator[None]:
        old, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = old

    def _on_active(self, event: Any) -> None:
        if is_keypoints(event.value) and event.value is not self.layer:
            self.attach(event.value)

    def _on_inserted(self, event: Any) -> None:
        layer = event.value
        if is_keypoints(layer):
            self._track(layer)
            if self.layer is None:
                self.attach(layer)

    def _on_removed(self, event: Any) -> None:
        layer = event.value
        if layer is self.skeleton_layer:
            self.skeleton_layer = None
        if not is_keypoints(layer):
            return
        layer.events.data.disconnect(self._on_data)
        layer.events.current_properties.disconnect(self._on_current_properties)
        if layer is self.layer:
            self.detach()
        self._offer_save_removed(layer)

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
        if not (self._busy or is_quiet(layer)):
            self._dirty.add(layer)
            if action == ADDED and layer is self.layer:
                self._placed(np.asarray(event.data_indices, int) % len(layer.data))
        if layer is self.layer:
            if len(meta(layer).get("frames", [])) != self.state.n_frames:  # frames reloaded
                self.layer = None
                self.attach(layer)
            self._sync()

    def _placed(self, new: np.ndarray) -> None:
        """A click added points ``new``: pin them to their frame, drop strays, then advance."""
        layer, state = self.layer, self.state
        image = frames_layer(self.viewer, meta(layer).get("folder", ""))
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

    # --- layers for plain image folders ----------------------------------------------------
    def create_layer_for_image(self) -> None:
        """Keypoints for the selected image layer's labeled-data folder (bodyparts from config)."""
        try:
            layer = keypoints_for_image(self.viewer, self.viewer.layers.selection.active,
                                        find_config(self.viewer))
            self.attach(layer)
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self.show_error(err)
