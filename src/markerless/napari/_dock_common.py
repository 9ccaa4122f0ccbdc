"""What the Training, Analysis and Refine docks share: workers, a job panel, the project.

Long jobs are generators (STYLE.md §8) run by napari's ``thread_worker``
machinery. Two rules make stopping safe:

* a job is stopped with ``worker.quit()``, which takes effect at its next ``yield``;
* :class:`ClosingGeneratorWorker` then closes the generator *in the worker
  thread*, so its ``finally`` blocks run there (the trainer saves the
  interrupted run) instead of whenever the generator happens to be collected.

Workers never touch layers or widgets: they yield plain dicts and return plain
values; the docks update the viewer from the ``yielded``/``returned`` signals,
which Qt delivers on the main thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari.qt.threading import GeneratorWorker, create_worker
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from markerless.napari._training_jobs import model_dir  # noqa: F401 (re-exported for the docks)

META_KEY = "markerless"


class ClosingGeneratorWorker(GeneratorWorker):
    """A GeneratorWorker that closes its generator in the worker thread when it stops.

    superqt's worker leaves a quit generator suspended at its ``yield``; closing it
    here raises ``GeneratorExit`` there, so cleanup (saving a checkpoint, deleting a
    half-written file) happens at once and off the GUI thread.
    """

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            self._gen.close()


def start_job(
    func: Callable[..., Any],
    *args: Any,
    yielded: Callable[[Any], None] | None = None,
    returned: Callable[[Any], None] | None = None,
    errored: Callable[[BaseException], None] | None = None,
    finished: Callable[[], None] | None = None,
    **kwargs: Any,
):
    """Run ``func(*args, **kwargs)`` (a generator or plain function) in a worker thread."""
    import inspect

    worker_class = ClosingGeneratorWorker if inspect.isgeneratorfunction(func) else None
    connect: dict[str, Callable] = {}
    for name, slot in (("yielded", yielded), ("returned", returned), ("errored", errored),
                       ("finished", finished)):  # fmt: skip
        if slot is not None and not (name == "yielded" and worker_class is None):
            connect[name] = slot
    worker = create_worker(func, *args, _start_thread=False, _connect=connect,
                           _worker_class=worker_class, **kwargs)  # fmt: skip
    worker.start()
    return worker


class JobPanel(QWidget):
    """Progress bar, status line and a Stop button for one dock's current job.

    One job at a time per dock: ``busy`` is True from :meth:`run` until the worker
    has finished (after a stop, once the generator has been closed).
    """

    started = Signal()
    stopped = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = None
        self.last_error: BaseException | None = None
        self.was_stopped = False
        current = self._current = {"worker": None}  # not self: it is gone when destroyed fires
        self.destroyed.connect(lambda *_: current["worker"] and current["worker"].quit())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def run(self, func: Callable[..., Any], *args: Any, text: str = "working...",
            yielded: Callable[[Any], None] | None = None,
            returned: Callable[[Any], None] | None = None, **kwargs: Any):
        """Start ``func`` in a worker unless a job is already running (then return None)."""
        if self.busy:
            self.set_status("A job is already running: stop it first", error=True)
            return None
        self.last_error = None
        self.progress.setRange(0, 0)  # busy indicator until the first progress value
        self.set_status(text)
        self.stop_button.setEnabled(True)
        self.worker = start_job(func, *args, yielded=self._alive(yielded),
                                returned=self._alive(returned), errored=self._alive(self._errored),
                                finished=self._alive(self._finished), **kwargs)  # fmt: skip
        self._current["worker"] = self.worker  # a closed dock stops its job
        self.started.emit()
        return self.worker

    def _alive(self, slot: Callable[..., None] | None) -> Callable[..., None] | None:
        """``slot`` unless this panel's widget is gone (a closed dock gets no callbacks)."""
        if slot is None:
            return None
        from qtpy.compat import isalive

        return lambda *args: slot(*args) if isalive(self) else None

    def stop(self) -> None:
        """Ask the job to stop at its next progress report."""
        if self.worker is not None:
            self.set_status("stopping...")
            self.stop_button.setEnabled(False)
            self.worker.quit()

    def set_progress(self, done: float, total: float, text: str | None = None) -> None:
        total = max(int(total), 1)
        self.progress.setRange(0, total)
        self.progress.setValue(int(min(max(done, 0), total)))
        if text is not None:
            self.set_status(text)

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff6b6b;" if error else "")

    def _errored(self, exc: BaseException) -> None:
        self.last_error = exc
        self.set_status(f"Error: {exc}", error=True)

    def _finished(self) -> None:
        aborted = self.worker is not None and self.worker.abort_requested
        self.was_stopped = aborted
        self.worker = self._current["worker"] = None
        self.stop_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0 if aborted or self.last_error else 1)
        if aborted and self.last_error is None:
            self.set_status("stopped")
        self.stopped.emit()


# --- the project ------------------------------------------------------------------------
def find_project_config(viewer: Any) -> Path | None:
    """config.yaml of the project the viewer's markerless layers come from, if any."""
    for layer in list(viewer.layers)[::-1]:
        meta = (getattr(layer, "metadata", None) or {}).get(META_KEY) or {}
        candidates = []
        if meta.get("config"):
            candidates.append(Path(meta["config"]))
        if meta.get("root"):
            candidates.append(Path(meta["root"]) / "config.yaml")
        for key in ("video_path", "analysis_path"):
            if meta.get(key):  # <project>/videos/<video>
                candidates.append(Path(meta[key]).parent.parent / "config.yaml")
        for path in candidates:
            if path.is_file():
                return path
    return None


def follow_project(dock: Any, viewer: Any) -> Path | None:
    """Keep ``dock`` (with ``config`` and ``set_config``) on the viewer's current project.

    The Project dock and these docks share one project per viewer (``_workers.session``):
    opening a project anywhere points every dock at it. The dock starts on the session's
    project, else the one the viewer's markerless layers come from (returned; None if neither).
    """
    from markerless.napari._workers import connect_alive, session

    current = session(viewer)

    def from_session(path: Any) -> None:
        if path is not None and (dock.config.path is None
                                 or dock.config.path.resolve() != Path(path).resolve()):
            dock.set_config(path)

    def to_session(_text: str) -> None:
        path = dock.config.path
        if path is not None and path.is_file():
            current.set(path)

    connect_alive(dock, current.changed, from_session)
    dock.config.changed.connect(to_session)
    picker = getattr(dock, "trainset", None)  # a TrainingSetPicker: one choice per viewer
    if picker is not None:
        connect_alive(dock, current.trainingset_changed, picker.set_index)
        connect_alive(dock, current.files_changed, lambda: picker.load(dock.config.path))
        picker.changed.connect(current.set_trainingsetindex)
    start = current.config_path or find_project_config(viewer)
    if start is not None:
        dock.set_config(start)
    if picker is not None:
        picker.set_index(current.trainingsetindex)
    return start


def project_videos(config: str | os.PathLike) -> list[Path]:
    """The videos of config.yaml ``video_sets`` that exist (looked up in ``videos/`` too).

    DeepLabCut stores absolute paths, which break when a project moves; a video
    missing there is looked for by name in the project's ``videos/`` folder.
    """
    from markerless.io.config import read_config
    from markerless.project.videos import iter_project_videos

    config = Path(config)
    out: list[Path] = []
    for video in iter_project_videos(read_config(config), config.parent):
        if video.path is not None and video.path not in out:
            out.append(video.path)
    return out


def find_analysis(config: str | os.PathLike, video: str | os.PathLike, shuffle: int = 1,
                  filtered: bool = False, trainingsetindex: int = 0) -> Path | None:
    """The analysis .h5 of ``video``: the model's (by scorer), else the newest one. A file
    whose ``_meta.json`` names another training fraction is never it (DeepLabCut's scorer
    names do not include the fraction, so two fractions' models can share one)."""
    from markerless.io.config import read_config
    from markerless.postprocessing.common import analysis_file, model_scorer
    from markerless.training.dataset import train_fraction_of

    video = Path(video)
    try:
        fraction = train_fraction_of(read_config(config), trainingsetindex)
    except Exception:  # noqa: BLE001 - unreadable config: any file will do
        fraction = None
    try:
        path = analysis_file(video, model_scorer(config, shuffle, trainingsetindex), filtered)
        if not other_fraction(path, fraction):
            return path
    except Exception:  # noqa: BLE001 - no model yet, moved project: fall back to the folder
        pass
    pattern = f"{video.stem}DLC_*{'_filtered' if filtered else ''}.h5"
    found = [p for p in video.parent.glob(pattern)
             if (filtered or not p.stem.endswith("_filtered"))
             and not other_fraction(p, fraction)]  # fmt: skip
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def other_fraction(h5: Path, fraction: float | None) -> bool:
    """True when an analysis .h5's ``_meta.json`` says another training fraction made it."""
    from markerless.analysis.outputs import read_metadata

    try:
        value = float((read_metadata(h5) or {})["training set fraction"])
    except (KeyError, TypeError, ValueError):
        return False  # not recorded: it may be the one
    return fraction is not None and abs(value - fraction) > 1e-9


class ConfigPicker(QWidget):
    """config.yaml path: a line edit and a Browse button; emits ``changed`` with the path."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("project config.yaml")
        self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text()))
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Project"))
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    @property
    def path(self) -> Path | None:
        text = self.edit.text().strip()
        if not text:
            return None
        path = Path(text)
        return path / "config.yaml" if path.is_dir() else path

    def set_path(self, path: str | os.PathLike | None) -> None:
        self.edit.setText("" if path is None else str(path))
        self.changed.emit(self.edit.text())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Project config.yaml", "",
                                              "config.yaml (*.yaml)")
        if path:
            self.set_path(path)


class _VerticalScrollArea(QScrollArea):
    """Scrolls vertically only and asks for the width its contents need."""

    def _with_content_width(self, hint: Any, content_hint: Any) -> Any:
        hint.setWidth(content_hint.width() + self.verticalScrollBar().sizeHint().width() + 2)
        return hint

    def minimumSizeHint(self) -> Any:
        content = self.widget()
        hint = super().minimumSizeHint()
        return hint if content is None else self._with_content_width(
            hint, content.minimumSizeHint())

    def sizeHint(self) -> Any:
        content = self.widget()
        hint = super().sizeHint()
        return hint if content is None else self._with_content_width(hint, content.sizeHint())


def scroll_layout(widget: QWidget) -> QVBoxLayout:
    """A vertical layout inside a scroll area that fills ``widget``: a tall dock scrolls
    instead of squeezing its plots and forms together in a small window."""
    content = QWidget()
    layout = QVBoxLayout(content)
    area = _VerticalScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content)
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area)
    return layout


def ask(parent: QWidget, title: str, text: str) -> bool:
    """A Yes/No question whose default answer is No (used before anything destructive)."""
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)  # fmt: skip
    return answer == QMessageBox.StandardButton.Yes


def format_seconds(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
