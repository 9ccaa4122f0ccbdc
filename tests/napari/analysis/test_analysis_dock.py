"""Analysis dock in a real viewer: analyse a video, check the layers, move the pcutoff.

The model is an untrained ``resnet_tiny`` snapshot (saved at step 0): its
predictions are arbitrary but real, which is all the dock's plumbing needs, and
no training step has to be compiled.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.napari.jupyter import make_example_project

pytestmark = pytest.mark.gui

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture
def project(tmp_path) -> Path:
    """The synthetic example project with a step-0 resnet_tiny snapshot."""
    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import Trainer

    config = make_example_project(tmp_path / "work")
    create_training_dataset(config, recipe="test")
    Trainer(config, resume=False).save()
    return config


def test_analyse_from_dock(make_napari_viewer, qtbot, tmp_path, project):
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.analysis.dock import AnalysisWidget
    from markerless.napari.convert import bodypart_colors

    viewer = make_napari_viewer(show=True)
    dock = AnalysisWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Analysis")
    dock.set_config(project)
    video = project.parent / "videos" / "synthetic-mouse.mp4"
    assert dock.checked_videos() == [video]
    assert dock.snapshot.count() == 1 and dock.snapshot.currentText().startswith("step 0")
    assert dock.pcutoff.value() == pytest.approx(0.6)

    assert dock.analyze() is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=180_000)
    assert dock.job.last_error is None, dock.job.last_error
    assert dock.job.progress.value() == 60

    (h5,) = video.parent.glob("synthetic-mouseDLC_resnettiny_*shuffle1_0.h5")
    layers = dock.results[str(h5)]
    assert layers.image.data.shape == (60, 96, 128, 3)
    assert layers.image.rgb

    # every frame x bodypart is a point at the file's coordinates, on its video frame
    poses = read_analysis(h5)
    points = layers.points
    assert len(points.data) == 60 * 4
    feats = points.features
    for k, bp in enumerate(poses.bodyparts):
        sel = (feats["bodypart"] == bp).to_numpy()
        order = np.argsort(points.data[sel, 0])
        np.testing.assert_array_equal(points.data[sel][order, 0], np.arange(60))
        np.testing.assert_allclose(points.data[sel][order, 2], poses.xy[:, 0, k, 0])
        np.testing.assert_allclose(points.data[sel][order, 1], poses.xy[:, 0, k, 1])
        np.testing.assert_allclose(points.face_color[sel][0], bodypart_colors(poses.bodyparts)[bp])
    lik = feats["likelihood"].to_numpy()
    np.testing.assert_array_equal(points.shown, lik >= 0.6)

    # the pcutoff slider hides points below it and drops them from the tracks
    tracks = layers.tracks
    for value in (float(np.median(lik)), 0.0, 1.0):
        dock.pcutoff.setValue(value)
        keep = lik >= dock.pcutoff.value()
        np.testing.assert_array_equal(points.shown, keep)  # at once
        qtbot.waitUntil(lambda: not dock.tracks_pending)  # tracks when the slider rests
        assert tracks.visible == bool(keep.any())
        if not keep.any():
            continue
        assert tracks.data.shape == (keep.sum(), 4)
        # one track per bodypart, frames increasing, coordinates those of the shown points
        ids = tracks.data[:, 0].astype(int)
        assert set(ids) <= {0, 1, 2, 3}
        for k, bp in enumerate(poses.bodyparts):
            mine = tracks.data[ids == k]
            assert (np.diff(mine[:, 1]) > 0).all()
            sel = (feats["bodypart"] == bp).to_numpy() & keep
            want = points.data[sel][np.argsort(points.data[sel, 0])]
            np.testing.assert_allclose(mine[:, 1:], want)
            if len(mine):  # same colour as the points of that bodypart
                np.testing.assert_allclose(tracks.track_colors[ids == k][0],
                                           bodypart_colors(poses.bodyparts)[bp], atol=1e-6)
    dock.pcutoff.setValue(0.0)
    qtbot.waitUntil(lambda: not dock.tracks_pending)
    assert points.shown.all() and len(tracks.data) == 240

    # showing the results again updates the layers instead of adding more
    n_layers = len(viewer.layers)
    dock.show_existing()
    assert len(viewer.layers) == n_layers
    _screenshot(viewer, qtbot, "analysis-dock.png", tmp_path)

    # the Inference switch: the default let the model choose (trained on 64 px crops of
    # 96x128 frames: two-stage); "whole frames" analyses every pixel again
    import json

    meta = h5.with_name(h5.name.replace(".h5", "_meta.json"))
    assert json.loads(meta.read_text())["data"]["inference"]["two_stage"] is True
    dock.inference.setCurrentIndex(dock.inference.findText("whole frames"))
    dock.redo.setChecked(True)
    assert dock.analyze() is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=180_000)
    assert dock.job.last_error is None, dock.job.last_error
    assert json.loads(meta.read_text())["data"]["inference"] == {"two_stage": False}


def _screenshot(viewer, qtbot, name: str, tmp_path: Path) -> np.ndarray:
    """The window with its docks, non-blank; saved to tmp_path, and to docs/images when
    that file is missing or MARKERLESS_SCREENSHOTS=1 (so test runs leave the repo alone)."""
    import imageio.v3 as iio

    viewer.window.resize(1280, 860)
    qtbot.wait(200)
    image = viewer.screenshot(canvas_only=False, flash=False)
    assert image.std() > 10
    iio.imwrite(tmp_path / name, image)
    if os.environ.get("MARKERLESS_SCREENSHOTS") or not (DOCS_IMAGES / name).exists():
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        iio.imwrite(DOCS_IMAGES / name, image)
    return image
