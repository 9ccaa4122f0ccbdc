"""The Labeling dock's saving: unsaved-change tracking, Save, questions before labels are lost.

Labels typed into a keypoints layer are never lost silently: a layer the user
changed is remembered (weakly) as dirty until it is saved; removing it, or
closing the window (:class:`~.keys.WindowHooks` calls
:meth:`SavingMixin.confirm_close`), asks first. Saving goes through
:func:`markerless.io.dlc_labels.write_labels`, which refuses to drop labels on
disk unless the user confirms. A save that fails (a full disk, a read-only folder:
:class:`~markerless.errors.StorageError`) says so in one line and the layer keeps
its unsaved changes, so nothing typed is lost.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from markerless.napari.forms import error_line
from markerless.napari.layers.labeled_folder import save_keypoints
from markerless.napari.session import session


class SavingMixin:
    """Save, dirty layers and close/remove guards of :class:`~.dock.LabelingWidget`.

    The dock provides ``viewer``, ``layer`` (the layer being labeled), ``ask``
    (title, text, buttons -> chosen button), ``_say`` and ``_sync``.
    """

    viewer: Any
    layer: Any
    ask: Callable[[str, str, Sequence[str]], str]
    _say: Callable[..., None]
    _sync: Callable[[], None]

    def _init_saving(self) -> None:
        self._dirty: weakref.WeakSet = weakref.WeakSet()

    def save(self, layer: Any = None) -> bool:
        """Write ``layer`` (default: the one being labeled) to its CollectedData .h5 + .csv."""
        layer = self.layer if layer is None or isinstance(layer, bool) else layer
        if layer is None:
            return False
        try:
            path = save_keypoints(layer, confirm=lambda why: self.ask(
                "Labels would be lost", f"{why}\n\nSave anyway?", ["Save anyway", "Cancel"]
            ) == "Save anyway")
        except Exception as err:  # noqa: BLE001 - reported in the dock, labels stay in the layer
            self._say(error_line(err, "Not saved: "), error=True)
            return False
        if path is None:
            self._say("Not saved: nothing was written")
            return False
        self._dirty.discard(layer)
        self._say(f"Saved {path.name} and .csv in {path.parent}")
        if layer is self.layer:
            self._sync()
        session(self.viewer).files_changed.emit()
        return True

    def wants_save_shortcut(self) -> bool:
        """Ctrl+S saves labels (not napari's dialog) while the labeled layer is selected."""
        return self.layer is not None and self.viewer.layers.selection.active is self.layer

    def dirty_layers(self) -> list:
        return [ly for ly in self.viewer.layers if ly in self._dirty]

    def _offer_save_removed(self, layer: Any) -> None:
        """A removed layer with unsaved labels: ask whether to save them."""
        if layer not in self._dirty:
            return
        self._dirty.discard(layer)
        answer = self.ask("Unsaved labels", f"The removed layer {layer.name!r} has unsaved "
                          "labels. Save them?", ["Save", "Discard"])
        if answer == "Save":
            self.save(layer)

    def confirm_close(self) -> bool:
        """Before the window closes: save, discard or keep unsaved labels (False: stay open)."""
        dirty = self.dirty_layers()
        if not dirty:
            return True
        names = ", ".join(repr(ly.name) for ly in dirty)
        answer = self.ask("Unsaved labels", f"{names} have unsaved labels.",
                          ["Save", "Discard", "Cancel"])
        if answer == "Save":
            return all(self.save(ly) for ly in dirty)
        if answer == "Discard":
            for ly in dirty:
                self._dirty.discard(ly)
            return True
        return False
