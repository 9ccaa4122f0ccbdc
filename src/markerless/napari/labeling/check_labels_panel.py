"""The Labeling dock's *Check labels* panel: DeepLabCut's check_labels, off the GUI thread.

:func:`markerless.check_labels` reads every labels file of the project, flags
swapped left/right pairs and points outside their image, and (with *write
images*) draws each labeled frame into ``labeled-data/<video>_labeled/``. On a
real project that takes seconds, so it runs in a napari thread worker; the
panel lists what it found, and picking an issue emits
:attr:`CheckLabelsPanel.issue_selected` for the dock to show that frame.
Issues of a whole file or folder (an unreadable labels file, a folder labeled
under another scorer; their ``frame`` is ``""``) are listed by their path in the
project; they have no frame to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCheckBox, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from markerless.napari.forms import StatusLine, button, hbox
from markerless.napari.session import connect_alive, find_config, session
from markerless.napari.workers import start_worker

if TYPE_CHECKING:
    from markerless.project.check_labels import LabelIssue

NO_PROJECT = "Open a project (or its labeled frames) to check its labels"
WRITE_HELP = ("Also draw every labeled frame into labeled-data/<video>_labeled/ "
              "(as DeepLabCut does)")


def run_check(config: Path, write_images: bool) -> list[LabelIssue]:
    """Worker body: :func:`markerless.check_labels` on the whole project."""
    from markerless.project.check_labels import check_labels

    return check_labels(config, write_images=write_images)


def describe(issue: LabelIssue, project: Path | None = None) -> str:
    """One list row: ``clip/img07.png · leftear/rightear: left/right swapped …``.

    An issue of a whole file or folder (no frame) is named by its path in ``project``:
    ``labeled-data/clip/CollectedData_bob.h5: cannot be read …``.
    """
    who = f"{issue.individual} · " if issue.individual else ""
    part = f"{issue.bodypart}: " if issue.bodypart else ""
    if issue.frame:
        where = f"{Path(issue.labels_file).parent.name}/{Path(issue.frame).name}"
        return f"{where} · {who}{part}{issue.problem}"
    return f"{_in_project(Path(issue.labels_file), project)}: {who}{part}{issue.problem}"


def _in_project(path: Path, project: Path | None) -> str:
    """``labeled-data/clip`` for a path inside the project, else the path's last two parts."""
    if project is not None:
        try:
            return path.resolve().relative_to(project.resolve()).as_posix() or path.name
        except ValueError:
            pass
    return "/".join(path.parts[-2:])


def summary(issues: list[LabelIssue]) -> str:
    """``"2 suspicious labels and 1 file or folder problem: click one to see its frame"``."""
    n_frames = sum(1 for i in issues if i.frame)
    n_files = len(issues) - n_frames
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in
             ((n_frames, "suspicious label"), (n_files, "file or folder problem")) if n]
    if not parts:
        return "No suspicious labels found"
    return " and ".join(parts) + (": click one to see its frame" if n_frames else "")


class CheckLabelsPanel(QWidget):
    """Check labels button, write images box, and the issues found (click one to see it)."""

    issue_selected = Signal(object)  # the LabelIssue picked in the list

    def __init__(self, viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.issues: list[LabelIssue] = []
        self.running = False
        self.check_button = button("Check labels", self.run)
        self.write_images = QCheckBox("write images", checked=True, toolTip=WRITE_HELP)
        self.result_label = StatusLine()
        self.issue_list = QListWidget(maximumHeight=140, wordWrap=True)
        self.issue_list.setResizeMode(QListWidget.ResizeMode.Adjust)  # rows re-wrap on resize
        self.issue_list.currentRowChanged.connect(self._on_row)
        self.issue_list.itemClicked.connect(  # the current row again, after browsing away
            lambda item: self._on_row(self.issue_list.row(item)))
        self.issue_list.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for item in (hbox(self.check_button, self.write_images), self.result_label,
                     self.issue_list):
            layout.addWidget(item)
        project = session(viewer)
        for signal in (viewer.layers.events.inserted, viewer.layers.events.removed,
                       project.changed):
            connect_alive(self, signal, self.update_enabled)
        connect_alive(self, project.files_changed, self._mark_stale)
        self.update_enabled()

    def config(self) -> Path | None:
        """The project to check: the viewer's, else the one above its labeled-data layers."""
        return find_config(self.viewer)

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
        start_worker(self, run_check, config, wrote,
                     on_done=lambda issues: self._done(issues, wrote, config.parent),
                     on_error=self._failed)

    def _done(self, issues: list[LabelIssue], wrote: bool, project: Path | None = None) -> None:
        self.running = False
        self.update_enabled()
        self.issues = list(issues)
        self.issue_list.blockSignals(True)
        for issue in self.issues:
            QListWidgetItem(describe(issue, project), self.issue_list).setToolTip(str(issue))
        self.issue_list.blockSignals(False)
        self.issue_list.setVisible(bool(self.issues))
        text = summary(self.issues)
        drawn = "; frames drawn in labeled-data/<video>_labeled/" if wrote else ""
        self._show(text + drawn)

    def _failed(self, err: BaseException) -> None:
        self.running = False
        self.update_enabled()
        self.result_label.show_error(err, "Check failed: ")

    def _mark_stale(self) -> None:
        text = self.result_label.text()
        if self.issues and not self.running and "changed since" not in text:
            self._show(f"{text} (labels changed since: check again)")

    def _show(self, text: str, error: bool = False) -> None:
        self.result_label.say(text, error)

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self.issues):
            self.issue_selected.emit(self.issues[row])
