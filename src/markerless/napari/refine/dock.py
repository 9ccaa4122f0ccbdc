"""Refine and results dock: outliers -> corrected labels -> next iteration; filtered
predictions, labeled videos and trajectory plots.

Long steps (outlier extraction, filtering, labeled videos, building the plots)
run in workers with progress in the dock's job panel; saving corrections and
merging datasets are quick file operations done at once. A save that would move
points already in ``CollectedData`` asks first (default: no).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from markerless.napari.forms import ask_yes_no, button, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.layers.lookup import meta
from markerless.napari.pickers import ConfigPicker, TrainingSetPicker
from markerless.napari.plots import FigureStack
from markerless.napari.project_files import find_analysis, project_videos
from markerless.napari.refine import jobs
from markerless.napari.session import follow_project, unwrap


class RefineWidget(QWidget):
    """Extract outliers, correct and save machine labels, merge; filter, draw, plot."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        from markerless.postprocessing.filtering import FILTER_TYPES

        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)  # napari hands plugin docks a proxy
        #: asked before a save that changes existing labels; replaceable (tests, scripts).
        self.confirm = lambda title, text: ask_yes_no(self, title, text)
        self.config = ConfigPicker()
        self.config.changed.connect(lambda _: self.refresh())
        self.video = QComboBox()
        self.video.setMinimumContentsLength(12)
        browse = button("Add...", self._browse_video)
        self.shuffle = QSpinBox(minimum=1, maximum=999)
        self.trainset = TrainingSetPicker()
        top = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.video, 1)
        row.addWidget(browse)
        top.addRow("Video", row)
        top.addRow("Shuffle", self.shuffle)
        top.addRow(self.trainset.label, self.trainset)

        # --- refine tab ---
        self.algorithm = QComboBox()
        self.algorithm.addItems(["jump", "uncertain", "fitting"])
        self.epsilon = QDoubleSpinBox(minimum=0, maximum=10_000, value=20, suffix=" px")
        self.p_bound = QDoubleSpinBox(minimum=0, maximum=1, singleStep=0.01, value=0.01,
                                      decimals=3)  # fmt: skip
        self.numframes = QSpinBox(minimum=1, maximum=10_000, value=20)
        self.extraction = QComboBox()
        self.extraction.addItems(["kmeans", "uniform"])
        form = QFormLayout()
        form.addRow("Algorithm", self.algorithm)
        form.addRow("epsilon", self.epsilon)
        form.addRow("p_bound", self.p_bound)
        form.addRow("Frames to pick", self.numframes)
        form.addRow("Pick by", self.extraction)
        outliers = QGroupBox("Outlier frames")
        outliers_layout = QVBoxLayout(outliers)
        outliers_layout.addLayout(form)
        outliers_layout.addWidget(button("Extract outlier frames", self.extract_outliers))
        outliers_layout.addWidget(button("Open machine labels", self.open_machine_labels,
                                          "The latest machinelabels file of the video"))
        self.drop_low = QCheckBox("leave out untouched guesses below pcutoff")
        self.drop_low.setChecked(True)
        corrections = QGroupBox("Corrections")
        corr_layout = QVBoxLayout(corrections)
        corr_layout.addWidget(self.drop_low)
        corr_layout.addWidget(button("Save corrections", self.save_corrections,
                                      "Merge the machine labels layer into CollectedData"))
        corr_layout.addWidget(button("Merge datasets", self.merge,
                                      "Next iteration, once every folder is labeled or refined"))
        refine_tab = QWidget()
        refine_layout = QVBoxLayout(refine_tab)
        refine_layout.addWidget(outliers)
        refine_layout.addWidget(corrections)
        refine_layout.addStretch(1)

        # --- results tab ---
        self.filtertype = QComboBox()
        self.filtertype.addItems(list(FILTER_TYPES))
        self.windowlength = QSpinBox(minimum=1, maximum=999, value=5, singleStep=2)
        self.filter_p_bound = QDoubleSpinBox(minimum=0, maximum=1, singleStep=0.01, value=0.001,
                                             decimals=3)  # fmt: skip
        filt_form = QFormLayout()
        filt_form.addRow("Filter", self.filtertype)
        filt_form.addRow("Window", self.windowlength)
        filt_form.addRow("p_bound", self.filter_p_bound)
        filt_box = QGroupBox("Filter predictions")
        filt_layout = QVBoxLayout(filt_box)
        filt_layout.addLayout(filt_form)
        filt_layout.addWidget(button("Filter", self.filter_predictions))
        self.use_filtered = QCheckBox("use filtered predictions")
        self.trailpoints = QSpinBox(minimum=0, maximum=1000)
        self.skeleton = QCheckBox("draw skeleton")
        video_form = QFormLayout()
        video_form.addRow("Trail (frames)", self.trailpoints)
        video_form.addRow("", self.skeleton)
        video_box = QGroupBox("Labeled video and plots")
        video_layout = QVBoxLayout(video_box)
        video_layout.addWidget(self.use_filtered)
        video_layout.addLayout(video_form)
        video_layout.addWidget(button("Create labeled video", self.labeled_video))
        video_layout.addWidget(button("Show plots", self.show_plots))
        self.figures = FigureStack()
        self.figures.setMinimumHeight(260)
        results_tab = QWidget()
        results_layout = QVBoxLayout(results_tab)
        results_layout.addWidget(filt_box)
        results_layout.addWidget(video_box)
        results_layout.addWidget(self.figures, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(refine_tab, "Refine labels")
        self.tabs.addTab(results_tab, "Results")
        self.job = JobPanel()
        layout = scroll_layout(self)
        layout.addWidget(self.config)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.job)
        self.last_result: Any = None
        follow_project(self, self.viewer)

    # --- project ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        self.config.set_path(path)

    def show_error(self, err: BaseException) -> None:
        """One line in the job panel (never a traceback)."""
        self.job.show_error(err)

    def _cfg(self) -> Any:
        from markerless.io.config import read_config

        return read_config(self.config.path)

    @reports_errors
    def refresh(self) -> None:
        config = self.config.path
        self.trainset.load(config)
        if config is None or not config.is_file():
            return
        try:
            cfg = self._cfg()
            videos = project_videos(config)
        except Exception as err:  # noqa: BLE001 - show, don't crash the dock
            self.job.show_error(err, f"Cannot read {config}: ")
            return
        self.numframes.setValue(int(cfg.get("numframes2pick") or 20))
        for video in videos:
            self.add_video(video)

    def add_video(self, path: str | os.PathLike) -> None:
        path = str(Path(path))
        if self.video.findData(path) < 0:
            self.video.addItem(Path(path).name, path)
        self.video.setCurrentIndex(self.video.findData(path))

    def _browse_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Video", "",
                                              "Videos (*.mp4 *.avi *.mov *.mkv);;All (*)")
        if path:
            self.add_video(path)

    def _inputs(self, filtered: bool = False) -> tuple[Path, Path, Path] | None:
        """``(config, video, analysis file)`` or None (with the reason in the status line)."""
        config = self.config.path
        video = self.video.currentData()
        if config is None or not config.is_file() or not video:
            self.job.set_status("Choose a project and a video first", error=True)
            return None
        analysis = find_analysis(config, video, self.shuffle.value(), filtered,
                                 self.trainset.index)  # fmt: skip
        if analysis is None:
            what = ("filtered predictions: Filter first" if filtered
                    else "results: analyse it first")  # fmt: skip
            self.job.set_status(f"{Path(video).name} has no {what}", error=True)
            return None
        return config, Path(video), analysis

    def _model(self) -> tuple[int, int]:
        """``(shuffle, trainingsetindex)`` of the model whose outputs the jobs use."""
        return self.shuffle.value(), self.trainset.index

    # --- refine -------------------------------------------------------------------------
    @reports_errors
    def extract_outliers(self):
        inputs = self._inputs()
        if inputs is None:
            return None
        params = {"outlieralgorithm": self.algorithm.currentText(),
                  "epsilon": self.epsilon.value(), "p_bound": self.p_bound.value(),
                  "numframes2pick": self.numframes.value(),
                  "extractionalgo": self.extraction.currentText()}  # fmt: skip
        return self.job.run(jobs.outliers_job, *inputs, *self._model(), **params,
                            text="Finding outliers...", yielded=self._text,
                            returned=self._outliers_done)  # fmt: skip

    def _outliers_done(self, result: dict) -> None:
        self.last_result = result
        if not result["frames"]:
            self.job.set_status("No new outlier frames (all candidates are labeled already)")
            return
        self.open_machine_labels(result["folder"])
        self.job.set_status(f"{len(result['frames'])} outlier frames: correct the machine labels "
                            "(diamonds), then Save corrections")  # fmt: skip

    @reports_errors
    def open_machine_labels(self, folder: str | os.PathLike | None = None) -> list[Any]:
        """Add the outlier frames and their machine labels (replacing older layers of them)."""
        config = self.config.path
        if folder is None:
            video = self.video.currentData()
            if config is None or not video:
                self.job.set_status("Choose a project and a video first", error=True)
                return []
            folder = config.parent / "labeled-data" / Path(video).stem
        cfg = self._cfg()
        try:
            layer_data = jobs.machine_layers(config, folder, str(cfg.get("colormap") or "rainbow"),
                                             float(cfg.get("dotsize") or 8))  # fmt: skip
        except Exception as err:  # noqa: BLE001 - show the reason (no file, missing frames)
            self.job.show_error(err)
            return []
        layers = []
        for data, kwargs, kind in layer_data:
            if kwargs["name"] in self.viewer.layers:
                self.viewer.layers.remove(kwargs["name"])
            layers.append(getattr(self.viewer, f"add_{kind}")(data, **kwargs))
        self.viewer.layers.selection.active = layers[-1]
        self.viewer.dims.set_current_step(0, 0)
        return layers

    def _machine_layer(self) -> Any:
        active = self.viewer.layers.selection.active
        layers = [ly for ly in self.viewer.layers if meta(ly).get("kind") == "machine"]
        if active in layers:
            return active
        video = self.video.currentData()
        named = [ly for ly in layers if video and ly.name.endswith(" " + Path(video).stem)]
        return (named or layers or [None])[-1]

    @reports_errors
    def save_corrections(self) -> Path | None:
        """Merge the machine-labels layer into CollectedData; the file, or None if not saved."""
        from markerless.postprocessing.refine import refine_labels

        layer = self._machine_layer()
        if layer is None:
            self.job.set_status("No machine labels layer: extract or open them first", error=True)
            return None
        config = self.config.path
        folder = Path(meta(layer)["folder"])
        poses = jobs.corrections(layer)
        dropped = (jobs.drop_unchecked(poses, float(self._cfg().get("pcutoff") or 0.6))
                   if self.drop_low.isChecked() else 0)  # fmt: skip
        conflicts = jobs.label_conflicts(config, folder, poses)
        if conflicts and not self.confirm(
            "Overwrite labels?", f"{len(conflicts)} labels already in CollectedData would move "
            f"(e.g. {', '.join(conflicts[:3])}). Overwrite them?"):
            self.job.set_status("Not saved: existing labels left as they were")
            return None
        path = refine_labels(config, folder, poses)
        self.job.set_status(f"Saved {poses.n_frames} frames to {Path(path).name}"
                            + (f" ({dropped} unchecked guesses below pcutoff left out)"
                               if dropped else ""))  # fmt: skip
        return Path(path)

    @reports_errors
    def merge(self) -> int | None:
        """``merge_datasets``: the next iteration, or None with the folders still to do."""
        from markerless.postprocessing.refine import merge_datasets

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            new = merge_datasets(self.config.path)
        if new is None:
            self.job.set_status("; ".join(str(w.message) for w in caught) or "Not merged",
                                error=True)  # fmt: skip
        else:
            self.job.set_status(f"Merged: the project is at iteration {new}; create a training "
                                "dataset and train again")  # fmt: skip
        return new

    # --- results ------------------------------------------------------------------------
    @reports_errors
    def filter_predictions(self):
        inputs = self._inputs()
        if inputs is None:
            return None
        params = {"filtertype": self.filtertype.currentText(),
                  "windowlength": self.windowlength.value(),
                  "p_bound": self.filter_p_bound.value()}  # fmt: skip
        return self.job.run(jobs.filter_job, *inputs, *self._model(), **params,
                            text="Filtering...", yielded=self._text,
                            returned=self._filtered)  # fmt: skip

    def _filtered(self, result: dict) -> None:
        from markerless.napari.layers.predictions import add_prediction_layers

        self.last_result = result
        cfg = self._cfg()
        add_prediction_layers(self.viewer, result["video"], result["filtered"],
                              float(cfg.get("pcutoff") or 0.6),
                              str(cfg.get("colormap") or "rainbow"))
        self.use_filtered.setChecked(True)
        self.job.set_status(f"Filtered -> {Path(result['filtered']).name}")

    @reports_errors
    def labeled_video(self):
        inputs = self._inputs(self.use_filtered.isChecked())
        if inputs is None:
            return None
        params = {"filtered": self.use_filtered.isChecked(),
                  "trailpoints": self.trailpoints.value(),
                  "draw_skeleton": self.skeleton.isChecked()}  # fmt: skip
        return self.job.run(jobs.labeled_video_job, *inputs, *self._model(), **params,
                            text="Drawing...", yielded=self._video_progress)  # fmt: skip

    def _video_progress(self, ev: dict) -> None:
        name = Path(ev["output"]).name
        if ev["status"] == "done":
            self.last_result = ev
            self.job.set_progress(ev["frames_done"], ev["n_frames"], f"Wrote {name}")
        else:
            self.job.set_progress(ev["frames_done"], ev["n_frames"],
                                  f"{name}: {ev['frames_done']}/{ev['n_frames']} frames")

    @reports_errors
    def show_plots(self):
        inputs = self._inputs(self.use_filtered.isChecked())
        if inputs is None:
            return None
        from markerless.io.video import probe_video

        _, video, analysis = inputs
        cfg = self._cfg()
        try:
            info = probe_video(video)
            size = (info.width, info.height)
        except Exception:  # noqa: BLE001 - plots do not need the video itself
            size = None
        return self.job.run(jobs.plots_job, analysis, float(cfg.get("pcutoff") or 0.6),
                            str(cfg.get("colormap") or "rainbow"), size, text="Plotting...",
                            returned=self._plots_done)  # fmt: skip

    def _plots_done(self, figures: dict) -> None:
        self.figures.set_figures(figures)
        self.job.set_status(f"{len(figures)} figures: pick one above")

    def _text(self, info: dict) -> None:
        self.job.set_status(info.get("text", ""))
