"""Training dock in a real viewer: train a tiny network, stop, resume, evaluate.

The project is the notebook's synthetic example (60 frames 96x128, 16 labeled
frames from the ground truth); the network is ``resnet_tiny`` on 64 px crops.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.napari.jupyter import make_example_project

pytestmark = pytest.mark.gui

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture(scope="module")
def jax_cache(request, tmp_path_factory):
    """A persistent XLA compilation cache for this module: a resumed run compiles the
    same train step again, which then takes a cache lookup instead of a compile."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    try:
        folder = request.config.cache.mkdir("markerless-jax-cache")
    except AttributeError:  # -p no:cacheprovider
        folder = tmp_path_factory.mktemp("jax-cache")
    old = {k: getattr(jax.config, k) for k in ("jax_compilation_cache_dir",
                                                "jax_persistent_cache_min_compile_time_secs")}
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    cc.reset_cache()
    yield folder
    for key, value in old.items():
        jax.config.update(key, value)
    cc.reset_cache()


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


def _dock(viewer, config):
    from markerless.napari.training.dock import TrainingWidget

    dock = TrainingWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Training")
    dock.set_config(config)
    dock.recipe.setCurrentText("test")
    dock.net.setCurrentText("resnet_tiny")
    dock.batch_size.setValue(4)
    dock.augment.setCurrentText("light")
    dock.iterations.setValue(20)
    return dock


@pytest.mark.slow
def test_train_stop_resume_evaluate(make_napari_viewer, qtbot, tmp_path, jax_cache):
    from qtpy.QtCore import QTimer

    from markerless.napari.jupyter import open_project
    from markerless.training.checkpoint import load_file

    config = make_example_project(tmp_path / "work")
    viewer = make_napari_viewer(show=True)
    open_project(viewer, config)  # the labeled frames, for the screenshot
    dock = _dock(viewer, config)

    # the GUI thread keeps processing events while the worker trains
    ticks = {"busy": 0}

    def tick():
        ticks["busy"] += dock.busy

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    assert dock.start(resume=False) is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=240_000)
    timer.stop()
    assert dock.job.last_error is None, dock.job.last_error
    assert ticks["busy"] > 20

    # live loss curve: one point per step (displayiters 1 for 20 iterations)
    steps, losses = dock.loss_plot.steps, dock.loss_plot.losses
    np.testing.assert_array_equal(steps, np.arange(1, 21))
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert dock.job.progress.value() == dock.job.progress.maximum() == 20
    train = next(config.parent.glob("dlc-models/iteration-0/*trainset80shuffle1")) / "train"
    snapshots = sorted(p.name for p in train.glob("snapshot-*.msgpack"))
    assert snapshots == ["snapshot-20.msgpack"]

    # evaluation: summary, per-bodypart bars and table for the 4 bodyparts
    ev = dock.evaluation
    assert ev is not None and ev["step"] == 20
    assert np.isfinite(ev["summary"][" Train error(px)"])
    assert dock.eval_table.rowCount() == 4
    assert {dock.eval_table.item(r, 0).text() for r in range(4)} == {
        "snout", "leftear", "rightear", "tailbase"}
    assert np.isfinite(dock.eval_plot.bars["test"]).all()
    assert "Step 20: train" in dock.eval_summary.text()
    _screenshot(viewer, qtbot, "training-dock.png", tmp_path)

    # Resume to 60 steps, stop after step 25: the trainer saves the run where it stopped
    dock.iterations.setValue(60)
    dock.evaluate_after.setChecked(False)
    worker = dock.start(resume=True)
    worker.yielded.connect(lambda info: info.get("step", 0) >= 25 and dock.stop())
    qtbot.waitUntil(lambda: not dock.busy, timeout=240_000)
    assert dock.job.last_error is None, dock.job.last_error
    stopped_at = int(dock.loss_plot.steps[-1])
    assert 25 <= stopped_at < 60
    _, meta = load_file(train / "train_state.msgpack")
    assert meta["step"] == stopped_at
    assert f"Stopped at step {stopped_at}" in dock.job.status.text()

    # ... and Resume continues from there to the end
    dock.start(resume=True)
    qtbot.waitUntil(lambda: not dock.busy, timeout=240_000)
    assert dock.job.last_error is None, dock.job.last_error
    steps = dock.loss_plot.steps
    np.testing.assert_array_equal(steps, np.arange(1, 61))
    assert (train / "snapshot-60.msgpack").is_file()


def test_resume_without_checkpoint_is_refused(make_napari_viewer, tmp_path):
    from markerless.io.config import default_config, write_config

    project = tmp_path / "empty-project"
    project.mkdir()
    cfg = default_config(task="empty", scorer="me", date="Jan01", project_path=str(project),
                         bodyparts=["a", "b"])
    write_config(cfg, project / "config.yaml")
    viewer = make_napari_viewer()
    from markerless.napari.training.dock import TrainingWidget

    dock = TrainingWidget(viewer)
    dock.set_config(project / "config.yaml")
    assert dock.start(resume=True) is None
    assert "Nothing to resume" in dock.job.status.text()
    assert not dock.busy
