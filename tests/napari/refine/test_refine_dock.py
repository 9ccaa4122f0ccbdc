"""Refine and results dock in a real viewer, on analysis results written from the
synthetic ground truth with three injected jumps (no model needed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.napari.jupyter import make_example_project

pytestmark = pytest.mark.gui

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
JUMPS = (13, 29, 45)  # frames whose snout jumps 30 px to the right (and back after)


@pytest.fixture
def project(tmp_path):
    """``(config, video, truth)``: the example project with an analysis .h5 next to its video."""
    from markerless import synthetic
    from markerless.io.dlc_analysis import write_analysis

    config = make_example_project(tmp_path / "work")
    video = config.parent / "videos" / "synthetic-mouse.mp4"
    _, truth = synthetic.generate(synthetic.SyntheticConfig(height=96, width=128, n_frames=60))
    pred = truth.select_frames(np.arange(60))
    pred.frames = list(range(60))
    pred.xy = pred.xy.copy()
    pred.xy[list(JUMPS), 0, 0, 0] += 30
    pred.likelihood = np.full(pred.xy.shape[:3], 0.9)
    pred.likelihood[:, 0, 3] = 0.3  # tailbase: always an unsure guess
    pred.scorer = "DLC_resnettiny_exampleJan01shuffle1_100"
    write_analysis(pred, video.parent / f"{video.stem}{pred.scorer}.h5")
    return config, video, truth


def _wait(qtbot, dock):
    qtbot.waitUntil(lambda: not dock.busy, timeout=120_000)
    assert dock.job.last_error is None, dock.job.last_error


def test_refine_loop_and_results(make_napari_viewer, qtbot, tmp_path, project):
    from markerless.io.config import read_config
    from markerless.io.dlc_labels import read_labels
    from markerless.napari.jupyter import open_project
    from markerless.napari.refine.dock import RefineWidget

    config, video, truth = project
    viewer = make_napari_viewer(show=True)
    human = [ly for ly in open_project(viewer, config) if ly._type_string == "points"][0]
    labeled = {int(Path(f).stem[3:]) for f in human.metadata["markerless"]["frames"]}
    dock = RefineWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Refine")
    dock.set_config(config)
    assert dock.video.currentData() == str(video)

    # outliers: the jump algorithm finds the jumps (and the jumps back), 3 are picked
    dock.numframes.setValue(3)
    dock.extraction.setCurrentText("uniform")
    dock.extract_outliers()
    _wait(qtbot, dock)
    candidates = {f + d for f in JUMPS for d in (0, 1)} - labeled
    picked = dock.last_result["frames"]
    assert len(picked) == 3 and set(picked) <= candidates
    machine = viewer.layers["machine labels synthetic-mouse"]
    images = viewer.layers["synthetic-mouse outliers"]
    assert images.data.shape == (3, 96, 128, 3)
    assert machine.metadata["markerless"]["kind"] == "machine"
    # styled apart from the human labels
    assert machine.symbol[0] != human.symbol[0]
    np.testing.assert_allclose(machine.border_color[0], [1.0, 0.843, 0.0, 1.0], atol=0.01)
    assert len(machine.data) == 3 * 4
    # the guesses are the analysis values of the picked frames, in frame order
    feats = machine.features
    for row, frame in enumerate(sorted(picked)):
        sel = (machine.data[:, 0] == row) & (feats["bodypart"] == "leftear").to_numpy()
        np.testing.assert_allclose(machine.data[sel, 1:][0], truth.xy[frame, 0, 1, ::-1])

    # correct the snout of the first frame, save: it becomes a label; unsure tailbases are left out
    first = sorted(picked)[0]
    is_snout = (feats["bodypart"] == "snout").to_numpy()
    snout = np.flatnonzero((machine.data[:, 0] == 0) & is_snout)[0]
    data = machine.data.copy()
    data[snout, 1:] = truth.xy[first, 0, 0, ::-1] + 0.5
    machine.data = data
    path = dock.save_corrections()
    labels = read_labels(path)
    assert labels.n_frames == len(labeled) + 3
    row = [Path(f).name for f in labels.frames].index(f"img{first:02d}.png")
    np.testing.assert_allclose(labels.xy[row, 0, 0], truth.xy[first, 0, 0] + 0.5)
    np.testing.assert_allclose(labels.xy[row, 0, 1], truth.xy[first, 0, 1])
    assert np.isnan(labels.xy[row, 0, 3]).all()

    # moving a saved label again asks first; "no" leaves the file alone
    data[snout, 1:] += 5
    machine.data = data
    asked = []
    dock.confirm = lambda title, text: asked.append(text) or False
    assert dock.save_corrections() is None
    assert asked and "1 labels" in asked[0]
    np.testing.assert_allclose(read_labels(path).xy[row, 0, 0], truth.xy[first, 0, 0] + 0.5)
    dock.confirm = lambda title, text: True
    dock.save_corrections()
    np.testing.assert_allclose(read_labels(path).xy[row, 0, 0], truth.xy[first, 0, 0] + 5.5)

    # every folder is labeled or refined: merge moves the project to iteration 1
    assert dock.merge() == 1
    assert read_config(config)["iteration"] == 1

    # results: filter (layers shown), labeled video (progress to the last frame), plots
    dock.tabs.setCurrentIndex(1)
    dock.filter_predictions()
    _wait(qtbot, dock)
    filtered = Path(dock.last_result["filtered"])
    assert filtered.is_file() and filtered.stem.endswith("_filtered")
    assert filtered.stem in viewer.layers
    dock.labeled_video()
    _wait(qtbot, dock)
    out = Path(dock.last_result["output"])
    assert out.is_file() and out.name.endswith("_filtered_labeled.mp4")
    assert dock.job.progress.value() == dock.job.progress.maximum() == 60
    dock.show_plots()
    _wait(qtbot, dock)
    assert set(dock.figures.canvases) == {"trajectory", "plot", "plot-likelihood", "hist"}
    pixels = dock.figures.canvases["trajectory"].to_array()
    assert pixels[..., :3].std() > 5
    # the picture for the docs: the outlier frames with their machine labels
    for layer in viewer.layers:
        layer.visible = layer.name in ("synthetic-mouse outliers", machine.name)
    viewer.layers.selection.active = machine
    viewer.dims.set_current_step(0, 0)
    dock.tabs.setCurrentIndex(0)
    _screenshot(viewer, qtbot, "refine-dock.png", tmp_path)



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
