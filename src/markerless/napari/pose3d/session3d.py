"""The 3D project the 3D docks of one viewer share (apart from the 2D project).

A 3D project's config.yaml (``camera_names``, ``calibration_board``...) is not a 2D
project's, so it is not the viewer's :class:`~markerless.napari.session.ProjectSession`
project (the Training or Analysis dock would try to read it). Choosing it in the
Calibration dock points the Triangulation dock at it, and the other way round.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from psygnal import Signal

from markerless.napari.layers.lookup import meta
from markerless.napari.session import connect_alive, unwrap


class Project3D:
    changed = Signal(object)  # the new config path (or None)
    calibrated = Signal(object)  # a new calibration.toml was written

    def __init__(self) -> None:
        self.config_path: Path | None = None

    def set(self, path: str | Path | None) -> None:
        path = None if path is None else Path(path)
        if path != self.config_path:
            self.config_path = path
            self.changed.emit(path)


_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def project3d(viewer: Any) -> Project3D:
    viewer = unwrap(viewer)
    if viewer not in _SESSIONS:
        _SESSIONS[viewer] = Project3D()
    return _SESSIONS[viewer]


def follow_project3d(dock: Any, viewer: Any) -> None:
    """Keep ``dock`` (``config`` picker, ``set_config``) on the viewer's 3D project; start
    on it, else on the project of an open 3D result."""
    current = project3d(viewer)

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
    start = current.config_path
    if start is None:
        found = [meta(ly).get("config3d") for ly in unwrap(viewer).layers]
        start = next((Path(c) for c in found[::-1] if c and Path(c).is_file()), None)
    if start is not None:
        dock.set_config(start)
