"""The Labeling dock's *Check labels* panel: DeepLabCut's check_labels, off the GUI thread.

:func:`markerless.check_labels` reads every labels file of the project, flags
swapped left/right pairs and points outside their image, and (with *write
images*) draws each labeled frame into ``labeled-data/<video>_labeled/``. On a
real project that takes seconds, so it runs in a napari thread worker; the
panel lists what it found, and picking an issue emits
:attr:`CheckLabelsPanel.issue_selected` for the dock to show that frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCheckBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from markerless.napari import _workers as wk

if TYPE_CHECKING:
    from markerless.project.check_labels import LabelIssue

NO_PROJECT = "Open a project (or its labeled frames) to check its labels"
WRITE_HELP = ("Also draw every labeled frame into labeled-data/<video>_labeled/ "
              "(as DeepLabCut does)")


def run_check(config: Path, write_images: bool) -> list[LabelIssue]:
    """Worker body: :func:`markerless.check_labels` on the whole project."""
    from markerless.project.check_labels import check_labels

    return check_labels(config, write_images=write_images)


def describe(issue: LabelIssue) -> str:
    """One list row: ``clip/img07.png · leftear/rightear: left/right swapped …``."""
    who = f"{issue.individual} · " if issue.individual else ""
    where = f"{Path(issue.labels_file).parent.name}/{Path(issue.frame).name}"
    return f"{where} · {who}{issue.bodypart}: {issue.problem}"


class CheckLabelsPanel(QWidget):
    """Check labels button, write images box, and the issues found (click one to see it)."""

    issue_selected = Signal(object)  # the LabelIssue picked in the list

    def __init__(self, viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.issues: list[LabelIssue] = []
        self.running = False
        self.check_button = wk.button("Check labels", self.run)
        self.write_images = QCheckBox("write images", checked=True, toolTip=WRITE_HELP)
        self.result_label = QLabel(wordWrap=True)
        self.issue_list = QListWidget(maximumHeight=140, wordWrap=True)
        self.issue_list.setResizeMode(QListWidget.ResizeMode.Adjust)  # rows re-wrap on resize
        self.issue_list.currentRowChanged.connect(self._on_row)
        self.issue_list.itemClicked.connect(  # the current row again, after browsing away
            lambda item: self._on_row(self.issue_list.row(item)))
        self.issue_list.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for item in (wk.hbox(self.check_button, self.write_images), self.result_label,
                     self.issue_list):
            layout.addWidget(item)
        session = wk.session(viewer)
        for signal in (viewer.layers.events.inserted, viewer.layers.events.removed,
                       session.changed):
            wk.connect_alive(self, signal, self.update_enabled)
        wk.connect_alive(self, session.files_changed, self._mark_stale)
        self.update_enabled()

    def config(self) -> Path | None:
        """The project to check: the viewer's, else the one above its labeled-data layers."""
        return wk.find_config(self.viewer)

    def update_enabled(self, *_: Any) -> None:
        """The button works when there is a project and no check is running."""
        has_project = self.config() is not None
        self.check_button.setEnabled(has_project and not self.running)
        self.check_button.setToolTip("" if has_project else NO_PROJECT)

    def run(self) -> None:
        """Check the project's labels in a worker; the list fills when it is done."""
        config = self.config()
        if config is None or self.running:
            return
        self.running = True
        self.update_enabled()
        self.issues = []
        self.issue_list.clear()
        self.issue_list.setVisible(False)
        self._show(f"Checking the labels of {config.parent.name}…")
        wrote = self.write_images.isChecked()
        wk.start_worker(self, run_check, config, wrote,
                        on_done=lambda issues: self._done(issues, wrote),
                        on_error=self._failed)

    def _done(self, issues: list[LabelIssue], wrote: bool) -> None:
        self.running = False
        self.update_enabled()
        self.issues = list(issues)
        self.issue_list.blockSignals(True)
        for issue in self.issues:
            QListWidgetItem(describe(issue), self.issue_list).setToolTip(str(issue))
        self.issue_list.blockSignals(False)
        self.issue_list.setVisible(bool(self.issues))
        n = len(self.issues)
        text = (f"{n} suspicious label{'s' if n != 1 else ''}: click one to see its frame" if n
                else "No suspicious labels found")
        drawn = "; frames drawn in labeled-data/<video>_labeled/" if wrote else ""
        self._show(text + drawn)

    def _failed(self, err: BaseException) -> None:
        self.running = False
        self.update_enabled()
        self._show(f"Check failed: {type(err).__name__}: {err}", error=True)

    def _mark_stale(self) -> None:
        text = self.result_label.text()
        if self.issues and not self.running and "changed since" not in text:
            self._show(f"{text} (labels changed since: check again)")

    def _show(self, text: str, error: bool = False) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #e05050" if error else "")

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self.issues):
            self.issue_selected.emit(self.issues[row])
