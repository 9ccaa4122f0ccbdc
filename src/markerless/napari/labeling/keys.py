"""The Labeling dock's keys: keypoint shortcuts, Ctrl+S, and the close-window guard.

Keypoint keys are bound on the keypoints layer itself (napari's layer keymap),
so they act only while that layer is selected and never shadow other layers'
keys. Ctrl+S is a menu shortcut in napari ("Save Selected Layers..."): a
menu shortcut wins over any keymap, so an application event filter claims
the ShortcutOverride for Ctrl+S while a keypoints layer is selected, and the
dock saves instead of the file dialog opening. The same filter sees the main
window's Close event first, so unsaved labels can stop the window closing.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QApplication, QMainWindow, QWidget

#: (keys, what they do) as listed in the dock and docs/napari.md
SHORTCUTS: list[tuple[str, str]] = [
    ("Click", "place the current keypoint (add mode)"),
    ("Up / Down", "previous / next keypoint"),
    ("E", "next unlabeled keypoint (this frame, then the next frames)"),
    ("Ctrl+S", "save the labels (CollectedData .h5 + .csv)"),
    ("Left / Right", "previous / next frame"),
    ("P or 2 / S or 3", "add mode / select mode (drag points to move them)"),
    ("Delete or Backspace", "delete the selected points"),
]

LAYER_KEYS = ("Up", "Down", "E")


def bind_layer_keys(layer: Any, dock: Any) -> None:
    """Bind Up/Down/E on ``layer`` to the dock (held weakly: the layer may outlive it)."""
    ref = weakref.ref(dock)

    def call(name: str, *args: Any):
        def handler(_layer: Any) -> None:
            target = ref()
            if target is not None:
                getattr(target, name)(*args)

        return handler

    layer.bind_key("Up", call("step_keypoint", -1), overwrite=True)
    layer.bind_key("Down", call("step_keypoint", 1), overwrite=True)
    layer.bind_key("E", call("next_unlabeled"), overwrite=True)


def unbind_layer_keys(layer: Any) -> None:
    for key in LAYER_KEYS:
        with contextlib.suppress(KeyError, ValueError):  # not bound
            layer.bind_key(key, None)


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
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
