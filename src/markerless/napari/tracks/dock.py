"""Tracks dock: proofread a video's multi-animal tracks.

Opens ``<video><scorer>_el.h5`` (or a DeepLabCut .csv/.h5 or SLEAP .slp) as predictions
(Points, bordered by individual) and a Tracks layer coloured by identity; swaps two
animals' identities from the current frame on or over a frame range (with undo); jumps
to the next frame where animals come close, a track is missing or confidence drops;
saves the corrected tracks back (atomically, previous file kept as ``.bak``); and sends
chosen frames to labeled-data as multi-animal machine labels for the refinement loop.
Reading, saving and extracting frames run in workers; swaps and jumps are immediate.
"""

from __future__ import annotations

import os
import weakref
from contextlib import suppress
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from markerless.napari.forms import button, hbox, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.layers.predictions import (
    PredictionLayers,
    add_prediction_layers,
    apply_pcutoff,
    refresh_prediction_layers,
)
from markerless.napari.pickers import ConfigPicker
from markerless.napari.session import follow_project, unwrap
from markerless.napari.tracks import jobs
from markerless.napari.tracks.layers import swap_points
from markerless.napari.tracks.state import EVENT_LABELS, EventParams, TracksState

#: (keys, what they do) on the tracks' Points and Tracks layers, as listed in docs/napari.md.
SHORTCUTS: list[tuple[str, str]] = [
    ("N / Shift+N", "next / previous event of the chosen kind"),
    ("I", "swap the two chosen animals from this frame on (or over the range)"),
    ("U / Shift+U", "undo / redo the last swap"),
    ("F", "add this frame to the frames for labeling"),
]
_KEYS = {"n": ("jump", False), "Shift-N": ("jump", True), "i": ("swap", None),
         "u": ("undo", None), "Shift-U": ("redo", None), "f": ("choose_frame", None)}  # fmt: skip


class TracksWidget(QWidget):
    """Proofread tracks: open, swap identities, jump to events, save, send to labeling."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)  # napari hands plugin docks a proxy
        self.state: TracksState | None = None
        self.layers: PredictionLayers | None = None
        self.last_result: Any = None
        self.config = ConfigPicker()
        self.config.changed.connect(lambda _: self.refresh())

        self.files = QComboBox()
        self.files.setMinimumContentsLength(14)
        self.files.setToolTip("Tracks files beside the project's videos (_el/_bx/_sk.h5)")
        open_box = QGroupBox("Tracks")
        open_form = QFormLayout(open_box)
        open_form.addRow("File", hbox(self.files, button("Browse...", self._browse)))
        self.video_label = QLabel("video: -")
        open_form.addRow(hbox(button("Open", self.open_selected), self.video_label))

        self.animal_a, self.animal_b = QComboBox(), QComboBox()
        self.from_here = QRadioButton("from this frame on")
        self.in_range = QRadioButton("frames")
        self.from_here.setChecked(True)
        self._mode = QButtonGroup(self)  # the two radios sit in different rows (parents)
        self._mode.addButton(self.from_here)
        self._mode.addButton(self.in_range)
        self.start = QSpinBox(minimum=0, maximum=10**9)
        self.end = QSpinBox(minimum=0, maximum=10**9)
        self.end.setToolTip("last frame swapped (included)")
        for spin in (self.start, self.end):  # typing a frame means the range
            spin.editingFinished.connect(lambda: self.in_range.setChecked(True))
        swap_box = QGroupBox("Identities")
        swap_layout = QVBoxLayout(swap_box)
        swap_layout.addWidget(hbox("Swap", self.animal_a, "and", self.animal_b))
        swap_layout.addWidget(self.from_here)
        swap_layout.addWidget(hbox(self.in_range, self.start, "to", self.end,
                                   button("here", self._range_here, "Set the range's end "
                                          "(or start, if before it) to this frame")))
        swap_layout.addWidget(hbox(button("Swap (I)", self.swap), button("Undo (U)", self.undo),
                                   button("Redo", self.redo)))

        self.kind = QComboBox()
        for key, label in EVENT_LABELS.items():
            self.kind.addItem(label, key)
        self.distance = QDoubleSpinBox(minimum=0.01, maximum=10_000, value=0.5, singleStep=0.1)
        self.unit = QComboBox()
        self.unit.addItem("body lengths", "body")
        self.unit.addItem("px", "px")
        self.unit.currentIndexChanged.connect(self._unit_changed)
        self.pcutoff = QDoubleSpinBox(minimum=0, maximum=1, value=0.6, singleStep=0.05)
        self.pcutoff.valueChanged.connect(self._pcutoff_changed)
        self.event_label = QLabel("")
        self.event_label.setWordWrap(True)
        find_box = QGroupBox("Find")
        find_form = QFormLayout(find_box)
        find_form.addRow("Event", self.kind)
        find_form.addRow("Closer than", hbox(self.distance, self.unit))
        find_form.addRow("pcutoff", self.pcutoff)
        find_form.addRow(hbox(button("< Previous", lambda: self.jump(True), "Shift+N"),
                              button("Next >", self.jump, "N")))
        find_form.addRow(self.event_label)

        self.chosen_label = QLabel("no frames chosen")
        self.chosen_label.setWordWrap(True)
        label_box = QGroupBox("Frames for labeling")
        label_layout = QVBoxLayout(label_box)
        label_layout.addWidget(hbox(button("Add this frame (F)", self.choose_frame),
                                    button("Clear", self.clear_frames)))
        label_layout.addWidget(self.chosen_label)
        label_layout.addWidget(button("Send to labeled-data", self.send_frames,
                                      "Extract the frames as PNGs with the tracks as "
                                      "machine labels (machinelabels-iter<N>.h5)"))
        self.csv = QCheckBox("also write the .csv")
        self.csv.setChecked(True)
        save_box = QGroupBox("Save")
        save_layout = QVBoxLayout(save_box)
        save_layout.addWidget(self.csv)
        save_layout.addWidget(button("Save tracks", self.save, "Replace the file (the previous "
                                     "one is kept as .bak)"))
        self.job = JobPanel()
        layout = scroll_layout(self)
        layout.addWidget(self.config)
        for box in (open_box, swap_box, find_box, label_box, save_box):
            layout.addWidget(box)
        layout.addWidget(self.job)
        layout.addStretch(1)
        follow_project(self, self.viewer)

    # --- project and files -----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        self.config.set_path(path)

    def show_error(self, err: BaseException) -> None:
        """One line in the job panel (never a traceback)."""
        self.job.show_error(err)

    @reports_errors
    def refresh(self) -> None:
        """List the project's tracks files; take pcutoff from config.yaml."""
        config = self.config.path
        if config is None or not config.is_file():
            return
        from markerless.io.config import read_config

        self.pcutoff.setValue(float(read_config(config).get("pcutoff") or 0.6))
        for path, video in jobs.project_tracks(config):
            self.add_file(path, video)

    def add_file(self, path: str | os.PathLike, video: str | os.PathLike | None = None) -> None:
        data = (str(path), None if video is None else str(video))
        index = next((i for i in range(self.files.count())
                      if self.files.itemData(i)[0] == data[0]), -1)  # fmt: skip
        if index < 0:
            self.files.addItem(Path(path).name, data)
            index = self.files.count() - 1
        self.files.setCurrentIndex(index)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Tracks", "", jobs.TRACKS_FILTER)
        if path:
            self.add_file(path)
            self.open_selected()

    @reports_errors
    def open_selected(self):
        if self.files.currentData() is None:
            self.job.set_status("Choose a tracks file first (Browse...)", error=True)
            return None
        path, video = self.files.currentData()
        return self.open_tracks(path, video)

    def open_tracks(self, path: str | os.PathLike, video: str | os.PathLike | None = None):
        """Read ``path`` in a worker, then show it (replacing the tracks shown before)."""
        if self.state is not None and self.state.dirty:
            self.job.set_status("Unsaved swaps: save them (or undo them) before opening "
                                "other tracks", error=True)  # fmt: skip
            return None
        self.add_file(path, video)
        return self.job.run(jobs.open_job, path, video, text=f"Reading {Path(path).name}...",
                            returned=self._opened)  # fmt: skip

    def _opened(self, tracks: Any) -> None:
        colormap = "rainbow"
        config = self.config.path
        if config is not None and config.is_file():
            from markerless.io.config import read_config

            colormap = str(read_config(config).get("colormap") or "rainbow")
        video = tracks.video if tracks.video is not None and tracks.video.is_file() else None
        self.state = TracksState(tracks)
        self.layers = add_prediction_layers(self.viewer, video, tracks.path,
                                            self.pcutoff.value(), colormap, poses=tracks.poses,
                                            color_by="individual")  # fmt: skip
        for layer in (self.layers.points, self.layers.tracks):
            bind_keys(layer, self)
        animals = self.state.animals
        for combo, pick in ((self.animal_a, 0), (self.animal_b, 1)):
            combo.clear()
            combo.addItems(animals)
            combo.setCurrentIndex(min(pick, len(animals) - 1))
        last = max(self.state.poses.n_frames - 1, 0)
        self.start.setMaximum(last)
        self.end.setMaximum(last)
        self.end.setValue(last)
        self.video_label.setText(f"video: {video.name}" if video is not None
                                 else "video: not found (swaps and saving still work)")
        self.job.set_status(f"{tracks.path.name}: {len(animals)} animals, "
                            f"{self.state.poses.n_frames} frames")

    # --- identities --------------------------------------------------------------------------
    @property
    def current_frame(self) -> int:
        return int(self.viewer.dims.current_step[0])

    def _need_tracks(self) -> bool:
        if self.state is None or self.layers is None:
            self.job.set_status("Open tracks first", error=True)
            return False
        return True

    def _range_here(self) -> None:
        frame = self.current_frame
        if frame < self.start.value():
            self.start.setValue(frame)
        else:
            self.end.setValue(frame)
        self.in_range.setChecked(True)

    @reports_errors
    def swap(self) -> Any:
        """Swap the chosen animals from this frame on, or over the chosen (inclusive) range."""
        if not self._need_tracks():
            return None
        a, b = self.animal_a.currentText(), self.animal_b.currentText()
        if self.in_range.isChecked():
            start, stop = self.start.value(), self.end.value() + 1
        else:
            start, stop = self.current_frame, None
        edit = self.state.swap(a, b, start, stop)
        self._redraw(edit, f"Swapped {edit.describe()} (unsaved; U to undo)")
        return edit

    @reports_errors
    def undo(self) -> Any:
        if not self._need_tracks():
            return None
        edit = self.state.undo()
        self._redraw(edit, "Nothing to undo" if edit is None else f"Undid {edit.describe()}")
        return edit

    @reports_errors
    def redo(self) -> Any:
        if not self._need_tracks():
            return None
        edit = self.state.redo()
        self._redraw(edit, "Nothing to redo" if edit is None else f"Redid {edit.describe()}")
        return edit

    def _redraw(self, edit: Any, text: str) -> None:
        """Show a swap (or its undo): the points relabelled in place, the tracks rebuilt."""
        if edit is not None:
            swap_points(self.layers.points, edit.a, edit.b, edit.start, edit.stop)
            refresh_prediction_layers(self.layers, self.state.poses, points=False)
        if self.state.dirty and "unsaved" not in text:
            text += " (unsaved)"
        self.job.set_status(text)

    # --- events ------------------------------------------------------------------------------
    def event_params(self) -> EventParams:
        return EventParams(self.distance.value(), self.unit.currentData(),
                           self.pcutoff.value())  # fmt: skip

    def _pcutoff_changed(self, value: float) -> None:
        """Hide predictions below pcutoff (as the Analysis dock's slider)."""
        if self.layers is not None and self.layers.points in self.viewer.layers:
            apply_pcutoff(self.layers, float(value))

    def _unit_changed(self) -> None:
        self.distance.setValue(0.5 if self.unit.currentData() == "body" else 20.0)

    @reports_errors
    def jump(self, backwards: bool = False) -> int | None:
        """Go to the next (previous) frame where an event of the chosen kind begins."""
        if not self._need_tracks():
            return None
        kind = self.kind.currentData()
        found = self.state.jump(self.current_frame, kind, self.event_params(), backwards)
        if found is None:
            where = "before" if backwards else "after"
            self.event_label.setText(f"No {EVENT_LABELS[kind]} {where} frame "
                                     f"{self.current_frame}")  # fmt: skip
            return None
        frame, which = found
        self.viewer.dims.set_current_step(0, frame)
        who = self.state.events(self.event_params())[which].at(frame)
        self.event_label.setText(f"frame {frame}: {EVENT_LABELS[which]} ({', '.join(who)})")
        return frame

    # --- labeling ---------------------------------------------------------------------------
    def choose_frame(self, frame: int | None = None) -> None:
        if not self._need_tracks():
            return
        self.state.chosen.add(self.current_frame if frame is None else int(frame))
        self._show_chosen()

    def clear_frames(self) -> None:
        if self.state is not None:
            self.state.chosen.clear()
        self._show_chosen()

    def _show_chosen(self) -> None:
        chosen = sorted(self.state.chosen) if self.state is not None else []
        shown = ", ".join(map(str, chosen[:12])) + (" ..." if len(chosen) > 12 else "")
        self.chosen_label.setText(f"{len(chosen)} frames: {shown}" if chosen
                                  else "no frames chosen")  # fmt: skip

    @reports_errors
    def send_frames(self):
        """Extract the chosen frames to labeled-data with the tracks as machine labels."""
        if not self._need_tracks():
            return None
        config, video = self.config.path, self.state.tracks.video
        if config is None or not config.is_file():
            self.job.set_status("Choose the project first (machine labels go into its "
                                "labeled-data)", error=True)  # fmt: skip
            return None
        if video is None or not video.is_file():
            self.job.set_status("The tracks' video was not found: frames cannot be extracted",
                                error=True)  # fmt: skip
            return None
        if not self.state.chosen:
            self.job.set_status("No frames chosen: Add this frame (F) first", error=True)
            return None
        return self.job.run(jobs.send_job, config, video, self.state.poses.copy(),
                            sorted(self.state.chosen), text="Extracting frames...",
                            returned=self._sent)  # fmt: skip

    def _sent(self, result: dict) -> None:
        self.last_result = result
        name = Path(result["folder"]).name
        text = f"{len(result['sent'])} frames sent to labeled-data/{name}"
        if result["skipped"]:
            text += f" ({len(result['skipped'])} were labeled already)"
        self.job.set_status(text + ": correct them in the Refine dock (Open machine labels)")
        self.state.chosen.difference_update(result["sent"])
        self._show_chosen()

    # --- saving ------------------------------------------------------------------------------
    @reports_errors
    def save(self, path: str | os.PathLike | None = None):
        """Save the corrected tracks (the file they came from, unless ``path``)."""
        if not self._need_tracks():
            return None
        point = self.state.save_point()
        csv = self.csv.isChecked() if self.state.tracks.format == "dlc" else None
        return self.job.run(jobs.save_job, jobs.snapshot(self.state.tracks), path, csv,
                            text="Saving...", returned=lambda r: self._saved(r, point))

    def _saved(self, result: dict, point: tuple) -> None:
        self.last_result = result
        if self.state is not None and path_is_source(result, self.state):
            self.state.mark_saved(point)
        names = ", ".join(Path(p).name for p in result["written"])
        self.job.set_status(f"Saved {names} (previous version kept as .bak)")


def path_is_source(result: dict, state: TracksState) -> bool:
    """True when a save wrote the file the tracks were opened from (a "save as" elsewhere
    leaves the opened file unsaved)."""
    return any(Path(p).with_suffix("") == state.path.with_suffix("") for p in result["written"])


def bind_keys(layer: Any, dock: TracksWidget) -> None:
    """Bind the dock's keys on ``layer`` (held weakly: the layer may outlive the dock)."""
    ref = weakref.ref(dock)

    def call(name: str, arg: Any):
        def handler(_layer: Any) -> None:
            target = ref()
            if target is not None:
                getattr(target, name)() if arg is None else getattr(target, name)(arg)

        return handler

    for key, (name, arg) in _KEYS.items():
        with suppress(ValueError):
            layer.bind_key(key, call(name, arg), overwrite=True)
