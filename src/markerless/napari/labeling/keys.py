"""The Labeling dock's keys: keypoint shortcuts, Ctrl+S, and the close-window guard.

Which key does what depends on the habits (markerless' or napari-deeplabcut's, see
:mod:`.habits`). Keypoint keys are bound on the keypoints layer itself (napari's
layer keymap), so they act only while that layer is selected and never shadow other
layers' keys; napari-deeplabcut's A/D are also bound on the viewer, as that plugin
does. Ctrl+S is a menu shortcut in napari ("Save Selected Layers..."): a
menu shortcut wins over any keymap, so an application event filter claims
the ShortcutOverride for Ctrl+S while a keypoints layer is selected, and the
dock saves instead of the file dialog opening. The same filter sees the main
window's Close event first, so unsaved labels can stop the window closing.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable
from typing import Any

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QApplication, QMainWindow, QWidget

from markerless.napari.labeling.habits import HABITS, SHORTCUT_DOCS, Habits

#: every key any habits bind (unbinding clears them all)
ALL_KEYS = sorted({key for h in HABITS.values() for key, _ in h.keys})
VIEWER_KEYS = sorted({key for h in HABITS.values() for key, _ in h.viewer_keys})


def bind_keys(target: Any, dock: Any, pairs: Iterable[tuple[str, str]]) -> None:
    """Bind (key, dock method name) on a layer or the viewer; the dock is held weakly
    (the layer may outlive it)."""
    ref = weakref.ref(dock)

    def call(name: str):
        def handler(_target: Any) -> None:
            obj = ref()
            if obj is not None:
                getattr(obj, name)()

        handler.__doc__ = name.replace("_", " ")
        return handler

    for key, name in pairs:
        target.bind_key(key, call(name), overwrite=True)


def unbind_keys(target: Any, keys: Iterable[str] = ALL_KEYS) -> None:
    for key in keys:
        with contextlib.suppress(KeyError, ValueError):  # not bound
            target.bind_key(key, None)


def bind_layer_keys(layer: Any, dock: Any, habits: Habits) -> None:
    """The habits' keys on the keypoints ``layer`` (the keys of other habits removed)."""
    unbind_keys(layer)
    bind_keys(layer, dock, habits.keys)


def unbind_layer_keys(layer: Any) -> None:
    unbind_keys(layer)


def shortcuts_html(habits: str = "markerless") -> str:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUT_DOCS[habits])
    return f"<table cellspacing='2'>{rows}</table>"


def _is_ctrl_s(event: Any) -> bool:
    mods = event.modifiers()
    return (event.key() == Qt.Key.Key_S
            and bool(mods & Qt.KeyboardModifier.ControlModifier)
            and not mods & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier))


class WindowHooks(QObject):
    """Application event filter: Ctrl+S saves labels; closing the window asks about unsaved ones.

    The dock must offer ``wants_save_shortcut() -> bool``, ``save()`` and
    ``confirm_close() -> bool`` (False keeps the window open).
    """

    def __init__(self, main_window: QWidget, dock: Any) -> None:
        super().__init__(dock)
        self._main = weakref.ref(main_window)
        self._dock = weakref.ref(dock)
        QApplication.instance().installEventFilter(self)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _in_our_window(self, obj: Any) -> bool:
        main, dock = self._main(), self._dock()
        if main is None or dock is None or not isinstance(obj, QWidget):
            return False
        try:
            window = obj.window()
            return window is main or window is dock.window()
        except RuntimeError:  # a deleted widget
            return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride:
            if _is_ctrl_s(event) and self._in_our_window(obj):
                dock = self._dock()
                if dock is not None and dock.wants_save_shortcut():
                    event.accept()  # not a menu shortcut: napari's save dialog stays closed
                    QTimer.singleShot(0, dock.save)
                    return True
        elif kind == QEvent.Type.Close and obj is self._main():
            dock = self._dock()
            if dock is not None and not dock.confirm_close():
                event.ignore()
                return True
        return False


def install_window_hooks(dock: QWidget) -> WindowHooks | None:
    """Hooks on the main window holding ``dock`` (None while the dock is not in one yet).

    Found through the widget's parents, not ``viewer.window._qt_window`` (private).
    Qt drops the filter when the dock, its parent, is deleted.
    """
    widget = dock.parentWidget()
    while widget is not None and not isinstance(widget, QMainWindow):
        widget = widget.parentWidget()
    return None if widget is None else WindowHooks(widget, dock)
