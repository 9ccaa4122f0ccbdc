"""3D calibration dock: find the board in every camera's images, calibrate, read the errors.

A thin layer over ``calibrate_cameras``: **Find boards** runs the detection (cached in
the project's ``corners/``) in a worker, camera by camera, and lists per camera the
views where the board was found and those where it was not; clicking a view shows the
image with its detected corners (coloured by corner id, so a board found rotated shows
up). **Calibrate** detects (from the cache) and calibrates in a worker, then fills the
per-camera table (boards found and used, reprojection error median and 95th percentile,
outliers). A refused calibration is one red line (its reason) and the table of why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from markerless.napari.forms import button, group, hbox, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.layers.convert import META_KEY
from markerless.napari.layers.lookup import meta
from markerless.napari.pickers import ConfigPicker
from markerless.napari.pose3d import jobs
from markerless.napari.pose3d.session3d import follow_project3d, project3d
from markerless.napari.session import unwrap

KIND_CALIBRATION_VIEW = "calibration_view"
TABLE_COLUMNS = ("camera", "boards found", "used", "median px", "p95 px", "outliers")
NO_BOARD = QColor("#ff6b6b")


class CalibrationWidget(QWidget):
    """Detect boards, calibrate N cameras, and show the per-camera quality."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.detections: Any = None
        self.sources: dict[str, Any] = {}
        self.report_rows: list[dict[str, Any]] = []
        self.config = ConfigPicker()
        self.config.edit.setPlaceholderText("3D project config.yaml (or its folder)")
        self.config.changed.connect(lambda _: self.refresh())
        self.board = QLabel("")
        self.board.setWordWrap(True)
        self.n_frames = QSpinBox(minimum=5, maximum=5000, value=100)
        self.n_frames.setToolTip("Frames sampled evenly from each calibration video "
                                 "(calibration_images/<camera>.mp4)")
        self.max_error = QDoubleSpinBox(minimum=0.01, maximum=100.0, value=1.5, decimals=2)
        self.max_error.setSuffix(" px")
        self.max_error.setToolTip("Refuse the calibration when a camera's median "
                                  "reprojection error is above this")
        self.distortion = QComboBox()
        self.distortion.addItems(["standard", "rational", "radial", "none"])
        form = QFormLayout()
        form.addRow("Board", self.board)
        form.addRow("Video frames", self.n_frames)
        form.addRow("Max error", self.max_error)
        form.addRow("Lens model", self.distortion)
        self.find_button = button("Find boards", self.find_boards,
                                  "Detect the board in every camera's calibration images")
        self.calibrate_button = button("Calibrate", self.calibrate,
                                       "Detect (cached) and calibrate all cameras")
        self.job = JobPanel()
        self.job.started.connect(lambda: self._enable(False))
        self.job.stopped.connect(lambda: self._enable(True))
        self.views = QTreeWidget()
        self.views.setHeaderLabels(["view", "corners"])
        self.views.setMinimumHeight(140)
        self.views.itemClicked.connect(lambda item, _col: self._view_clicked(item))
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(90)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.cameras_button = button("Show cameras in 3D", self.show_cameras,
                                     "The calibrated cameras' positions and frustums")
        layout = scroll_layout(self)
        layout.addWidget(self.config)
        layout.addLayout(form)
        layout.addWidget(hbox(self.find_button, self.calibrate_button))
        layout.addWidget(self.job)
        layout.addWidget(group("Boards per camera (click a view to see its corners)",
                               [self.views]))
        layout.addWidget(group("Per-camera errors", [self.table, self.summary,
                                                     self.cameras_button]))
        layout.addStretch(1)
        follow_project3d(self, self.viewer)

    # --- plumbing -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        self.config.set_path(str(jobs.config_path(path)))

    def show_error(self, err: BaseException) -> None:
        self.job.show_error(err)

    def _enable(self, on: bool) -> None:
        self.find_button.setEnabled(on)
        self.calibrate_button.setEnabled(on)

    def _config(self) -> Path | None:
        path = self.config.path
        if path is None or not path.is_file():
            self.job.set_status("Choose a 3D project's config.yaml first", error=True)
            return None
        return path

    @reports_errors
    def refresh(self) -> None:
        """Read the board and, if the project is calibrated, its stored quality table."""
        path = self.config.path
        if path is None or not path.is_file():
            return
        from markerless.pose3d.camera import CameraGroup
        from markerless.pose3d.project import calibration_path, read_config3d
        from markerless.pose3d.views import report_rows

        self.board.setText(jobs.board_text(path))
        self.detections, self.sources = None, {}
        self.views.clear()
        self.set_rows([])
        cfg, project = read_config3d(path)
        toml = calibration_path(cfg, project)
        if toml.is_file():
            self.set_rows(report_rows(CameraGroup.load(toml, validate=False)))
            self.summary.setText(f"{toml.name}: calibrated earlier")

    # --- detection ----------------------------------------------------------------------------
    @reports_errors
    def find_boards(self):
        """Detect the boards in a worker; the list fills when it is done."""
        config = self._config()
        if config is None:
            return None
        return self.job.run(jobs.detection_job, config, self.n_frames.value(),
                            text="finding boards...", yielded=self._progress,
                            returned=self._detected)

    def _progress(self, report: dict) -> None:
        self.job.set_progress(report["done"], report["total"], report.get("text"))

    def _detected(self, det: Any) -> None:
        from markerless.pose3d.project import read_config3d

        self.detections = det
        config = self.config.path
        _, project = read_config3d(config)
        self.sources = jobs.calibration_sources(project, det.names)[0]
        self.views.clear()
        for cd in det.cameras:
            top = QTreeWidgetItem([f"{cd.name}: board in {len(cd.found)} of {len(cd.keys)}",
                                   ""])
            for k, (ids, src) in enumerate(zip(cd.ids, cd.sources, strict=True)):
                child = QTreeWidgetItem([Path(src).name if os.sep in src else src,
                                         f"{len(ids)}" if len(ids) else "no board"])
                child.setData(0, Qt.ItemDataRole.UserRole, (cd.name, k))
                if not len(ids):
                    child.setForeground(1, QBrush(NO_BOARD))
                top.addChild(child)
            self.views.addTopLevelItem(top)
            top.setExpanded(len(cd.keys) <= 30)
        self.views.resizeColumnToContents(0)
        self.job.set_status(det.report().replace("\n", "; ").replace(";   ", "; "))

    def _view_clicked(self, item: QTreeWidgetItem) -> None:
        data = item.data(0, Qt.ItemDataRole.UserRole)
        if data:
            self.show_view(*data)

    @reports_errors
    def show_view(self, camera: str, index: int) -> list[Any]:
        """One view's image and its detected corners (``(y, x)``, coloured by corner id)."""
        from markerless.napari.layers.pose3d import add_layers
        from markerless.pose3d.views import board_corners_yx

        det = self.detections
        cd = det.cameras[det.names.index(camera)]
        image = self._image(camera, cd.sources[index], cd.keys[index])
        yx, ids = board_corners_yx(det, camera, cd.keys[index])
        info = {"kind": KIND_CALIBRATION_VIEW, "camera": camera, "view": cd.keys[index]}
        size = max(image.shape[:2]) / 90
        layers = add_layers(self.viewer, [
            (image, {"name": "calibration view", "metadata": {META_KEY: info}}, "image"),
            (yx, {"name": "board corners", "size": size, "features": {"id": ids},
                  "face_color": "id", "face_colormap": "turbo", "border_width": 0,
                  "metadata": {META_KEY: {**info, "kind": "board_corners"}}}, "points")])
        for layer in self.viewer.layers:  # the 3D layers would share the image's axes
            if meta(layer).get("kind") not in (KIND_CALIBRATION_VIEW, "board_corners"):
                layer.visible = False
        self.viewer.dims.ndisplay = 2
        self.viewer.reset_view()
        self.job.set_status(f"{camera} {Path(cd.sources[index]).name}: "
                            + (f"{len(ids)} corners" if len(ids) else "no board found"))
        return layers

    def _image(self, camera: str, source: str, key: str) -> np.ndarray:
        source_path = Path(source)
        if source_path.is_file():
            import imageio.v3 as iio

            return np.asarray(iio.imread(source_path))
        from markerless.io.video import VideoReader

        with VideoReader(self.sources[camera], decoders=1) as reader:
            return np.asarray(reader[int(key)])

    # --- calibration --------------------------------------------------------------------------
    @reports_errors
    def calibrate(self):
        """Calibrate in a worker; the table fills when it is done (or refused)."""
        config = self._config()
        if config is None:
            return None
        return self.job.run(jobs.calibration_job, config, self.n_frames.value(),
                            self.max_error.value(), self.distortion.currentText(),
                            text="calibrating...", yielded=self._progress,
                            returned=self._calibrated)

    def _calibrated(self, result: dict) -> None:
        from markerless.pose3d.views import report_rows

        self._detected(result["detections"])
        report, err = result["report"], result["error"]
        self.set_rows(report_rows(report) if report is not None else [])
        if err is not None:
            from markerless.pose3d.errors import CalibrationError

            first = str(err).split("\n", 1)[0]  # the reason; the table says the rest
            self.job.show_error(CalibrationError(first))
            self.summary.setText("refused: calibration.toml not written")
            return
        toml = result["calibration"]
        self.summary.setText(f"median error {report.median_error:.3f} px over "
                             f"{len(report.cameras)} cameras; wrote {toml}")
        self.job.set_status("calibrated: " + "; ".join(
            f"{r['camera']} {r['boards_used']} boards, {r['error_median_px']:.2f} px"
            for r in self.report_rows))
        project3d(self.viewer).calibrated.emit(toml)

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """The per-camera table from ``markerless.pose3d.views.report_rows``."""
        self.report_rows = list(rows)
        keys = ("camera", "boards_found", "boards_used", "error_median_px", "error_p95_px",
                "outliers")
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(keys):
                value = row.get(key)
                text = (f"{value:.3f}" if isinstance(value, float) else
                        "" if value is None else str(value))
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if key == "error_median_px" and isinstance(value, float) \
                        and not value <= self.max_error.value():
                    item.setForeground(QBrush(NO_BOARD))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    @reports_errors
    def show_cameras(self) -> list[Any]:
        """The calibrated cameras (centres and frustums) in the viewer, in 3D."""
        from markerless.napari.layers.pose3d import add_layers, camera_glyph_layers, set_3d_display
        from markerless.pose3d.camera import CameraGroup
        from markerless.pose3d.project import calibration_path, read_config3d

        config = self._config()
        if config is None:
            return []
        cfg, project = read_config3d(config)
        group_ = CameraGroup.load(calibration_path(cfg, project), validate=False)
        spread = np.ptp(group_.centres(), axis=0).max() if len(group_) > 1 else 100.0
        layers = add_layers(self.viewer, camera_glyph_layers(group_, "calibration",
                                                              max(spread / 60, 1e-3)))
        for layer in self.viewer.layers:
            if meta(layer).get("kind") in (KIND_CALIBRATION_VIEW, "board_corners"):
                layer.visible = False
        set_3d_display(self.viewer)
        return layers

