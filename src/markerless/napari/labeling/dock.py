"""Labeling dock: click keypoints onto extracted frames, in order, and save them DeepLabCut's way.

The dock drives napari's own Points layer: before a click it sets the layer's
``feature_defaults`` to the current keypoint; when the layer reports a point
``added`` it pins the point to the frame it was placed on and advances (see
:mod:`.state`, :mod:`.habits` and :mod:`.editing`). Moving (select mode, drag) and
deleting are napari's. Widgets are :mod:`.ui`, key actions :mod:`.actions`, saving
and the unsaved-labels guards :mod:`.saving`, colours and skeleton :mod:`.colors`,
key bindings and the close guard :mod:`.keys`, and the *Check labels* panel
(:func:`markerless.check_labels` in a worker) :mod:`.check_labels_panel`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QEvent, QTimer
from qtpy.QtWidgets import QWidget

from markerless.napari.forms import ask_choice
from markerless.napari.labeling import keys
from markerless.napari.labeling.actions import ActionsMixin
from markerless.napari.labeling.check_labels_panel import describe
from markerless.napari.labeling.colors import ColorsMixin
from markerless.napari.labeling.confidence import is_machine_labels
from markerless.napari.labeling.editing import BEFORE, EditingMixin
from markerless.napari.labeling.habits import Habits
from markerless.napari.labeling.saving import SavingMixin
from markerless.napari.labeling.state import LabelingState
from markerless.napari.labeling.ui import NO_LAYER, LabelingUI, save_habits, saved_habits
from markerless.napari.layers.labeled_folder import (
    keypoints_for_image,
    layer_config,
    show_only_folder,
)
from markerless.napari.layers.lookup import is_keypoints, is_quiet, keypoint_layers, meta
from markerless.napari.session import connect_alive, find_config, session, unwrap

if TYPE_CHECKING:
    import napari
    from markerless.project.check_labels import LabelIssue

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


class LabelingWidget(LabelingUI, ActionsMixin, EditingMixin, SavingMixin, ColorsMixin, QWidget):
    """Keypoint list, advance modes, colours, skeleton, progress, saving and checking of labels."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.layer: Any = None
        self.state: LabelingState | None = None
        self.skeleton_layer: Any = None
        self.edges: list[tuple[str, str]] = []
        self.config: Any = {}
        self.habits: Habits = saved_habits()
        self._init_saving()
        self._init_editing()
        self._busy = False
        #: ask(title, text, buttons) -> chosen button; tests replace it
        self.ask: Callable[[str, str, Sequence[str]], str] = (
            lambda title, text, buttons: ask_choice(self, title, text, buttons))
        self._build_ui()
        self._show_habits(self.habits)
        v = self.viewer
        for signal, slot in ((v.layers.selection.events.active, self._on_active),
                             (v.layers.events.inserted, self._on_inserted),
                             (v.layers.events.removed, self._on_removed),
                             (v.dims.events.current_step, self._on_frame),
                             (session(v).files_changed, self._on_config_changed)):
            connect_alive(self, signal, slot)
        for layer in keypoint_layers(v):
            self._track(layer)
        self._bind_viewer_keys()
        self._mark_machine_layers()
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

    def _say(self, text: str, error: bool = False) -> None:
        self.status.say(text, error)

    def show_error(self, err: BaseException) -> None:
        """One line in the status (never a traceback)."""
        self.status.show_error(err)

    # --- habits -----------------------------------------------------------------------
    def set_habits(self, habits: Habits) -> None:
        """Use markerless' or napari-deeplabcut's keys and habits (remembered)."""
        self.habits = habits
        save_habits(habits)
        self._show_habits(habits)
        if self.layer is not None:
            keys.bind_layer_keys(self.layer, self, habits)
        self._bind_viewer_keys()
        for layer in self.viewer.layers:
            if is_machine_labels(layer):
                self._bind_machine_keys(layer)
        self._say(f"{habits.name} keys and habits")

    def _bind_viewer_keys(self) -> None:
        keys.unbind_keys(self.viewer, keys.VIEWER_KEYS)
        keys.bind_keys(self.viewer, self, self.habits.viewer_keys)

    def _bind_machine_keys(self, layer: Any) -> None:
        """E on machine labels too, with napari-deeplabcut's keys (their E acts on any layer)."""
        keys.unbind_keys(layer, ["E"])
        keys.bind_keys(layer, self, [p for p in self.habits.keys
                                     if p[1] == "toggle_confidence_edges"])

    # --- attaching to a layer -------------------------------------------------------
    def attach(self, layer: Any) -> None:
        """Label ``layer`` (a keypoints Points layer) from now on."""
        if layer is self.layer:
            return
        self.detach()
        self.layer = layer
        self.state = LabelingState.from_metadata(meta(layer), self.mode)
        self.state.advance_frames = self.advance_check.isChecked()
        self._read_config()
        keys.bind_layer_keys(layer, self, self.habits)
        layer.events.visible.connect(self._on_visible)
        self.layer_label.setText(f"Labeling <b>{layer.name}</b>")
        self.new_layer_button.setVisible(False)
        self._set_enabled(True)
        self._fill_keypoints()
        show_only_folder(self.viewer, layer)
        self._apply_colors()
        self._sync()
        self.state.start_on(self.frame)
        self._show_keypoint()

    def detach(self) -> None:
        if self.layer is not None:
            keys.unbind_layer_keys(self.layer)
            self.layer.events.visible.disconnect(self._on_visible)
        self.layer = self.state = None
        self.keypoint_list.clear()
        self.individual_row.setVisible(False)
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

    def _on_frame(self, _event: Any = None) -> None:
        """A new frame on screen; with napari-deeplabcut's habits (not in LOOP) its first
        unlabeled keypoint becomes the current one."""
        self._mark_frame()
        if (self.state is not None and self.habits.follow_frame and self.mode != "loop"
                and not self._busy):
            self.state.start_on(self.frame)
            self._show_keypoint()

    def _show_keypoint(self) -> None:
        """Show the current keypoint in the list and label; make it the next click's features."""
        if self.state is None or not self.state.n_keypoints:
            return
        ind, bp = self.state.current_keypoint
        self._show_rows_of(ind)
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

    def _on_row(self, row: int) -> None:
        if self.state is not None and row >= 0:
            self.state.select(row)
            self._show_keypoint()
            self.set_mode("add")

    def _on_mode(self, _text: str) -> None:
        if self.state is not None:
            self.state.mode = self.mode

    def _on_advance(self, on: bool) -> None:
        if self.state is not None:
            self.state.advance_frames = on

    def _on_visible(self, _event: Any = None) -> None:
        """V (napari) hides the layer: the Keypoints box follows."""
        if self.layer is not None:
            self.show_points.blockSignals(True)
            self.show_points.setChecked(bool(self.layer.visible))
            self.show_points.blockSignals(False)

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
        if is_machine_labels(layer):
            self._mark_machine_layers([layer])
            self._bind_machine_keys(layer)
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
        self._mark_machine_layers()

    def _on_data(self, event: Any) -> None:
        layer, action = event.source, str(event.action)
        user = not (self._busy or is_quiet(layer))
        if action in BEFORE:
            if user and layer is self.layer:
                self._before_change()
            return
        if action not in (ADDED, REMOVED, CHANGED):
            return
        if user:
            self._dirty.add(layer)
            if action == ADDED and layer is self.layer:
                self._placed(np.asarray(event.data_indices, int) % len(layer.data))
        if layer is self.layer:
            if len(meta(layer).get("frames", [])) != self.state.n_frames:  # frames reloaded
                self.undo_stack(layer).clear()  # its frame positions are stale
                self.layer = None
                self.attach(layer)
            self._sync()

    # --- layers for plain image folders ----------------------------------------------------
    def create_layer_for_image(self) -> None:
        """Keypoints for the selected image layer's labeled-data folder (bodyparts from config)."""
        try:
            layer = keypoints_for_image(self.viewer, self.viewer.layers.selection.active,
                                        find_config(self.viewer))
            self.attach(layer)
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self.show_error(err)

