"""The training-fraction choice of the Training, Analysis and Refine docks.

A project with ``TrainingFraction: [0.8, 0.95]`` has one model folder per fraction
(``...-trainset80shuffle1``, ``...-trainset95shuffle1``). Choosing index 1 must train,
evaluate, analyse and filter with the trainset95 model only; a single-fraction
project keeps the docks as they were (no choice shown).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from markerless.napari.jupyter import make_example_project

pytestmark = pytest.mark.gui


def _two_fractions(config: Path) -> Path:
    from markerless.io.config import read_config, write_config

    cfg = read_config(config)
    cfg["TrainingFraction"] = [0.8, 0.95]
    write_config(cfg, config)
    return config


@pytest.fixture
def project(tmp_path) -> Path:
    """The synthetic example project (16 labeled frames) with fractions 0.8 and 0.95."""
    return _two_fractions(make_example_project(tmp_path / "work"))


def _docks(viewer):
    from markerless.napari.analysis.dock import AnalysisWidget
    from markerless.napari.refine.dock import RefineWidget
    from markerless.napari.training.dock import TrainingWidget

    docks = {"training": TrainingWidget(viewer), "analysis": AnalysisWidget(viewer),
             "refine": RefineWidget(viewer)}  # fmt: skip
    for name, dock in docks.items():
        viewer.window.add_dock_widget(dock, name=name)
    return docks


def _model(config: Path, pct: int) -> Path:
    (folder,) = config.parent.glob(f"dlc-models/iteration-0/*-trainset{pct}shuffle1")
    return folder


def test_choice_is_listed_shared_and_hidden_for_one_fraction(make_napari_viewer, tmp_path,
                                                             project):
    from markerless.io.config import read_config, write_config
    from markerless.napari.session import session

    viewer = make_napari_viewer()
    docks = _docks(viewer)
    docks["training"].set_config(project)  # the others follow the viewer's project
    for dock in docks.values():
        assert dock.config.path == project
        combo = dock.trainset.combo
        assert [combo.itemText(i) for i in range(combo.count())] == [
            "0.80 (index 0)", "0.95 (index 1)"]
        assert dock.trainset.fractions == [0.8, 0.95]
        assert not dock.trainset.isHidden() and not dock.trainset.label.isHidden()
        assert dock.trainset.index == 0

    # one dock's choice is every dock's (and the session's)
    docks["training"].trainset.combo.setCurrentIndex(1)
    assert [d.trainset.index for d in docks.values()] == [1, 1, 1]
    assert session(viewer).trainingsetindex == 1
    docks["refine"].trainset.combo.setCurrentIndex(0)
    assert [d.trainset.index for d in docks.values()] == [0, 0, 0]

    # edited settings (the Project dock emits files_changed): the choices follow, the
    # choice stays while it exists
    docks["analysis"].trainset.combo.setCurrentIndex(1)
    cfg = read_config(project)
    cfg["TrainingFraction"] = [0.5, 0.95, 0.875]
    write_config(cfg, project)
    session(viewer).files_changed.emit()
    for dock in docks.values():
        combo = dock.trainset.combo
        assert [combo.itemText(i) for i in range(3)] == [
            "0.50 (index 0)", "0.95 (index 1)", "0.875 (index 2)"]
        assert dock.trainset.index == 1

    # another project, with one fraction: hidden everywhere, index 0
    single = make_example_project(tmp_path / "single")
    docks["analysis"].set_config(single)
    for dock in docks.values():
        assert dock.config.path == single
        assert dock.trainset.isHidden() and dock.trainset.label.isHidden()
        assert dock.trainset.index == 0
        assert dock.trainset.fractions == [0.8]
    assert session(viewer).trainingsetindex == 0

    # a dock opened later starts on the viewer's project and choice
    docks["training"].set_config(project)
    docks["training"].trainset.combo.setCurrentIndex(1)
    from markerless.napari.analysis.dock import AnalysisWidget

    late = AnalysisWidget(viewer)
    assert late.config.path == project and late.trainset.index == 1


def test_index_1_trains_evaluates_and_analyses_its_own_model(make_napari_viewer, qtbot,
                                                             project):
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.training.jobs import ensure_training_dataset

    viewer = make_napari_viewer()
    docks = _docks(viewer)
    training = docks["training"]
    training.set_config(project)
    training.trainset.combo.setCurrentIndex(1)
    training.recipe.setCurrentText("test")
    training.batch_size.setValue(4)
    training.iterations.setValue(4)

    assert training.start(resume=False) is not None
    qtbot.waitUntil(lambda: not training.busy, timeout=180_000)
    assert training.job.last_error is None, training.job.last_error

    # the trainset95 model was trained; the trainset80 one was not touched
    m95 = _model(project, 95)
    m80 = m95.with_name(m95.name.replace("trainset95", "trainset80"))
    assert sorted(p.name for p in (m95 / "train").glob("snapshot-*.msgpack")) == [
        "snapshot-4.msgpack"]
    assert not m80.exists()  # only the chosen fraction's dataset was made
    split = json.loads(Path(
        next(project.parent.glob("training-datasets/iteration-0/*/split_95shuffle1.json"))
    ).read_text())
    assert (len(split["train_indices"]), len(split["test_indices"])) == (15, 1)

    # evaluated on its own split, results in its own evaluation folder
    ev = training.evaluation
    assert ev is not None and ev["step"] == 4
    assert ev["summary"]["%Training dataset"] == 95
    assert ev["folder"].name.endswith("-trainset95shuffle1")
    assert list(ev["folder"].glob("*shuffle1_4-results-per-bodypart.csv"))
    assert not (project.parent / "evaluation-results" / "iteration-0" / m80.name).exists()

    # a new dataset made for index 0 leaves the trained index-1 model's recipe alone
    recorded = (m95 / "train" / "pose_cfg.yaml").read_bytes()
    assert ensure_training_dataset(project, 1, "test", {"net_type": "mobilenet_v2"}, 0) in {
        "created", "rebuilt"}
    assert (m95 / "train" / "pose_cfg.yaml").read_bytes() == recorded
    assert b"mobilenet_v2" in (m80 / "train" / "pose_cfg.yaml").read_bytes()

    # Analysis follows the choice: the trainset95 snapshot, the trainset95 model
    analysis = docks["analysis"]
    assert analysis.trainset.index == 1
    # the snapshot list refreshed itself when training ended (no Refresh click)
    assert analysis.snapshot.count() == 1 and analysis.snapshot.currentText().startswith("step 4")
    assert analysis.analyze() is not None
    qtbot.waitUntil(lambda: not analysis.busy, timeout=180_000)
    assert analysis.job.last_error is None, analysis.job.last_error
    video = project.parent / "videos" / "synthetic-mouse.mp4"
    (h5,) = video.parent.glob("synthetic-mouseDLC_resnettiny_*shuffle1_4.h5")
    meta = json.loads(h5.with_name(h5.stem + "_meta.json").read_text())["data"]
    assert meta["training set fraction"] == pytest.approx(0.95)
    assert "trainset95shuffle1" in meta["snapshot"]
    assert str(h5) in analysis.results

    # the same file name written by the other fraction's model (scorer names lack the
    # fraction): Refine does not take it, Analyse writes this model's again
    meta_path = h5.with_name(h5.stem + "_meta.json")
    record = json.loads(meta_path.read_text())
    record["data"]["training set fraction"] = 0.8
    record["data"]["model_fingerprint"] = "weights of the 0.8 model"
    meta_path.write_text(json.dumps(record))
    refine = docks["refine"]
    assert refine.trainset.index == 1
    assert refine._inputs() is None
    events = []
    analysis.analyze().yielded.connect(events.append)
    qtbot.waitUntil(lambda: not analysis.busy, timeout=180_000)
    assert analysis.job.last_error is None, analysis.job.last_error
    assert events[-1]["status"] == "done" and events[-1]["output"] == str(h5)
    meta = json.loads(meta_path.read_text())["data"]
    assert meta["training set fraction"] == pytest.approx(0.95)

    # Refine finds that model's output, filters it; index 0 (no model, and the file
    # records 0.95) has none
    assert refine._inputs()[2] == h5
    refine.filter_predictions()
    qtbot.waitUntil(lambda: not refine.busy, timeout=120_000)
    assert refine.job.last_error is None, refine.job.last_error
    filtered = Path(refine.last_result["filtered"])
    assert filtered.name == h5.stem + "_filtered.h5"
    np.testing.assert_array_equal(read_analysis(filtered).xy.shape, read_analysis(h5).xy.shape)
    refine.trainset.combo.setCurrentIndex(0)
    assert refine._inputs() is None
    assert "has no results" in refine.job.status.text()
