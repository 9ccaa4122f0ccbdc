"""The job panel of the Training, Analysis and Refine docks: progress, status, Stop.

One job at a time per dock. The job is a generator of progress reports (or a plain
function) run by :func:`~markerless.napari.workers.start_job`; the dock turns its
reports into :meth:`JobPanel.set_progress` / :meth:`JobPanel.set_status` calls, and
an error into one red line (:func:`~markerless.napari.forms.error_line`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from markerless.napari.forms import StatusLine
from markerless.napari.workers import start_job


class JobPanel(QWidget):
    """Progress bar, status line and a Stop button for one dock's current job.

    ``busy`` is True from :meth:`run` until the worker has finished (after a stop,
    once the generator has been closed).
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
        self.status = StatusLine()
        self.status.setText("idle")
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
        """``slot`` unless this panel's widget is gone (a closed dock gets no callbacks);
        an error in it is shown like the job's own."""
        if slot is None:
            return None
        from qtpy.compat import isalive

        def call(*args: Any) -> None:
            if not isalive(self):
                return
            try:
                slot(*args)
            except Exception as err:  # noqa: BLE001 - a failing callback is the job's error
                if slot == self._errored:
                    raise
                self._errored(err)

        return call

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
        self.status.say(text, error)

    def show_error(self, err: BaseException, prefix: str = "") -> None:
        """``err`` as one red line (the dock's actions report through this)."""
        self.status.show_error(err, prefix)

    def _errored(self, exc: BaseException) -> None:
        self.last_error = exc
        self.show_error(exc, "Error: ")

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
