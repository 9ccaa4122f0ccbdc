"""Fit the camera to the frames when a project or a dock opens, and while the docks settle.

napari fits the camera once, when the first layer is added, to the canvas as it is
then. Docks opened afterwards narrow the canvas without refitting: a 640x480 frame
fitted to the whole window then shows as a vertical slice with the animal off-screen.
One :class:`ViewFitter` per viewer (:func:`keep_view_fitted`, called when a dock or a
project opens) fits the view at once and again each time the canvas changes size,
as long as the camera is where its last fit left it: a zoom or pan the user chose is
never undone by a dock opening. Frames (or a video) added to the viewer are fitted
too, and the first ones are shown from frame 0 (napari starts on the middle frame).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from markerless.napari.layers.lookup import KIND_FRAMES, KIND_VIDEO, meta

_FITTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_IMAGE_KINDS = (KIND_FRAMES, KIND_VIDEO)


def _unwrap(viewer: Any) -> Any:
    return getattr(viewer, "__wrapped__", viewer)  # napari's PublicOnlyProxy


class ViewFitter:
    """Keeps one viewer's camera fitted to its layers until the user moves it."""

    def __init__(self, viewer: Any) -> None:
        self._viewer = weakref.ref(viewer)
        self._fitted: tuple | None = None
        viewer.canvas.events.size.connect(self._on_canvas_size, position="last")
        viewer.layers.events.inserted.connect(self._on_inserted, position="last")

    def _camera(self) -> tuple | None:
        viewer = self._viewer()
        if viewer is None:
            return None
        cam = viewer.scene.camera
        return (*cam.center, cam.zoom, *cam.angles, viewer.dims.ndisplay)

    def fit(self) -> None:
        """napari's ``reset_view`` on the canvas as it is now; remembered as fitted."""
        viewer = self._viewer()
        if viewer is None or not len(viewer.layers):
            return
        viewer.reset_view()
        self._fitted = self._camera()

    def untouched(self) -> bool:
        """The camera is where the last fit left it (the user has not zoomed or panned)."""
        now = self._camera()
        return (self._fitted is not None and now is not None and len(now) == len(self._fitted)
                and bool(np.allclose(now, self._fitted, rtol=1e-6, atol=1e-6)))

    def _on_canvas_size(self, _event: Any = None) -> None:
        if self.untouched():
            self.fit()

    def _on_inserted(self, event: Any) -> None:
        """New frames or a video: fit them; the first ones start on frame 0."""
        layer, viewer = event.value, self._viewer()
        if viewer is None or meta(layer).get("kind") not in _IMAGE_KINDS:
            return
        images = [ly for ly in viewer.layers if meta(ly).get("kind") in _IMAGE_KINDS]
        if images == [layer]:
            show_first_frame(viewer)
        self.fit()


def keep_view_fitted(viewer: Any, fit: bool = True) -> ViewFitter:
    """The viewer's :class:`ViewFitter` (made on first use); ``fit`` fits the view now."""
    viewer = _unwrap(viewer)
    fitter = _FITTERS.get(viewer)
    if fitter is None:
        fitter = _FITTERS[viewer] = ViewFitter(viewer)
    if fit:
        fitter.fit()
    return fitter


def show_first_frame(viewer: Any) -> None:
    """Frame 0 on the frame slider (axis 0 of markerless' frame stacks and videos)."""
    viewer = _unwrap(viewer)
    if viewer.dims.ndim > 2:
        viewer.dims.set_current_step(0, 0)


def show_opened_project(viewer: Any, first: bool) -> None:
    """After a project's layers were added: fit the view; ``first`` (nothing was shown
    before) also goes to frame 0."""
    if first:
        show_first_frame(viewer)
    keep_view_fitted(viewer)
