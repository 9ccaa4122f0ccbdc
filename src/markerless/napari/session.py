"""The project the docks of one viewer share, and keeping a dock on it.

One :class:`ProjectSession` per viewer (:func:`session`): opening a project in any
dock points every dock at it (as DeepLabCut's GUI shares it between its tabs), and
its signals tell the docks when files, the training fraction or the models change.
Docks connect to it with :func:`connect_alive`, so a closed dock never breaks the
ones still open.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from markerless.napari.layers.lookup import meta

if TYPE_CHECKING:
    import napari


class ProjectSession:
    """The project (config.yaml) the docks of one viewer work on."""

    changed = Signal(object)  # the new config path (or None)
    files_changed = Signal()  # labels saved or frames extracted: summaries are stale
    trainingset_changed = Signal(int)  # the TrainingFraction index the model docks use
    models_changed = Signal()  # a training run ended: snapshot lists are stale

    def __init__(self) -> None:
        self.config_path: Path | None = None
        self.trainingsetindex = 0

    def set(self, config_path: str | Path | None) -> None:
        path = None if config_path is None else Path(config_path)
        if path is not None and path.is_dir():
            path = path / "config.yaml"
        if path != self.config_path:
            self.config_path = path
            self.trainingsetindex = 0  # another project starts on its first fraction
            self.changed.emit(path)

    def set_trainingsetindex(self, index: int) -> None:
        if int(index) != self.trainingsetindex:
            self.trainingsetindex = int(index)
            self.trainingset_changed.emit(self.trainingsetindex)


_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unwrap(viewer: Any) -> Any:
    """The viewer behind napari's PublicOnlyProxy (plugin docks get a proxy).

    Layers reached through the proxy are proxies too, so identity checks
    (``layer is self.layer``) and weak sets would mix proxies and layers.
    """
    return getattr(viewer, "__wrapped__", viewer)


def session(viewer: napari.Viewer) -> ProjectSession:
    """The viewer's :class:`ProjectSession` (made on first use; dies with the viewer)."""
    viewer = unwrap(viewer)
    if viewer not in _SESSIONS:
        _SESSIONS[viewer] = ProjectSession()
    return _SESSIONS[viewer]


def find_config(viewer: napari.Viewer) -> Path | None:
    """The project's config.yaml: the session's, else the one above an open labeled-data
    or video layer (the Project, Frames and Labeling docks' look-up)."""
    current = session(viewer).config_path
    if current is not None:
        return current
    for layer in viewer.layers:
        info = meta(layer)
        candidates = [Path(info["root"]) if info.get("root") else None,
                      Path(info["video_path"]).parent.parent if info.get("video_path") else None]
        for root in candidates:  # labeled-data/<video>/.. or <project>/videos/<video>
            if root is not None and (root / "config.yaml").is_file():
                return root / "config.yaml"
    return None


def find_project_config(viewer: Any) -> Path | None:
    """config.yaml of the project the viewer's markerless layers come from, if any.

    Newest layer first, analysis results included: where the Training, Analysis and
    Refine docks start when the session has no project yet (:func:`follow_project`).
    """
    for layer in list(viewer.layers)[::-1]:
        info = meta(layer)
        candidates = []
        if info.get("config"):
            candidates.append(Path(info["config"]))
        if info.get("root"):
            candidates.append(Path(info["root"]) / "config.yaml")
        for key in ("video_path", "analysis_path"):
            if info.get(key):  # <project>/videos/<video>
                candidates.append(Path(info[key]).parent.parent / "config.yaml")
        for path in candidates:
            if path.is_file():
                return path
    return None


def follow_project(dock: Any, viewer: Any) -> Path | None:
    """Keep ``dock`` (with ``config`` and ``set_config``) on the viewer's current project.

    The Project dock and these docks share one project per viewer (:func:`session`):
    opening a project anywhere points every dock at it. The dock starts on the session's
    project, else the one the viewer's markerless layers come from (returned; None if neither).
    """
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


def connect_alive(widget: Any, signal: Any, slot: Callable[..., Any]) -> None:
    """Connect ``slot`` (a method of ``widget``) to a psygnal/napari signal until the
    widget is deleted: a closed dock must not break the docks still open."""
    signal.connect(slot)

    def drop(*_: Any) -> None:
        with suppress(Exception):  # already disconnected
            signal.disconnect(slot)

    widget.destroyed.connect(drop)
