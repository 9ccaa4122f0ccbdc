"""Frames dock: extract in a worker, add the frame on screen, labels stay on their images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


def test_extract_add_current_frame_and_labels_follow_their_images(make_napari_viewer, qtbot,
                                                                   tmp_path):
    import imageio.v3 as iio

    from markerless.io.dlc_labels import read_labels
    from markerless.io.video import VideoReader
    from markerless.napari.layers.lookup import frames_layer, meta, points_layer_for, video_layers
    from markerless.napari.layers.writer import write_points
    from markerless.napari.session import session
    from markerless.napari.workers import busy
    from markerless.project.create import create_new_project
    from markerless.synthetic import SyntheticConfig, write_clip

    video = tmp_path / "clip.mp4"
    write_clip(video, SyntheticConfig(height=128, width=128, n_frames=60, bodyparts=4, seed=4),
               gop=10)
    config = Path(create_new_project("mice", "tester", [video], working_directory=tmp_path,
                                     bodyparts=["snout", "tailbase"]))
    folder = config.parent / "labeled-data" / "clip"
    viewer = make_napari_viewer()
    session(viewer).set(config)
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Extract frames")
    assert [dock.video_combo.itemText(i) for i in range(dock.video_combo.count())] == ["clip.mp4"]
    assert dock.n_spin.value() == 20  # numframes2pick of config.yaml

    dock.algo_combo.setCurrentText("uniform")
    dock.n_spin.setValue(4)
    dock.extract_button.click()
    qtbot.waitUntil(lambda: not busy(dock), timeout=20000)
    assert sorted(p.name for p in folder.glob("*.png")) == [
        "img00.png", "img20.png", "img39.png", "img59.png"]
    assert dock.progress.value() == dock.progress.maximum() == 1
    assert "Extracted 4 new frames" in dock.status.text()
    points = points_layer_for(viewer, folder)
    assert frames_layer(viewer, folder).data.shape[0] == 4

    # an unsaved label on img39 (image 2 of 4), placed with the Labeling dock open
    _, labeling = viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    labeling.ask = lambda title, text, buttons: "Discard"  # unsaved at teardown
    labeling.keypoint_list.setCurrentRow(1)  # tailbase
    points.add([2, 50.0, 60.0])

    # open the video, scroll to frame 30, add it: img30 goes between img20 and img39
    dock.open_video_button.click()
    qtbot.waitUntil(lambda: bool(video_layers(viewer)), timeout=10000)
    video_layer = video_layers(viewer)[0]
    viewer.layers.selection.active = video_layer
    viewer.dims.set_current_step(0, 30)
    dock.add_button.click()
    qtbot.waitUntil(lambda: not busy(dock), timeout=10000)
    assert "Added frame 30 as img30.png" in dock.status.text()
    with VideoReader(video) as reader:
        np.testing.assert_array_equal(iio.imread(folder / "img30.png"), reader[30])
    frames = [Path(f).name for f in meta(points)["frames"]]
    assert frames == ["img00.png", "img20.png", "img30.png", "img39.png", "img59.png"]
    assert frames_layer(viewer, folder).data.shape[0] == 5
    np.testing.assert_array_equal(points.data, [[3, 50.0, 60.0]])  # still on img39
    assert labeling.state.n_frames == 5 and labeling.state.labeled[3, 1]
    # browsing the video goes on: the folder's layers (other frame axis) step aside
    assert video_layer.visible and not points.visible
    assert not frames_layer(viewer, folder).visible

    # adding it again keeps the existing image (it may carry labels)
    mtime = (folder / "img30.png").stat().st_mtime_ns
    dock.add_button.click()
    qtbot.waitUntil(lambda: not busy(dock), timeout=10000)
    assert "already" in dock.status.text()
    assert (folder / "img30.png").stat().st_mtime_ns == mtime

    # saved through the writer: the label belongs to img39
    write_points(str(folder / "CollectedData_tester.h5"), points.data,
                 {"metadata": points.metadata, "features": points.features})
    poses = read_labels(folder / "CollectedData_tester.h5")
    i39 = [Path(str(f)).name for f in poses.frames].index("img39.png")
    np.testing.assert_array_equal(poses.xy[i39, 0, 1], [60.0, 50.0])
    assert poses.n_labeled == 1

    _grab(dock, "frames-dock.png")


def _grab(widget, name: str) -> None:
    """Dock image, not blank; saved to docs/images when MARKERLESS_SCREENSHOTS is set."""
    import imageio.v3 as iio

    image = widget.grab().toImage()
    w, h = image.width(), image.height()
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint8).reshape(h, image.bytesPerLine() // 4, 4)[:, :w, :3]
    assert pixels.std() > 10, f"{name} screenshot is blank"
    if os.environ.get("MARKERLESS_SCREENSHOTS"):
        path = DOCS_IMAGES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(path, pixels[..., ::-1], optimize=True)  # BGRA -> RGB
        assert path.stat().st_size < 200_000
