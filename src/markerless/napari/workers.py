"""A dock's work in a thread: start it, stop it safely, hear back on the main thread.

Workers never touch layers or widgets (napari's threading guide):
they return or yield plain data, and the callbacks given here run on the main
thread (Qt delivers worker signals there), where layers are changed. A closed
dock gets no callbacks.

Two ways in:

* :func:`start_worker` for the quick jobs of the Project, Frames and Labeling docks
  (a project scan, frame extraction, a label check): ``on_yield``, ``on_done`` and
  ``on_error`` callbacks, the worker kept on its dock while it runs (:func:`busy`);
* :class:`~markerless.napari.job_panel.JobPanel` (which calls :func:`start_job`) for
  the long jobs of the Training, Analysis and Refine docks: progress bar, status
  line and a Stop button.

Stopping a generator job is safe: ``worker.quit()`` takes effect at its next
``yield``, and :class:`ClosingGeneratorWorker` then closes the generator *in the
worker thread*, so its ``finally`` blocks run there (the trainer saves the
interrupted run) instead of whenever the generator happens to be collected.

Errors are the dock's to show, as one line (:func:`~markerless.napari.forms.error_line`):
these workers do not raise them again on the main thread nor post napari's
traceback notification. Warnings still go to napari's notifications.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from superqt.utils import FunctionWorker, GeneratorWorker, create_worker


def _notify_warning(args: tuple) -> None:
    from napari.utils.notifications import notification_manager

    notification_manager.receive_warning(*args)


class DockFunctionWorker(FunctionWorker):
    """A function in a thread; its warnings are shown as napari notifications."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warned.connect(_notify_warning)


class ClosingGeneratorWorker(GeneratorWorker):
    """A generator in a thread that is closed in that thread when it stops.

    superqt's worker leaves a quit generator suspended at its ``yield``; closing it
    here raises ``GeneratorExit`` there, so cleanup (saving a checkpoint, deleting a
    half-written file) happens at once and off the GUI thread.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warned.connect(_notify_warning)

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            self._gen.close()


def _create(func: Callable[..., Any], args: tuple, kwargs: dict,
            connect: dict[str, Callable]) -> Any:
    """An unstarted worker for ``func``; ``connect`` must hold an ``errored`` slot (else
    superqt raises the error again on the main thread)."""
    worker_class = (ClosingGeneratorWorker if inspect.isgeneratorfunction(func)
                    else DockFunctionWorker)
    if worker_class is DockFunctionWorker:
        connect.pop("yielded", None)
    return create_worker(func, *args, _start_thread=False, _connect=connect,
                         _worker_class=worker_class, **kwargs)  # fmt: skip


def start_worker(
    owner: Any,
    func: Callable[..., Any],
    *args: Any,
    on_error: Callable[[BaseException], None],
    on_yield: Callable[[Any], None] | None = None,
    on_done: Callable[[Any], None] | None = None,
    **kwargs: Any,
):
    """Run ``func(*args, **kwargs)`` in a thread for the widget ``owner`` (a generator may
    yield progress); ``on_error`` shows what went wrong.

    The worker is kept on ``owner._workers`` until it finishes, so it is not
    garbage-collected mid-run and :func:`busy` can tell the dock is working.
    Closing ``owner`` stops a generator at its next yield. A callback that raises is
    reported through ``on_error`` too.
    """
    from qtpy.compat import isalive

    def alive(slot: Callable[[Any], None]) -> Callable[[Any], None]:
        def call(value: Any) -> None:
            if not isalive(owner):
                return
            try:
                slot(value)
            except Exception as err:  # noqa: BLE001 - a failing callback is the job's error
                if slot is on_error:
                    raise
                on_error(err)

        return call

    connect = {name: alive(slot) for name, slot in
               (("yielded", on_yield), ("returned", on_done), ("errored", on_error))
               if slot is not None}  # fmt: skip
    worker = _create(func, args, kwargs, connect)
    running = owner.__dict__.setdefault("_workers", [])
    running.append(worker)
    worker.finished.connect(lambda: running.remove(worker) if worker in running else None)
    if hasattr(worker, "quit"):  # a generator stops at its next yield when the dock closes
        owner.destroyed.connect(lambda *_: worker.quit())
    worker.start()
    return worker


def busy(owner: Any) -> bool:
    """True while one of ``owner``'s :func:`start_worker` workers is running."""
    return bool(owner.__dict__.get("_workers"))


def start_job(
    func: Callable[..., Any],
    *args: Any,
    errored: Callable[[BaseException], None],
    yielded: Callable[[Any], None] | None = None,
    returned: Callable[[Any], None] | None = None,
    finished: Callable[[], None] | None = None,
    **kwargs: Any,
):
    """Run ``func(*args, **kwargs)`` (a generator or plain function) in a thread; the
    callbacks are given as they are (:class:`~markerless.napari.job_panel.JobPanel`
    guards them against a closed dock)."""
    connect = {name: slot for name, slot in (("yielded", yielded), ("returned", returned),
                                             ("errored", errored), ("finished", finished))
               if slot is not None}  # fmt: skip
    worker = _create(func, args, kwargs, connect)
    worker.start()
    return worker
