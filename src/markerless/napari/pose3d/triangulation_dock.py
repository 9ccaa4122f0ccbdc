"""3D triangulation dock: triangulate the cameras' 2D predictions, then look at the result.

A thin layer over ``triangulate``: one file per camera (a DeepLabCut analysis .h5/.csv,
a SLEAP analysis .h5 or a video whose analysis is found beside it), or a folder's
recordings; method and pcutoff; the work runs in a worker. The result opens in the
viewer in 3D (:mod:`markerless.napari.layers.pose3d`), and **Show camera view** opens
each camera's video with its 2D predictions, the reprojected 3D points and the lines
between them, coloured by how far apart they are, in a second viewer that follows the
frame slider (:mod:`markerless.napari.pose3d.camera_view`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from markerless.napari.forms import button, group, hbox, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.layers.lookup import meta
from markerless.napari.pickers import ConfigPicker
from markerless.napari.pose3d import jobs
from markerless.napari.pose3d.camera_view import CameraViews
from markerless.napari.pose3d.session3d import follow_project3d
from markerless.napari.session import unwrap

ALL_CAMERAS = "all cameras"
FILE_FILTER = "2D predictions or videos (*.h5 *.csv *.mp4 *.avi *.mov *.mkv);;All (*)"


class TriangulationWidget(QWidget):
    """Triangulate a recording's 2D predictions and show the 3D result and camera views."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.result: Any = None
        self.recordings: list[dict[str, Path]] = []
        self.file_edits: dict[str, QLineEdit] = {}
        self.views = CameraViews(self.viewer)
        holder = {"views": self.views}  # not self: it is gone when destroyed fires
        self.destroyed.connect(lambda *_: holder["views"].close())
        self.config = ConfigPicker()
        self.config.edit.setPlaceholderText("3D project config.yaml (or its folder)")
        self.config.changed.connect(lambda _: self.refresh())

        self.files_box = QWidget()
        self.files_form = QFormLayout(self.files_box)
        self.recording = QComboBox()
        self.recording.currentIndexChanged.connect(self._recording_chosen)
        folder_button = button("From folder...", self._browse_folder,
                               "The recordings of a folder: files named with the cameras")
        self.method = QComboBox()
        self.method.addItems(["dlt", "ransac", "optim"])
        self.pcutoff = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.destfolder = QLineEdit()
        self.destfolder.setPlaceholderText("beside the first camera's file")
        self.save_csv = QCheckBox("also DeepLabCut's .csv")
        options = QFormLayout()
        options.addRow("Recording", hbox(self.recording, folder_button))
        options.addRow("Method", self.method)
        options.addRow("pcutoff", self.pcutoff)
        options.addRow("Save to", self.destfolder)
        options.addRow("", self.save_csv)
        self.run_button = button("Triangulate", self.triangulate)
        self.job = JobPanel()
        self.job.started.connect(lambda: self.run_button.setEnabled(False))
        self.job.stopped.connect(lambda: self.run_button.setEnabled(True))

        self.result_edit = QLineEdit()
        self.result_edit.setPlaceholderText("a _DLC_3D.h5 or anipose .csv")
        self.result_edit.editingFinished.connect(
            lambda: self.result_edit.text() and self.open_result(self.result_edit.text()))
        self.camera = QComboBox()
        self.threshold = QDoubleSpinBox(minimum=0.1, maximum=1000.0, value=10.0, decimals=1)
        self.threshold.setSuffix(" px")
        self.threshold.setToolTip("Lines from a 2D prediction to its reprojection turn red "
                                  "at this distance")
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        view_form = QFormLayout()
        view_form.addRow("3D result", hbox(self.result_edit,
                                           button("Open...", self._browse_result)))
        view_form.addRow("Camera", hbox(self.camera, button("Show camera view",
                                                            self.show_camera)))
        view_form.addRow("Red from", self.threshold)
        view_box = QWidget()
        view_box.setLayout(view_form)

        layout = scroll_layout(self)
        layout.addWidget(self.config)
        layout.addWidget(group("2D predictions per camera", [self.files_box]))
        options_box = QWidget()
        options_box.setLayout(options)
        layout.addWidget(options_box)
        layout.addWidget(self.run_button)
        layout.addWidget(self.job)
        layout.addWidget(group("3D result", [view_box, self.summary, hbox(
            button("Show 3D", self.show_3d), button("Next large error", self.next_large_error,
                                                    "The next frame where a shown camera "
                                                    "disagrees with the 3D points"))]))
        layout.addStretch(1)
        follow_project3d(self, self.viewer)
        self._adopt_open_result()

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        self.config.set_path(str(jobs.config_path(path)))

    def show_error(self, err: BaseException) -> None:
        self.job.show_error(err)

    @property
    def cameras(self) -> list[str]:
        return list(self.file_edits)

    @reports_errors
    def refresh(self) -> None:
        """One file row per camera of the project; its method and pcutoff."""
        path = self.config.path
        if path is None or not path.is_file():
            return
        from markerless.pose3d.project import read_config3d, triangulation_settings

        cfg, _ = read_config3d(path)
        while self.files_form.rowCount():
            self.files_form.removeRow(0)
        self.file_edits = {}
        for cam in cfg["camera_names"]:
            edit = QLineEdit()
            edit.setPlaceholderText(f"{cam}: 2D predictions (.h5/.csv) or video")
            self.file_edits[cam] = edit
            self.files_form.addRow(cam, hbox(edit, button(
                "...", lambda cam=cam: self._browse_file(cam))))
        self.method.setCurrentText(str(triangulation_settings(cfg).get("method") or "dlt"))
        self.pcutoff.setValue(float(cfg.get("pcutoff") or 0.0))

    def set_files(self, files: dict[str, str | os.PathLike]) -> None:
        """The recording to triangulate: ``{camera: 2D file or video}``."""
        for cam, path in files.items():
            if cam in self.file_edits:
                self.file_edits[cam].setText(str(path))

    def files(self) -> dict[str, Path]:
        return {cam: Path(e.text().strip()) for cam, e in self.file_edits.items()
                if e.text().strip()}

    @reports_errors
    def set_folder(self, folder: str | os.PathLike) -> None:
        """Offer the folder's recordings (one file per camera, named with the cameras)."""
        self.recordings = jobs.recordings_in(self.config.path, folder)
        self.recording.blockSignals(True)
        self.recording.clear()
        for rec in self.recordings:
            self.recording.addItem(Path(next(iter(rec.values()))).name)
        self.recording.blockSignals(False)
        self._recording_chosen(0)
        self.job.set_status(f"{len(self.recordings)} recording(s) in {Path(folder).name}")

    def _recording_chosen(self, index: int) -> None:
        if 0 <= index < len(self.recordings):
            self.set_files(self.recordings[index])

    def _browse_file(self, cam: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"{cam}: 2D predictions", "", FILE_FILTER)
        if path:
            self.file_edits[cam].setText(path)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of recordings")
        if folder:
            self.set_folder(folder)

    def _browse_result(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "3D result", "",
                                              "3D results (*.h5 *.csv);;All (*)")
        if path:
            self.open_result(path)

    # --- triangulation ----------------------------------------------------------------------
    @reports_errors
    def triangulate(self):
        """Triangulate the chosen recording in a worker; then open its result."""
        config = self.config.path
        files = self.files()
        if config is None or not config.is_file():
            self.job.set_status("Choose a 3D project's config.yaml first", error=True)
            return None
        missing = [cam for cam in self.cameras if cam not in files]
        if missing:
            self.job.set_status(f"Choose a 2D file or video for {', '.join(missing)}",
                                error=True)
            return None
        dest = self.destfolder.text().strip() or None
        return self.job.run(jobs.triangulation_job, config, [files], self.method.currentText(),
                            self.pcutoff.value(), dest, self.save_csv.isChecked(),
                            text="reading the 2D predictions...", yielded=self._progress,
                            returned=self._triangulated)

    def _progress(self, report: dict) -> None:
        self.job.set_progress(report["done"], report["total"], report.get("text"))

    def _triangulated(self, outputs: list[dict[str, Path]]) -> None:
        if outputs:
            self.open_result(outputs[-1]["dlc_3d"])
            self.job.set_status(f"wrote {outputs[-1]['dlc_3d'].name} and its anipose CSV, "
                                "reprojections and _meta.json")

    # --- the result -------------------------------------------------------------------------
    @reports_errors
    def open_result(self, path: str | os.PathLike) -> list[Any]:
        """Load a 3D result (with this project's calibration and skeleton) and show it in 3D."""
        self._load(path)
        return self.show_3d()

    def _load(self, path: str | os.PathLike) -> None:
        from markerless.napari.layers.pose3d_files import load_result

        config = self.config.path if self.config.path and self.config.path.is_file() else None
        self.result = load_result(path, config=config)
        self.result_edit.setText(str(path))
        self.camera.clear()
        cams = self.result.cameras
        self.camera.addItems(cams + ([ALL_CAMERAS] if len(cams) > 1 else []))
        pts = self.result.points
        self.summary.setText(f"{pts.n_frames} frames, {len(pts.bodyparts)} bodyparts"
                             + (f", {len(pts.individuals)} individuals" if pts.multianimal
                                else "") + (f"; cameras {', '.join(cams)}" if cams else ""))

    def _adopt_open_result(self) -> None:
        """A 3D result already open (dropped on the viewer): offer its camera views."""
        from markerless.napari.layers.pose3d import KIND_POINTS_3D

        for layer in list(self.viewer.layers)[::-1]:
            info = meta(layer)
            if info.get("kind") == KIND_POINTS_3D and info.get("result_path"):
                try:
                    self._load(info["result_path"])
                except Exception:  # noqa: BLE001 - the file moved: open one by hand
                    self.result = None
                return

    @reports_errors
    def show_3d(self) -> list[Any]:
        from markerless.napari.layers.pose3d import show_3d

        if self.result is None:
            self.job.set_status("Open a 3D result first", error=True)
            return []
        layers = show_3d(self.viewer, self.result)
        mine = {id(ly) for ly in layers}
        for layer in self.viewer.layers:  # other 2D layers would share the 3D axes
            if id(layer) not in mine and meta(layer).get("kind") in (
                    "calibration_view", "board_corners"):
                layer.visible = False
        return layers

    @reports_errors
    def show_camera(self, camera: str | None = None, viewer: Any = None) -> list[Any]:
        """The camera's (or every camera's) view in the camera-views viewer (or ``viewer``)."""
        if self.result is None:
            self.job.set_status("Open a 3D result first", error=True)
            return []
        camera = camera or self.camera.currentText()
        cams = self.result.cameras if camera == ALL_CAMERAS else [camera]
        layers = self.views.show(self.result, cams, self.threshold.value(), viewer)
        self.summary.setText("\n".join(self.views.summaries(self.threshold.value())))
        return layers

    def _threshold_changed(self, value: float) -> None:
        self.views.set_threshold(value)
        if self.views.disagreements:
            self.summary.setText("\n".join(self.views.summaries(value)))

    def next_large_error(self) -> int | None:
        frame = self.views.next_large_error(self.threshold.value())
        if frame is None:
            self.job.set_status("no shown camera disagrees by more than "
                                f"{self.threshold.value():g} px"
                                if self.views.disagreements else "Show a camera view first")
        else:
            self.job.set_status(f"frame {frame}")
        return frame
