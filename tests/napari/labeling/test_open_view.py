"""First impression on opening a project: the whole frame in view after the docks open,
and a frame slider named "frame" that starts at 0 (napari's default label read "-3")."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from labeling_helpers import make_project

pytestmark = pytest.mark.gui


def _canvas_pixel(viewer, y: float, x: float) -> tuple[float, float]:
    """Canvas (row, col) showing world point (y, x) in the 2D view."""
    cam = viewer.scene.camera
    h, w = viewer.canvas.size
    cy, cx = cam.center[-2:]
    return h / 2 + (y - cy) * cam.zoom, w / 2 + (x - cx) * cam.zoom


def _assert_whole_frame_visible(viewer, image: np.ndarray, shot: np.ndarray) -> None:
    """Each corner of the frame is inside the canvas, and the screenshot shows the frame's
    own pixels there."""
    h, w = viewer.canvas.size
    scale = shot.shape[0] / h
    height, width = image.shape[:2]
    inset = 4
    for y, x in [(inset, inset), (inset, width - 1 - inset), (height - 1 - inset, inset),
                 (height - 1 - inset, width - 1 - inset)]:
        row, col = _canvas_pixel(viewer, y, x)
        assert 0 <= row < h and 0 <= col < w, ((y, x), (row, col), (h, w))
        seen = shot[int(row * scale), int(col * scale), :3].astype(float)
        expected = image[y - 1:y + 2, x - 1:x + 2, :3].reshape(-1, 3).astype(float)
        assert np.abs(expected - seen).max(axis=1).min() < 40, ((y, x), seen, expected[4])
    # and the frame fills the canvas on its tighter side (napari's 5 % margin)
    zoom = viewer.scene.camera.zoom
    assert max(width * zoom / w, height * zoom / h) == pytest.approx(0.95, abs=0.02)


def _assert_slider_starts_at_frame_0(viewer) -> None:
    assert viewer.dims.axis_labels[0] == "frame"
    assert viewer.dims.range[0].start == 0 and viewer.dims.current_step[0] == 0
    slider = viewer.window._qt_viewer.dims.slider_widgets[0]
    assert slider.slider.minimum() == 0 and slider.slider.value() == 0
    assert slider.axis_label.text() == "frame"


def test_openfield_whole_frame_visible_after_the_docks_open(make_napari_viewer, qtbot,
                                                            openfield_dir, tmp_path):
    from markerless.napari.jupyter import DEFAULT_DOCKS, add_docks, open_project

    shutil.copytree(openfield_dir / "labeled-data", tmp_path / "labeled-data")
    shutil.copy(openfield_dir / "config.yaml", tmp_path / "config.yaml")
    viewer = make_napari_viewer(show=True)
    open_project(viewer, tmp_path / "config.yaml")  # what `view_project` does, then the docks
    before = viewer.canvas.size
    add_docks(viewer, DEFAULT_DOCKS, config=tmp_path / "config.yaml")
    qtbot.waitUntil(lambda: viewer.canvas.size[1] < before[1], timeout=5000)  # docks laid out
    qtbot.wait(50)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    image = np.asarray(viewer.layers["m4s1"].data[0])
    assert image.shape == (480, 640, 3)
    _assert_whole_frame_visible(viewer, image, shot)
    _assert_slider_starts_at_frame_0(viewer)


def test_fit_on_open_keeps_a_zoom_the_user_chose(make_napari_viewer, qtbot, tmp_path):
    """Synthetic project: the Labeling dock fits the frame as it docks; once the user zooms,
    opening another dock leaves the zoom alone."""
    config = make_project(tmp_path)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(config), plugin="markerless")  # napari's File > Open (no dock yet)
    assert viewer.dims.axis_labels == ("frame", "y", "x") and viewer.dims.range[0].start == 0
    before = viewer.canvas.size
    viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    qtbot.waitUntil(lambda: viewer.canvas.size[1] < before[1], timeout=5000)
    qtbot.wait(50)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    _assert_whole_frame_visible(viewer, np.asarray(viewer.layers["clip"].data[0]), shot)

    viewer.scene.camera.zoom *= 3  # the user zooms in
    zoom, size = viewer.scene.camera.zoom, viewer.canvas.size
    viewer.window.add_plugin_dock_widget("markerless", "Extract frames", tabify=False)
    qtbot.waitUntil(lambda: viewer.canvas.size != size, timeout=5000)
    qtbot.wait(50)
    assert viewer.scene.camera.zoom == pytest.approx(zoom)
