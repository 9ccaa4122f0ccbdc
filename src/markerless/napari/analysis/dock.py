"""Analysis dock: analyse videos with a trained snapshot, then look at the predictions.

Analysis runs in a worker (``iter_analyze``); each finished video is shown as
its Image layer (the lazy video reader), the predictions as a Points layer on
video frame indices and the trajectories as a Tracks layer (one track per
individual x bodypart), all coloured by bodypart with the project's colormap.
The pcutoff slider hides predictions below it (Points ``shown``, Tracks data).
The Export section (export_panel.py) exports the chosen model, writes NWB and
analyses with an exported model folder, through the same job panel.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from markerless.napari.analysis.export_panel import ExportPanel
from markerless.napari.analysis.jobs import analysis_job
from markerless.napari.forms import format_seconds, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.layers.predictions import (
    PredictionLayers,
    add_prediction_layers,
    apply_pcutoff,
)
from markerless.napari.pickers import ConfigPicker, TrainingSetPicker
from markerless.napari.project_files import find_analysis, model_dir, project_videos
from markerless.napari.session import connect_alive, follow_project, session, unwrap

#: the Inference choice: DeepLabCut's ``dynamic`` values (None: by the model)
INFERENCE_CHOICES = [
    ("by the model (two-stage when trained on crops)", None),
    ("two-stage: find the animal, then a crop", (True, 0.5, 10)),
    ("whole frames", (False, 0.5, 10)),
]
INFERENCE_HELP = ("Two-stage inference analyses a crop around the animal at full resolution "
                  "and finds the animal again when it is lost (DeepLabCut's dynamic "
                  "cropping); whole frames analyse every pixel of every frame")


class AnalysisWidget(QWidget):
    """Analyse a project's videos and browse the predictions with a pcutoff slider."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)  # napari hands plugin docks a proxy
        self.results: dict[str, PredictionLayers] = {}
        self.config = ConfigPicker()
        self.config.changed.connect(lambda _: self.refresh())

        self.videos = QListWidget()
        self.videos.setMinimumHeight(60)
        self.videos.setMaximumHeight(120)
        add_button = QPushButton("Add videos...")
        add_button.clicked.connect(self._browse_videos)
        self.shuffle = QSpinBox(minimum=1, maximum=999)
        self.shuffle.valueChanged.connect(lambda _: self.refresh_snapshots())
        self.trainset = TrainingSetPicker()
        self.trainset.changed.connect(lambda _: self.refresh_snapshots())
        self.snapshot = QComboBox()
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh())
        snap_row = QHBoxLayout()
        snap_row.addWidget(self.snapshot, 1)
        snap_row.addWidget(refresh)
        self.redo = QCheckBox("analyse again when results exist")
        self.inference = QComboBox()
        for text, value in INFERENCE_CHOICES:
            self.inference.addItem(text, value)
        self.inference.setToolTip(INFERENCE_HELP)
        self.batch = QComboBox()
        self.batch.addItems(["config.yaml", "auto", "1", "2", "4", "8", "16", "32", "64"])
        self.batch.setToolTip("Frames per network call: config.yaml's batch_size, or 'auto' "
                              "to time a few sizes on the first video and use the fastest")
        form = QFormLayout()
        form.addRow("Shuffle", self.shuffle)
        form.addRow(self.trainset.label, self.trainset)
        form.addRow("Snapshot", snap_row)
        form.addRow("Inference", self.inference)
        form.addRow("Batch size", self.batch)
        form.addRow("", self.redo)

        self.analyze_button = QPushButton("Analyse")
        self.analyze_button.clicked.connect(lambda: self.analyze())
        self.show_button = QPushButton("Show results")
        self.show_button.setToolTip("Open the existing results of the checked videos")
        self.show_button.clicked.connect(lambda: self.show_existing())
        buttons = QHBoxLayout()
        buttons.addWidget(self.analyze_button)
        buttons.addWidget(self.show_button)
        self.job = JobPanel()
        self.job.started.connect(lambda: self.analyze_button.setEnabled(False))
        self.job.stopped.connect(lambda: self.analyze_button.setEnabled(True))

        self.pcutoff = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.pcutoff.setRange(0.0, 1.0)
        self.pcutoff.setSingleStep(0.01)
        self.pcutoff.setValue(0.6)
        self.pcutoff.valueChanged.connect(self.set_pcutoff)
        # rebuilding long tracks takes a moment: do it when the slider rests
        self._tracks_timer = QTimer(self)
        self._tracks_timer.setSingleShot(True)
        self._tracks_timer.setInterval(150)
        self._tracks_timer.timeout.connect(self._update_tracks)
        cutoff = QFormLayout()
        cutoff.addRow("pcutoff", self.pcutoff)

        layout = scroll_layout(self)
        layout.addWidget(self.config)
        layout.addWidget(self.videos)
        layout.addWidget(add_button)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.job)
        layout.addLayout(cutoff)
        self.export = ExportPanel(self)
        layout.addWidget(self.export)
        layout.addStretch(1)
        follow_project(self, self.viewer)
        # a run in the Training dock ended: offer its snapshots (the newest is selected)
        connect_alive(self, session(self.viewer).models_changed, self.refresh_snapshots)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        self.config.set_path(path)

    def show_error(self, err: BaseException) -> None:
        """One line in the job panel (never a traceback)."""
        self.job.show_error(err)

    # --- project contents ---------------------------------------------------------------
    @reports_errors
    def refresh(self) -> None:
        """Re-read the project's videos, training fractions, snapshots and pcutoff."""
        config = self.config.path
        self.trainset.load(config)
        if config is None or not config.is_file():
            return
        from markerless.io.config import read_config

        try:
            cfg = read_config(config)
            videos = project_videos(config)
        except Exception as err:  # noqa: BLE001 - show, don't crash the dock
            self.job.show_error(err, f"Cannot read {config}: ")
            return
        self.pcutoff.setValue(float(cfg.get("pcutoff") or 0.6))
        for video in videos:
            self.add_video(video)
        self.refresh_snapshots()

    def refresh_snapshots(self) -> None:
        from markerless.training.snapshots import list_snapshots, snapshot_step

        self.snapshot.clear()
        config = self.config.path
        if config is None or not config.is_file():
            return
        try:
            snaps = list_snapshots(model_dir(config, self.shuffle.value(), self.trainset.index))
        except Exception:  # noqa: BLE001 - no TrainingFraction yet, etc.
            snaps = []
        for n, snap in enumerate(snaps):
            self.snapshot.addItem(f"step {snapshot_step(snap)} ({snap.name})", n)
        if snaps:
            self.snapshot.setCurrentIndex(len(snaps) - 1)

    def add_video(self, path: str | os.PathLike, checked: bool = True) -> None:
        path = str(Path(path))
        for row in range(self.videos.count()):
            if self.videos.item(row).data(Qt.ItemDataRole.UserRole) == path:
                return
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.videos.addItem(item)

    def checked_videos(self) -> list[Path]:
        return [Path(self.videos.item(r).data(Qt.ItemDataRole.UserRole))
                for r in range(self.videos.count())
                if self.videos.item(r).checkState() == Qt.CheckState.Checked]

    def _browse_videos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Videos", "",
                                                "Videos (*.mp4 *.avi *.mov *.mkv);;All (*)")
        for path in paths:
            self.add_video(path)

    # --- actions ------------------------------------------------------------------------
    @reports_errors
    def analyze(self):
        """Analyse the checked videos in a worker; returns the worker (None if refused)."""
        config = self.config.path
        videos = self.checked_videos()
        if config is None or not config.is_file() or not videos:
            self.job.set_status("Choose a project and check at least one video", error=True)
            return None
        index = self.snapshot.currentData()
        batch = self.batch.currentText()
        return self.job.run(analysis_job, config, videos, self.shuffle.value(),
                            None if index is None else int(index), self.redo.isChecked(),
                            trainingsetindex=self.trainset.index,
                            dynamic=self.inference.currentData(),
                            batch_size={"config.yaml": None, "auto": "auto"}.get(
                                batch, None if not batch.isdigit() else int(batch)),
                            text="Loading the model...",
                            yielded=self.show_progress)  # fmt: skip

    @reports_errors
    def show_existing(self) -> None:
        """Show the results already on disk for the checked videos."""
        config = self.config.path
        missing = []
        for video in self.checked_videos():
            found = (find_analysis(config, video, self.shuffle.value(),
                                   trainingsetindex=self.trainset.index) if config else None)
            if found is None:
                missing.append(video.name)
            else:
                self.show_results(video, found)
        if missing:
            self.job.set_status(f"No results yet for {', '.join(missing)}: Analyse first",
                                error=True)  # fmt: skip

    def show_results(self, video: str | os.PathLike | None, analysis: str | os.PathLike):
        """Add (or update) the layers of one analysis file."""
        colormap = "rainbow"
        config = self.config.path
        if config is not None and config.is_file():
            from markerless.io.config import read_config

            colormap = str(read_config(config).get("colormap") or "rainbow")
        layers = add_prediction_layers(self.viewer, video, analysis, self.pcutoff.value(),
                                       colormap)  # fmt: skip
        self.results[str(analysis)] = layers
        return layers

    def _live_results(self) -> list[PredictionLayers]:
        """The results whose layers are still in the viewer (forget the others)."""
        for key, layers in list(self.results.items()):
            if layers.points not in self.viewer.layers:
                del self.results[key]
        return list(self.results.values())

    def set_pcutoff(self, value: float) -> None:
        """Hide points below ``value`` now; trim the tracks once the slider rests."""
        for layers in self._live_results():
            apply_pcutoff(layers, float(value), tracks=False)
        self._tracks_timer.start()

    def _update_tracks(self) -> None:
        for layers in self._live_results():
            if layers.tracks in self.viewer.layers:
                apply_pcutoff(layers, self.pcutoff.value())

    @property
    def tracks_pending(self) -> bool:
        """True until the tracks follow the last pcutoff change."""
        return self._tracks_timer.isActive()

    def show_progress(self, ev: dict) -> None:
        """An analysis progress event: the progress bar, and the results once done."""
        if ev["status"] == "loading":
            return
        name = Path(ev["video"]).name
        if ev["status"] == "info":  # e.g. the batch size chosen by measurement
            self.job.set_status(f"{name}: {ev['message']}")
            return
        if ev["status"] == "skipped":
            self.job.set_status(f"{name}: already analysed (check 'analyse again' to redo)")
        else:
            fps = (f"{ev['fps']:.0f} frames/s, ETA {format_seconds(ev['eta_s'])}"
                   if ev["fps"] else "")  # fmt: skip
            self.job.set_progress(ev["frames_done"], ev["n_frames"],
                                  f"{name}: {ev['frames_done']}/{ev['n_frames']} frames {fps}")
        if ev["status"] in ("done", "skipped") and ev.get("output"):
            self.show_results(ev["video"], ev["output"])
            if ev["status"] == "done":
                self.job.set_status(f"{name}: done -> {Path(ev['output']).name}")
