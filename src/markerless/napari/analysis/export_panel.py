"""The Analysis dock's Export section: the model's files, NWB, and a shared model folder.

* **Export model** writes the dock's chosen model (shuffle, training fraction, snapshot)
  as ``exported-models/<scorer>/`` (``export_model``: StableHLO and/or ONNX);
* **Write NWB** writes each checked video's analysis file as NWB (``export_nwb``);
* **Analyse with it** analyses the checked videos with an exported folder, e.g. one a
  colleague shared (``analyze_with_model``), and shows the results like Analyse does.

Every job runs in the dock's job panel (its progress bar, status line and errors); the
files written are listed, with buttons to copy a path and open its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qtpy.QtCore import QUrl
from qtpy.QtGui import QDesktopServices, QGuiApplication
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from markerless.napari.analysis.jobs import analyze_with_job, export_job, nwb_job
from markerless.napari.forms import button, hbox, reports_errors

if TYPE_CHECKING:
    from markerless.napari.analysis.dock import AnalysisWidget

#: the export formats offered, as (export_model's name, label)
FORMATS = (("stablehlo", "StableHLO"), ("onnx", "ONNX"))
#: analyze_with_model's backends, as (name, label)
BACKENDS = (("xla", "StableHLO (XLA)"), ("onnx", "ONNX Runtime"))


def folder_of(path: str | Path) -> Path:
    """``path`` when it is a folder (an exported model), else the folder holding it."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def open_folder(folder: Path) -> bool:
    """Open ``folder`` in the desktop's file manager (False when that failed)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ExportPanel(QGroupBox):
    """Export section of ``dock``; it reads the dock's project, model choice and videos."""

    def __init__(self, dock: AnalysisWidget, parent: QWidget | None = None):
        super().__init__("Export", parent)
        self.dock = dock
        self.format_boxes = {name: QCheckBox(label) for name, label in FORMATS}
        for box in self.format_boxes.values():
            box.setChecked(True)
        self.export_button = button("Export model", self.export_model,
                                    "Write the chosen snapshot to exported-models/<scorer>/")
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("subject id (optional)")
        self.nwb_button = button("Write NWB", self.write_nwb,
                                 "Write <analysis>.nwb next to each checked video's results")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("exported model folder")
        self.backend = QComboBox()
        for name, label in BACKENDS:
            self.backend.addItem(label, name)
        self.analyze_button = button("Analyse with it", self.analyze_with,
                                     "Analyse the checked videos with this exported model")
        self.written = QListWidget()
        self.written.setMaximumHeight(90)
        self.written.setToolTip("Files written by this section (newest last)")
        layout = QFormLayout(self)
        layout.addRow("Model files", hbox(*self.format_boxes.values(), self.export_button))
        layout.addRow("NWB", hbox(self.subject, self.nwb_button))
        browse = button("Browse...", self._browse_folder)
        layout.addRow("Exported model", hbox(self.folder, browse))
        layout.addRow("", hbox(self.backend, self.analyze_button))
        layout.addRow("Written", self.written)
        layout.addRow("", hbox(button("Copy path", self.copy_path),
                               button("Open folder", self.open_selected)))
        dock.job.started.connect(lambda: self._enable(False))
        dock.job.stopped.connect(lambda: self._enable(True))

    def show_error(self, err: BaseException) -> None:
        self.dock.show_error(err)

    def _enable(self, on: bool) -> None:
        for b in (self.export_button, self.nwb_button, self.analyze_button):
            b.setEnabled(on)

    def _project(self) -> Path | None:
        config = self.dock.config.path
        if config is None or not config.is_file():
            self.dock.job.set_status("Choose a project first", error=True)
            return None
        return config

    def formats(self) -> list[str]:
        """The checked formats (export_model's names)."""
        return [name for name, box in self.format_boxes.items() if box.isChecked()]

    # --- actions ------------------------------------------------------------------------
    @reports_errors
    def export_model(self):
        """Export the dock's chosen snapshot in a worker; returns it (None if refused)."""
        config = self._project()
        formats = self.formats()
        index = self.dock.snapshot.currentData()
        if config is None:
            return None
        if not formats:
            self.dock.job.set_status("Check StableHLO and/or ONNX to export", error=True)
            return None
        if index is None:
            self.dock.job.set_status("No snapshot to export: train this model first", error=True)
            return None
        names = " + ".join(label for name, label in FORMATS if name in formats)
        worker = self.dock.job.run(export_job, config, self.dock.shuffle.value(), int(index),
                                   formats, trainingsetindex=self.dock.trainset.index,
                                   text=f"Exporting {self.dock.snapshot.currentText()} as "
                                        f"{names} (compiling: this takes a while)...",
                                   returned=self._exported)  # fmt: skip
        if worker is not None:  # one export_model call: it cannot stop midway
            self.dock.job.stop_button.setEnabled(False)
        return worker

    def _exported(self, folder: str) -> None:
        self.add_written(folder)
        self.folder.setText(folder)
        self.dock.job.set_status(f"Exported -> {folder}")

    @reports_errors
    def write_nwb(self):
        """Write NWB for the checked videos' results in a worker (None if refused)."""
        config = self._project()
        videos = self.dock.checked_videos()
        if config is None:
            return None
        if not videos:
            self.dock.job.set_status("Check at least one analysed video", error=True)
            return None
        return self.dock.job.run(nwb_job, config, videos, self.dock.shuffle.value(),
                                 trainingsetindex=self.dock.trainset.index,
                                 subject=self.subject.text().strip() or None,
                                 text="Writing NWB...", yielded=self._nwb_progress,
                                 returned=self._nwb_done)  # fmt: skip

    def _nwb_progress(self, ev: dict) -> None:
        name = Path(ev["video"]).name
        self.dock.job.set_progress(ev["done"], ev["total"], f"{name}: writing NWB...")
        if ev["status"] == "done":
            self.add_written(ev["output"])

    def _nwb_done(self, summary: dict | None) -> None:
        if summary is None:  # stopped
            return
        written, missing = summary["written"], summary["missing"]
        text = f"Wrote {len(written)} NWB file{'s' if len(written) != 1 else ''}"
        if len(written) == 1:
            text = f"Wrote {written[0]}"
        if missing:
            names = ", ".join(Path(v).name for v in missing)
            self.dock.job.set_status(f"{text}; no results yet for {names}: Analyse first",
                                     error=True)  # fmt: skip
        else:
            self.dock.job.set_status(text)

    @reports_errors
    def analyze_with(self):
        """Analyse the checked videos with the exported folder (None if refused)."""
        from markerless.export.runtime import read_exported_cfg

        text = self.folder.text().strip()
        videos = self.dock.checked_videos()
        if not text or not videos:
            self.dock.job.set_status("Choose an exported model folder and check at least one "
                                     "video", error=True)  # fmt: skip
            return None
        read_exported_cfg(text)  # not a model folder: say so now, not from the worker
        return self.dock.job.run(analyze_with_job, text, videos, self.backend.currentData(),
                                 self.dock.redo.isChecked(), text="Loading the exported model...",
                                 yielded=self.dock.show_progress)  # fmt: skip

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Exported model folder",
                                                  self.folder.text())  # fmt: skip
        if folder:
            self.folder.setText(folder)

    # --- written files ------------------------------------------------------------------
    def add_written(self, path: str | Path) -> None:
        """List ``path`` (once, newest last) and select it."""
        path = str(path)
        for row in range(self.written.count()):
            if self.written.item(row).text() == path:
                self.written.takeItem(row)
                break
        item = QListWidgetItem(path)
        item.setToolTip(path)
        self.written.addItem(item)
        self.written.setCurrentItem(item)

    def selected_path(self) -> str | None:
        item = self.written.currentItem()
        return item.text() if item is not None else None

    def copy_path(self) -> None:
        path = self.selected_path()
        if path is not None:
            QGuiApplication.clipboard().setText(path)
            self.dock.job.set_status(f"Copied {path}")

    def open_selected(self) -> None:
        path = self.selected_path()
        if path is not None and not open_folder(folder_of(path)):
            self.dock.job.set_status(f"Could not open {folder_of(path)}", error=True)
