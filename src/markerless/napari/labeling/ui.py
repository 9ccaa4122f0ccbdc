"""The Labeling dock's widgets: layout, the keypoint list with its individual dropdown, habits.

:class:`LabelingUI` builds the widgets of :class:`~.dock.LabelingWidget` and keeps the
keypoint list and the individual dropdown in step with the current keypoint: for a
multi-animal layer the dropdown chooses the animal and the list shows that animal's
bodyparts (unique bodyparts under ``single``). The chosen habits (markerless' or
napari-deeplabcut's keys, :mod:`.habits`) are remembered between sessions in Qt's
settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QSettings, Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
)

from markerless.napari.forms import StatusLine, button, group, hbox, scroll_layout
from markerless.napari.labeling import keys
from markerless.napari.labeling.check_labels_panel import CheckLabelsPanel
from markerless.napari.labeling.colors import ColorLegend
from markerless.napari.labeling.habits import HABITS, MARKERLESS, MODE_HELP, MODES, Habits

NO_LAYER = "No keypoints layer: open a project or labeled-data folder"
SETTINGS = ("markerless", "markerless")
HABITS_SETTING = "labeling/habits"


def saved_habits() -> Habits:
    """The habits chosen last time (markerless' by default)."""
    name = QSettings(*SETTINGS).value(HABITS_SETTING, MARKERLESS.name)
    return HABITS.get(str(name), MARKERLESS)


def save_habits(habits: Habits) -> None:
    QSettings(*SETTINGS).setValue(HABITS_SETTING, habits.name)


def keypoint_name(individual: str, bodypart: str) -> str:
    return f"{individual} · {bodypart}" if individual else bodypart


class LabelingUI:
    """Widgets of the Labeling dock. The dock provides the slots named in ``_build_ui``
    and ``state`` (None without a layer)."""

    state: Any
    viewer: Any
    _show_keypoint: Callable[[], None]

    def _build_ui(self) -> None:
        self.layer_label = QLabel(NO_LAYER, wordWrap=True)
        self.new_layer_button = button("Keypoints layer for the selected images",
                                       self.create_layer_for_image)
        self.current_label = QLabel(wordWrap=True)
        self.individual_combo = QComboBox(toolTip="The animal the next clicks label")
        self.individual_combo.currentTextChanged.connect(self._on_individual)
        self.individual_row = hbox("Individual", self.individual_combo)
        self.individual_row.setVisible(False)
        self.keypoint_list = QListWidget(minimumHeight=120)
        self.keypoint_list.currentRowChanged.connect(self._on_row)
        self.mode_combo = QComboBox(toolTip="Advance after each click (M cycles)")
        for n, mode in enumerate(MODES):
            self.mode_combo.addItem(mode.upper())
            self.mode_combo.setItemData(n, MODE_HELP[mode], Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.advance_check = QCheckBox("next frame when done", checked=True, toolTip=(
            "SEQUENTIAL and QUICK: a frame with every keypoint placed goes on to the next"))
        self.advance_check.toggled.connect(self._on_advance)
        self.color_combo = QComboBox(toolTip="F toggles (multi-animal)")
        self.color_combo.addItems(["bodypart", "individual"])
        self.color_combo.currentTextChanged.connect(lambda _: self._apply_colors())
        self.legend = ColorLegend()
        self.show_points = QCheckBox("Keypoints", checked=True)
        self.show_points.toggled.connect(
            lambda on: self.layer is not None and setattr(self.layer, "visible", on))
        self.show_skeleton = QCheckBox("Skeleton", checked=True)
        self.show_skeleton.toggled.connect(self._toggle_skeleton)
        self.confidence_check = QCheckBox(
            "Red rim: machine labels below pcutoff", checked=True,
            toolTip="Machine labels (Refine dock) whose likelihood is below config.yaml's "
                    "pcutoff")
        self.confidence_check.toggled.connect(lambda _: self._mark_machine_layers())
        self.add_button = button("Label (add)", lambda: self.set_mode("add"))
        self.move_button = button("Move (select)", lambda: self.set_mode("select"))
        self.delete_button = button(
            "Delete selected", lambda: self.layer is not None and self.layer.remove_selected())
        self.copy_previous_button = button(
            "Copy previous frame's points", self.copy_previous_frame,
            "Every animal's points of the frame before, where this frame has none yet")
        self.undo_button = button("Undo (Ctrl+Z)", self.undo)
        self.progress = QProgressBar(minimum=0, maximum=1, value=0)
        self.progress_label = QLabel(wordWrap=True)
        self.save_button = button("Save labels (Ctrl+S)", self.save)
        self.status = StatusLine()
        self.habits_check = QCheckBox("napari-deeplabcut keys and habits", toolTip=(
            "A/D frames, W/S keypoints, E confidence rim; only QUICK moves placed "
            "keypoints; new frames start at their first unlabeled keypoint"))
        self.habits_check.toggled.connect(
            lambda on: self.set_habits(HABITS["napari-deeplabcut" if on else "markerless"]))
        self.checker = CheckLabelsPanel(self.viewer)
        self.checker.issue_selected.connect(self.show_issue)
        self.help_label = QLabel(keys.shortcuts_html(), wordWrap=True,
                                 styleSheet="font-size: 10px")
        layout = scroll_layout(self)  # a small window scrolls the dock, never squeezes it
        for item in (self.layer_label, self.new_layer_button, self.current_label,
                     self.individual_row, self.keypoint_list,
                     hbox("Mode", self.mode_combo, self.advance_check),
                     hbox("Colour by", self.color_combo), self.legend,
                     hbox("Show", self.show_points, self.show_skeleton),
                     self.confidence_check,
                     hbox(self.add_button, self.move_button, self.delete_button),
                     hbox(self.copy_previous_button, self.undo_button),
                     self.progress, self.progress_label, self.save_button, self.status,
                     self.habits_check, group("Check labels", [self.checker]),
                     self.help_label):
            layout.addWidget(item)
        layout.addStretch(1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.keypoint_list, self.individual_combo, self.mode_combo, self.color_combo,
                  self.add_button, self.move_button, self.delete_button, self.save_button,
                  self.show_points, self.show_skeleton, self.copy_previous_button,
                  self.undo_button):
            w.setEnabled(on)

    @property
    def mode(self) -> str:
        return self.mode_combo.currentText().lower()

    # --- keypoint list and individual dropdown ----------------------------------------
    def _fill_keypoints(self) -> None:
        """List rows (one per keypoint) and the dropdown (one per individual, multi-animal)."""
        self.keypoint_list.blockSignals(True)
        self.individual_combo.blockSignals(True)
        self.keypoint_list.clear()
        self.individual_combo.clear()
        individuals = list(dict.fromkeys(ind for ind, _ in self.state.keypoints))
        for ind, bp in self.state.keypoints:
            QListWidgetItem(keypoint_name(ind, bp), self.keypoint_list)
        self.individual_combo.addItems(individuals)
        self.individual_row.setVisible(individuals != [""])
        self.keypoint_list.blockSignals(False)
        self.individual_combo.blockSignals(False)

    def _show_rows_of(self, individual: str) -> None:
        """The dropdown on ``individual``; the list shows only its bodyparts."""
        self.individual_combo.blockSignals(True)
        self.individual_combo.setCurrentText(individual)
        self.individual_combo.blockSignals(False)
        for row, (ind, _) in enumerate(self.state.keypoints):
            self.keypoint_list.setRowHidden(row, ind != individual)

    def _on_individual(self, individual: str) -> None:
        """The user chose an animal: its first keypoint not placed on this frame."""
        if self.state is None or not individual:
            return
        rows = [k for k, (ind, _) in enumerate(self.state.keypoints) if ind == individual]
        if not rows:
            return
        free = [k for k in rows if not self.state.labeled[self.frame, k]] if (
            0 <= self.frame < self.state.n_frames) else []
        self.state.select((free or rows)[0])
        self._show_keypoint()
        self.set_mode("add")

    # --- habits -------------------------------------------------------------------------
    def _show_habits(self, habits: Habits) -> None:
        self.habits_check.blockSignals(True)
        self.habits_check.setChecked(habits.name == "napari-deeplabcut")
        self.habits_check.blockSignals(False)
        self.advance_check.setChecked(habits.advance_frames)
        self.help_label.setText(keys.shortcuts_html(habits.name))
