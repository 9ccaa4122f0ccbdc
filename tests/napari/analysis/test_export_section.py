"""The Analysis dock's Export section in a real viewer: export, analyse with it, write NWB.

The model is an untrained ``resnet_tiny`` snapshot saved at step 0 (the "test" recipe):
its predictions are arbitrary but deterministic, so the exported model must give
*exactly* the numbers of ``analyze_videos`` with the same snapshot, and the NWB file
exactly those of the analysis file: neither needs a trained network, and no training
step has to be compiled. Only StableHLO is exported here (jax2onnx takes ~15 s); the
ONNX export itself is tested in tests/export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from markerless.napari.jupyter import make_example_project

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The synthetic example project (one 60-frame video) with a step-0 snapshot."""
    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import Trainer

    config = make_example_project(tmp_path_factory.mktemp("export-dock") / "work")
    create_training_dataset(config, recipe="test")
    Trainer(config, resume=False).save()
    return config


def _dock(make_napari_viewer, project):
    from markerless.napari.analysis.dock import AnalysisWidget

    viewer = make_napari_viewer()
    dock = AnalysisWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Analysis")
    dock.set_config(project)
    return viewer, dock


def _wait(qtbot, dock) -> None:
    qtbot.waitUntil(lambda: not dock.busy, timeout=120_000)
    assert dock.job.last_error is None, dock.job.last_error


def test_export_then_analyse_with_the_exported_model(make_napari_viewer, qtbot, tmp_path,
                                                     project, monkeypatch):
    from markerless import analyze_videos
    from markerless.export.runtime import read_exported_cfg
    from markerless.io.config import get_bodyparts, read_config
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.analysis import export_panel

    viewer, dock = _dock(make_napari_viewer, project)
    panel = dock.export
    video = project.parent / "videos" / "synthetic-mouse.mp4"
    assert panel.formats() == ["stablehlo", "onnx"]  # both by default
    for box in panel.format_boxes.values():
        box.setChecked(False)
    assert panel.export_model() is None and not dock.busy  # nothing to export: refused
    assert "Check StableHLO" in dock.job.status.text()
    panel.format_boxes["stablehlo"].setChecked(True)
    assert panel.formats() == ["stablehlo"]

    assert panel.export_model() is not None
    assert not panel.export_button.isEnabled()  # one job at a time
    assert not dock.job.stop_button.isEnabled()  # an export cannot stop midway
    _wait(qtbot, dock)
    assert panel.export_button.isEnabled()
    (folder,) = (project.parent / "exported-models").iterdir()
    assert {p.name for p in folder.iterdir()} == {"model.stablehlo", "pose_cfg.yaml",
                                                  "snapshot.msgpack"}  # fmt: skip
    cfg = read_exported_cfg(folder)
    assert cfg["files"] == {"stablehlo": "model.stablehlo", "weights": "snapshot.msgpack"}
    assert cfg["bodyparts"] == get_bodyparts(read_config(project))
    assert cfg["step"] == 0 and f"({cfg['snapshot']})" in dock.snapshot.currentText()
    assert folder.name in dock.job.status.text()
    assert panel.selected_path() == str(folder) and panel.folder.text() == str(folder)

    # the listed path: copied, and its folder opened
    panel.copy_path()
    from qtpy.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(folder)
    opened = []
    monkeypatch.setattr(export_panel, "open_folder", lambda f: opened.append(f) or True)
    panel.open_selected()
    assert opened == [folder]

    # a folder that is not an exported model: one line, no job
    panel.folder.setText(str(tmp_path))
    assert panel.analyze_with() is None and not dock.busy
    assert "not an exported model folder" in dock.job.status.text()
    assert "Traceback" not in dock.job.status.text()

    # analyse the project's video with the exported folder: results shown, and exactly
    # the numbers of analyze_videos with the snapshot itself
    panel.folder.setText(str(folder))
    assert panel.analyze_with() is not None
    _wait(qtbot, dock)
    h5 = video.parent / f"{video.stem}{folder.name}.h5"
    assert h5.is_file()
    layers = dock.results[str(h5)]
    assert layers.points in viewer.layers and len(layers.points.data) == 60 * 4
    got = read_analysis(h5)
    scorer = analyze_videos(project, [video], destfolder=tmp_path / "ref", progress=False)
    assert scorer == folder.name
    ref = read_analysis(tmp_path / "ref" / h5.name)
    np.testing.assert_array_equal(got.xy, ref.xy)
    np.testing.assert_array_equal(got.likelihood, ref.likelihood)


def test_write_nwb_from_dock(make_napari_viewer, qtbot, tmp_path, project):
    from pynwb import NWBHDF5IO

    from markerless import read_nwb
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.project_files import find_analysis
    from markerless.synthetic import SyntheticConfig, write_clip

    viewer, dock = _dock(make_napari_viewer, project)
    video = project.parent / "videos" / "synthetic-mouse.mp4"
    assert dock.analyze() is not None  # (skipped when the other test analysed it)
    _wait(qtbot, dock)
    h5 = find_analysis(project, video)
    assert h5 is not None
    unanalysed = tmp_path / "other.mp4"
    write_clip(unanalysed, SyntheticConfig(height=96, width=128, n_frames=4, seed=3))
    dock.add_video(unanalysed)

    dock.export.subject.setText("m1")
    assert dock.export.write_nwb() is not None
    _wait(qtbot, dock)
    nwb = h5.with_suffix(".nwb")
    assert nwb.is_file() and dock.export.selected_path() == str(nwb)
    status = dock.job.status.text()
    assert str(nwb) in status and "no results yet for other.mp4: Analyse first" in status
    assert not list(tmp_path.glob("*.nwb"))
    assert dock.job.progress.value() == dock.job.progress.maximum() == 2

    # read back: the analysis file's values, the subject typed in the dock
    want, back = read_analysis(h5), read_nwb(nwb)
    assert back.bodyparts == want.bodyparts and back.n_frames == 60
    np.testing.assert_allclose(back.xy, want.xy)
    np.testing.assert_allclose(back.likelihood, want.likelihood)
    with NWBHDF5IO(str(nwb), "r") as io:
        assert io.read().subject.subject_id == "m1"


def test_nwb_job_reports_videos_without_results(project, tmp_path):
    from markerless.napari.analysis.jobs import nwb_job

    missing = tmp_path / "nothing.mp4"
    job = nwb_job(project, [missing])
    events = []
    with pytest.raises(StopIteration) as end:
        while True:
            events.append(next(job))
    assert [e["status"] for e in events] == ["writing", "missing"]
    assert [e["done"] for e in events] == [0, 1] and events[-1]["output"] is None
    assert end.value.value == {"written": [], "missing": [str(missing)]}
