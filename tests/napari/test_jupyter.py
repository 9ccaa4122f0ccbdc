"""The notebook API (markerless.napari.jupyter) in a real viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from markerless.napari import jupyter

pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    """The example project and an analysis .h5 of its video: the ground truth, likelihood
    0.9 except tailbase 0.3."""
    from markerless import synthetic
    from markerless.io.dlc_analysis import write_analysis

    config = jupyter.make_example_project(tmp_path / "work")
    video = config.parent / "videos" / "synthetic-mouse.mp4"
    _, truth = synthetic.generate(synthetic.SyntheticConfig(height=96, width=128, n_frames=60))
    truth.frames = list(range(60))
    truth.likelihood = np.full(truth.xy.shape[:3], 0.9)
    truth.likelihood[..., 3] = 0.3
    truth.scorer = "DLC_resnettiny_exampleJan01shuffle1_100"
    write_analysis(truth, video.parent / f"{video.stem}{truth.scorer}.h5")
    return config, video


def test_example_project_is_ready_to_train(tmp_path):
    from markerless.io.config import read_config
    from markerless.io.dlc_labels import read_labels

    config = jupyter.make_example_project(tmp_path, n_frames=30, numframes2pick=6)
    cfg = read_config(config)
    assert cfg["TrainingFraction"] == [0.8]
    (labels,) = config.parent.glob("labeled-data/synthetic-mouse/CollectedData_*.h5")
    poses = read_labels(labels)
    assert poses.n_frames == 6 and np.isfinite(poses.xy).all()
    assert (config.parent / "videos" / "synthetic-mouse.mp4").is_file()


def test_open_project_and_show_predictions(make_napari_viewer, project):
    config, video = project
    viewer = make_napari_viewer()
    layers = jupyter.open_project(viewer, config)
    kinds = sorted(ly._type_string for ly in layers)
    assert kinds == ["image", "points"]
    points = next(ly for ly in layers if ly._type_string == "points")
    assert len(points.data) == 16 * 4  # 16 labeled frames x 4 bodyparts

    image, preds, tracks = jupyter.show_predictions(viewer, video, config=config)
    assert image.data.shape == (60, 96, 128, 3)
    assert len(preds.data) == 60 * 4
    assert preds.shown.sum() == 60 * 3  # config pcutoff 0.6 hides the tailbase
    assert tracks.data.shape == (180, 4)
    assert set(tracks.data[:, 0].astype(int)) == {0, 1, 2}
    # an explicit file and cutoff; the same layers are updated, not duplicated
    n = len(viewer.layers)
    h5 = next(video.parent.glob("*.h5"))
    _, preds, tracks = jupyter.show_predictions(viewer, video, h5, pcutoff=0.2)
    assert len(viewer.layers) == n
    assert preds.shown.all() and tracks.data.shape == (240, 4)


def test_show_predictions_without_results_says_so(make_napari_viewer, tmp_path):
    from markerless.errors import LabelFileError

    viewer = make_napari_viewer()
    video = tmp_path / "nothing.mp4"
    video.touch()
    with pytest.raises(LabelFileError, match="No analysis results"):
        jupyter.show_predictions(viewer, video)


def test_add_docks(make_napari_viewer, qtbot, project):
    from markerless.napari.analysis.dock import AnalysisWidget
    from markerless.napari.refine.dock import RefineWidget
    from markerless.napari.training.dock import TrainingWidget

    config, _ = project
    viewer = make_napari_viewer()
    docks = jupyter.add_docks(viewer, ("training", "analysis", "refine"), config=config)
    assert isinstance(docks["training"], TrainingWidget)
    assert isinstance(docks["analysis"], AnalysisWidget)
    assert isinstance(docks["refine"], RefineWidget)
    for dock in docks.values():
        assert dock.config.path == config
    video = config.parent / "videos" / "synthetic-mouse.mp4"
    assert docks["analysis"].checked_videos() == [video]
    # predictions shown from the notebook API follow the open Analysis dock's slider
    _, preds, tracks = jupyter.show_predictions(viewer, video, config=config)
    assert preds.shown.sum() == 180
    docks["analysis"].pcutoff.setValue(0.2)
    assert preds.shown.all()
    qtbot.waitUntil(lambda: not docks["analysis"].tracks_pending)
    assert len(tracks.data) == 240
    with pytest.raises(ValueError, match="Unknown dock"):
        jupyter.add_docks(viewer, ("nope",))
    # a dock opened later follows the viewer's project (shared with the Project dock)
    late = RefineWidget(viewer)
    qtbot.addWidget(late)
    assert late.config.path == config


def test_view_project_blocks_in_napari_run(make_napari_viewer, monkeypatch, project):
    import napari

    config, _ = project
    ran = []
    monkeypatch.setattr(napari, "Viewer", lambda **kw: make_napari_viewer(**kw))
    monkeypatch.setattr(napari, "run", lambda: ran.append(True))
    viewer = jupyter.view_project(config.parent, block=True, docks=("analysis",))
    assert ran == [True]
    names = [ly.name for ly in viewer.layers]
    assert "synthetic-mouse video" in names
    assert any(n.endswith("tracks") for n in names)
    assert any("Analysis" in name for name in viewer.window.dock_widgets)
