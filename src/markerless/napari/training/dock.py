"""Training dock: pick a network and a few settings, train, watch the loss, see the errors.

Training runs in a worker thread (the trainer's ``iter_train`` generator), so the
window stays responsive; the loss curve is updated from the worker's progress
reports on the main thread. Stop takes effect at the next report: the trainer
saves the run where it stopped and Resume continues from that checkpoint exactly.
When a run finishes, ``evaluate_network`` scores it on the recorded train/test
split and the dock shows the errors per bodypart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from markerless.napari.forms import ask_yes_no, format_seconds, reports_errors, scroll_layout
from markerless.napari.job_panel import JobPanel
from markerless.napari.pickers import ConfigPicker, TrainingSetPicker
from markerless.napari.project_files import model_dir
from markerless.napari.session import follow_project, session, unwrap
from markerless.napari.training.jobs import evaluation_job, recorded_config, training_job
from markerless.napari.training.plots import EvaluationPlot, LossPlot


class TrainingWidget(QWidget):
    """Train a project's network from napari (DeepLabCut's train + evaluate steps)."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        from markerless.model import NET_TYPES
        from markerless.training.augment import PRESETS as AUGMENT_PRESETS
        from markerless.training.recipes import PRESETS

        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)  # napari hands plugin docks a proxy
        self.config = ConfigPicker()
        self.config.changed.connect(self._config_changed)

        self.shuffle = QSpinBox(minimum=1, maximum=999)
        self.trainset = TrainingSetPicker()
        self.recipe = QComboBox()
        self.recipe.addItems(list(PRESETS))
        self.recipe.setToolTip("Preset the settings below are taken from "
                               "(crop size, learning rate... stay the preset's)")
        self.net = QComboBox()
        self.net.addItems(list(NET_TYPES))
        self.pretrained = QCheckBox("start from ImageNet weights")
        self.iterations = QSpinBox(minimum=1, maximum=10_000_000, singleStep=100)
        self.batch_size = QSpinBox(minimum=1, maximum=512)
        self.augment = QComboBox()
        self.augment.addItems(list(AUGMENT_PRESETS))
        self.evaluate_after = QCheckBox("evaluate when training finishes")
        self.evaluate_after.setChecked(True)
        form = QFormLayout()
        form.addRow("Shuffle", self.shuffle)
        form.addRow(self.trainset.label, self.trainset)
        form.addRow("Recipe", self.recipe)
        form.addRow("Backbone", self.net)
        form.addRow("", self.pretrained)
        form.addRow("Iterations", self.iterations)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Augmentation", self.augment)
        form.addRow("", self.evaluate_after)
        settings_box = QGroupBox("Network")
        settings_box.setLayout(form)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train from scratch (an earlier run is kept in "
                                     "train/previous-<time>/)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the last run from its checkpoint")
        self.evaluate_button = QPushButton("Evaluate")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.evaluate_button.clicked.connect(lambda: self.evaluate())
        buttons = QHBoxLayout()
        for button in (self.start_button, self.resume_button, self.evaluate_button):
            buttons.addWidget(button)

        self.job = JobPanel()
        self.job.started.connect(lambda: self._set_running(True))
        self.job.stopped.connect(self._job_stopped)
        self.loss_plot = LossPlot()

        self.eval_summary = QLabel("Not evaluated yet")
        self.eval_summary.setWordWrap(True)
        self.eval_plot = EvaluationPlot()
        self.eval_table = QTableWidget(0, 4)
        self.eval_table.setHorizontalHeaderLabels(
            ["bodypart", "train px", "test px", "test PCK@5px"])
        self.eval_table.verticalHeader().setVisible(False)
        self.eval_table.setMinimumHeight(110)
        eval_box = QGroupBox("Evaluation")
        eval_layout = QVBoxLayout(eval_box)
        eval_layout.addWidget(self.eval_summary)
        eval_layout.addWidget(self.eval_plot)
        eval_layout.addWidget(self.eval_table)

        layout = scroll_layout(self)
        layout.addWidget(self.config)
        layout.addWidget(settings_box)
        layout.addLayout(buttons)
        layout.addWidget(self.job)
        layout.addWidget(self.loss_plot)
        layout.addWidget(eval_box)
        layout.addStretch(1)

        self.evaluation: dict[str, Any] | None = None
        self._last_step: int | None = None
        self._last_max: int | None = None
        self.recipe.currentTextChanged.connect(self._apply_recipe)
        self.net.currentTextChanged.connect(self._net_changed)
        self.shuffle.valueChanged.connect(lambda _: self._load_recorded())
        self.trainset.changed.connect(lambda _: self._load_recorded())
        self._apply_recipe(self.recipe.currentText())
        self._net_changed(self.net.currentText())
        follow_project(self, self.viewer)

    # --- settings ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_config(self, path: str | os.PathLike) -> None:
        """Use this project (config.yaml or its folder)."""
        self.config.set_path(path)

    def show_error(self, err: BaseException) -> None:
        """One line in the job panel (never a traceback)."""
        self.job.show_error(err)

    def settings(self) -> dict[str, Any]:
        """The per-run settings from the form (`SETTINGS` keys)."""
        return {"net_type": self.net.currentText(), "pretrained": self.pretrained.isChecked(),
                "maxiters": self.iterations.value(), "batch_size": self.batch_size.value(),
                "augment": self.augment.currentText()}  # fmt: skip

    def _net_changed(self, net: str) -> None:
        from markerless.model import SOURCES

        if net not in SOURCES:  # no ImageNet weights for this one
            self.pretrained.setChecked(False)
        self.pretrained.setEnabled(net in SOURCES)

    def _apply_recipe(self, name: str) -> None:
        from markerless.training.recipes import PRESETS

        tc = PRESETS[name]
        self._show_config(tc)

    def _show_config(self, tc: Any) -> None:
        from markerless.model import SOURCES
        from markerless.training.augment import PRESETS as AUGMENT_PRESETS

        self.net.setCurrentText(tc.net_type)
        self.pretrained.setChecked(bool(tc.pretrained) and tc.net_type in SOURCES)
        self.iterations.setValue(int(tc.maxiters))
        self.batch_size.setValue(int(tc.batch_size))
        if isinstance(tc.augment, str):
            self.augment.setCurrentText(tc.augment)
        else:
            name = next((k for k, v in AUGMENT_PRESETS.items() if v == tc.augment), None)
            if name:
                self.augment.setCurrentText(name)

    def _config_changed(self, _text: str) -> None:
        self.trainset.load(self.config.path)
        self._load_recorded()

    def _load_recorded(self) -> None:
        """Show the settings of the shuffle's existing training dataset, if any."""
        path = self.config.path
        if path is None or not path.is_file():
            return
        try:
            recorded = recorded_config(path, self.shuffle.value(), self.trainset.index)
        except Exception as err:  # noqa: BLE001 - a broken project must not break the dock
            self.job.show_error(err, "Cannot read the model settings: ")
            return
        if recorded is not None:
            from markerless.training.recipes import PRESETS

            match = next((name for name, tc in PRESETS.items()  # the preset it was made from
                          if (tc.crop_size, tc.lr, tc.stride) ==
                          (recorded.crop_size, recorded.lr, recorded.stride)), None)  # fmt: skip
            if match is not None:
                self.recipe.blockSignals(True)
                self.recipe.setCurrentText(match)
                self.recipe.blockSignals(False)
            self._show_config(recorded)

    # --- actions ----------------------------------------------------------------------
    def _checked_config(self) -> Path | None:
        path = self.config.path
        if path is None or not path.is_file():
            self.job.set_status("Choose the project's config.yaml first", error=True)
            return None
        return path

    @reports_errors
    def start(self, resume: bool = False):
        """Start (or resume) training in a worker; returns the worker (None if refused)."""
        config = self._checked_config()
        if config is None or self.busy:
            return None
        shuffle, index = self.shuffle.value(), self.trainset.index
        train_dir = model_dir(config, shuffle, index) / "train"
        if resume and not (train_dir / "train_state.msgpack").is_file():
            self.job.set_status(f"Nothing to resume in {train_dir}: press Start", error=True)
            return None
        if not resume and list(train_dir.glob("snapshot-*.msgpack")) and not ask_yes_no(
            self, "Train again?", "This model already has snapshots. Start a new run? "
            "(The old snapshots are moved to train/previous-<time>/.)"):
            return None
        maxiters = self.iterations.value()
        if not resume:
            self.loss_plot.reset()
        self._last_step = None
        return self.job.run(
            training_job, config, shuffle, trainingsetindex=index, resume=resume,
            recipe=self.recipe.currentText(),
            settings=self.settings(), displayiters=max(1, min(100, maxiters // 50)),
            evaluate=self.evaluate_after.isChecked(),
            text="Resuming..." if resume else "Starting...",
            yielded=self._on_progress, returned=self._on_done,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop at the next progress report (the run is saved; Resume continues it)."""
        self.job.stop()

    @reports_errors
    def evaluate(self):
        config = self._checked_config()
        if config is None:
            return None
        return self.job.run(evaluation_job, config, self.shuffle.value(), self.trainset.index,
                            text="Evaluating...", yielded=self._on_progress,
                            returned=self._on_done)  # fmt: skip

    # --- main-thread slots ------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        for button in (self.start_button, self.resume_button, self.evaluate_button):
            button.setEnabled(not running)

    def _on_progress(self, info: dict[str, Any]) -> None:
        if info.get("stage") != "train":
            self.job.progress.setRange(0, 0)
            self.job.set_status(info.get("text", ""))
            return
        self._last_step = int(info["step"])
        self._last_max = int(info["maxiters"])
        self.loss_plot.add(info["step"], info["loss"])
        rate = info.get("images_per_s")
        text = (f"step {info['step']}/{info['maxiters']}   loss {info['loss']:.4g}   "
                f"{rate:.1f} img/s   ETA {format_seconds(info.get('eta_s'))}"
                if rate == rate else f"step {info['step']}/{info['maxiters']}   "
                f"loss {info['loss']:.4g}")  # fmt: skip
        self.job.set_progress(info["step"], info["maxiters"], text)

    def _on_done(self, result: dict[str, Any] | None) -> None:
        result = result or {}
        if result.get("evaluation") is not None:
            self.show_evaluation(result["evaluation"])
        step = result.get("step") or self._last_step
        if step is not None:
            self.job.set_progress(step, self._last_max or step)
            self.job.set_status(f"Finished at step {step}" + (
                f": test error {self.evaluation['summary'][' Test error(px)']:.2f} px"
                if self.evaluation and result.get("evaluation") else ""))
        elif result.get("evaluation") is not None:
            self.job.set_status(f"Evaluated step {result['evaluation']['step']}")

    def _job_stopped(self) -> None:
        self._set_running(False)
        session(self.viewer).models_changed.emit()  # finished or stopped: new snapshots
        if self.job.was_stopped and self._last_step is not None:
            self.job.set_status(f"Stopped at step {self._last_step}: the run is saved, "
                                "Resume continues from there")  # fmt: skip

    def show_evaluation(self, evaluation: dict[str, Any]) -> None:
        """Summary line, per-bodypart bars and table from `evaluation_summary`."""
        self.evaluation = evaluation
        row = evaluation["summary"]
        text = (f"Step {evaluation['step']}: train {row[' Train error(px)']:.2f} px, "
                f"test {row[' Test error(px)']:.2f} px")  # fmt: skip
        cut = (row.get("Train error with p-cutoff"), row.get("Test error with p-cutoff"))
        if all(v is not None and v == v for v in cut):
            text += f"; above p-cutoff {row['p-cutoff used']:g}: {cut[0]:.2f} / {cut[1]:.2f} px"
        self.eval_summary.setText(text)
        table = evaluation.get("table")
        if table is None:
            self.eval_table.setRowCount(0)
            return
        self.eval_plot.show_table(table)
        names = list(dict.fromkeys(table.index.get_level_values(1)))
        self.eval_table.setRowCount(len(names))
        for r, name in enumerate(names):
            values = [name]
            for key, col in (("train", "error_px"), ("test", "error_px"), ("test", "pck@5px")):
                try:
                    values.append(f"{float(table.loc[(key, name), col]):.2f}")
                except KeyError:
                    values.append("")
            for c, value in enumerate(values):
                self.eval_table.setItem(r, c, QTableWidgetItem(value))
        self.eval_table.resizeColumnsToContents()
