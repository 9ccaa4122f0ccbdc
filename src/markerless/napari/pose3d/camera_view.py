"""The camera views of a 3D result: a second viewer beside the 3D one, frames in step.

A camera's video is ``(t, y, x)`` in pixels and the 3D view ``(t, z, y, x)`` in mm: in
one viewer napari would put the video's frame axis on the 3D view's depth axis. So the
camera views get their own viewer (one camera, or every camera in a grid, four layers
each: video, 2D predictions, reprojection, disagreement). Moving the frame slider in
either viewer moves the other, since frame *t* is frame *t* of the 3D result in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from markerless.napari.layers.lookup import meta
from markerless.napari.layers.pose3d import (
    KIND_CAMERA_PREDICTIONS,
    KIND_CAMERA_VIDEO,
    KIND_DISAGREEMENT,
    KIND_REPROJECTED,
    add_layers,
    camera_layers,
    viewer_grid,
)

CAMERA_KINDS = (KIND_CAMERA_VIDEO, KIND_CAMERA_PREDICTIONS, KIND_REPROJECTED, KIND_DISAGREEMENT)


class CameraViews:
    """The camera-views viewer of one dock, kept in step with the dock's viewer."""

    def __init__(self, main: Any):
        self.main = main
        self.viewer: Any = None
        self.own_viewer = False
        self.disagreements: dict[str, Any] = {}
        self._syncing = False

    def _target(self, viewer: Any | None) -> Any:
        if viewer is not None:
            if viewer is not self.viewer:
                self._connect(viewer)
            return viewer
        if self.viewer is None or not _alive(self.viewer):
            import napari

            self.own_viewer = True
            self._connect(napari.Viewer(title="markerless: camera views"))
        return self.viewer

    def _connect(self, viewer: Any) -> None:
        self.viewer = viewer
        self.main.dims.events.point.connect(self._from_main)
        viewer.dims.events.point.connect(self._from_cameras)

    def show(self, result: Any, cameras: Sequence[str], threshold: float = 10.0,
             viewer: Any | None = None) -> list[Any]:
        """Replace the shown cameras by ``cameras`` of ``result``; returns the new layers."""
        target = self._target(viewer)
        for layer in [ly for ly in target.layers if meta(ly).get("kind") in CAMERA_KINDS]:
            target.layers.remove(layer)
        self.disagreements = {}
        added: list[Any] = []
        for cam in cameras:
            data, dis = camera_layers(result, cam, threshold)
            added += add_layers(target, data)
            self.disagreements[cam] = dis
        target.dims.ndisplay = 2
        grid = viewer_grid(target)
        grid.enabled = len(cameras) > 1
        if len(cameras) > 1:
            grid.stride = 4  # one cell per camera: video, predictions, rings, lines
        target.reset_view()
        self._from_main()
        return added

    def set_threshold(self, threshold: float) -> None:
        """Recolour the disagreement lines: red from ``threshold`` px."""
        if self.viewer is None or not _alive(self.viewer):
            return
        for layer in self.viewer.layers:
            if meta(layer).get("kind") == KIND_DISAGREEMENT:
                layer.edge_contrast_limits = (0.0, max(float(threshold), 1e-6))

    def summaries(self, threshold: float) -> list[str]:
        return [f"{cam}: " + (dis.summary(threshold) if dis is not None else
                              "no 2D predictions found to compare with")
                for cam, dis in self.disagreements.items()]

    def next_large_error(self, threshold: float) -> int | None:
        """Go (both viewers) to the next frame after the current one where a shown camera's
        prediction is more than ``threshold`` px from the reprojection; wraps around."""
        frames = np.unique(np.concatenate(
            [d.frame[d.error > threshold] for d in self.disagreements.values()
             if d is not None] or [np.zeros(0, int)]))
        if not len(frames):
            return None
        now = int(round(self.main.dims.point[0])) if self.main.dims.ndim > 2 else -1
        later = frames[frames > now]
        frame = int(later[0] if len(later) else frames[0])
        self.main.dims.set_point(0, frame)
        if self.viewer is not None and _alive(self.viewer):
            self.viewer.dims.set_point(0, frame)
        return frame

    # --- frames in step ---------------------------------------------------------------------
    def _from_main(self, *_: Any) -> None:
        self._copy(self.main, self.viewer)

    def _from_cameras(self, *_: Any) -> None:
        self._copy(self.viewer, self.main)

    def _copy(self, source: Any, target: Any) -> None:
        if self._syncing or source is None or target is None:
            return
        if source.dims.ndim < 3 or target.dims.ndim < 3:
            return
        self._syncing = True
        try:
            t = float(source.dims.point[0])
            if abs(float(target.dims.point[0]) - t) > 1e-6:
                target.dims.set_point(0, t)
        except Exception:  # noqa: BLE001 - a viewer being closed
            pass
        finally:
            self._syncing = False

    def close(self) -> None:
        if self.own_viewer and self.viewer is not None and _alive(self.viewer):
            self.viewer.close()
        self.viewer = None


def _alive(viewer: Any) -> bool:
    from qtpy.compat import isalive

    try:
        return isalive(viewer.window._qt_window)
    except (AttributeError, RuntimeError):
        return False
