"""Project dock: create from a synthetic video, edit config.yaml, list contents, open in napari."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.napari.project.jobs import parse_names, parse_skeleton, summarize_project

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


def test_parse_names_and_skeleton():
    assert parse_names(" snout, left-ear ,\ntail ,") == ["snout", "left-ear", "tail"]
    bps = ["snout", "left-ear", "tail"]
    assert parse_skeleton("snout-left-ear; left-ear-tail\n tail - snout", bps) == [
        ["snout", "left-ear"], ["left-ear", "tail"], ["tail", "snout"]]
    assert parse_skeleton("a-b;;", []) == [["a", "b"]]
    assert parse_skeleton("lonely", []) == [["lonely", ""]]  # rejected later by get_skeleton


def test_summary_skips_check_labels_drawings(tmp_path):
    """labeled-data/<video>_labeled holds check_labels' drawings, not frames to label."""
    import imageio.v3 as iio

    from markerless.io.config import default_config, write_config

    write_config(default_config("t", "tester", "Nov21", project_path=str(tmp_path)),
                 tmp_path / "config.yaml")
    for folder, n in (("clip", 3), ("clip_labeled", 2)):
        (tmp_path / "labeled-data" / folder).mkdir(parents=True)
        for i in range(n):
            iio.imwrite(tmp_path / "labeled-data" / folder / f"img{i}.png",
                        np.zeros((4, 4, 3), np.uint8))
    assert summarize_project(tmp_path / "config.yaml").labeled == {"clip": (3, 0)}


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


@pytest.mark.gui
def test_create_edit_and_summarize_a_project(make_napari_viewer, qtbot, tmp_path):
    import imageio.v3 as iio

    from markerless.io.config import read_config
    from markerless.io.dlc_analysis import write_analysis
    from markerless.io.dlc_labels import write_labels
    from markerless.napari.layers.lookup import frames_layer, keypoint_layers
    from markerless.napari.workers import busy
    from markerless.poses import Poses
    from markerless.synthetic import SyntheticConfig, write_clip

    video = tmp_path / "clip.mp4"
    truth = write_clip(video, SyntheticConfig(height=128, width=128, n_frames=60, bodyparts=4,
                                              seed=2), gop=10)
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Project")
    dock.new_toggle.setChecked(True)
    dock.name_edit.setText("mice")
    dock.experimenter_edit.setText("tester")
    dock.new_bodyparts.setText("snout, tailbase")
    dock.new_skeleton.setText("snout-tailbase")
    dock.videos_edit.setText(str(video))
    dock.workdir_edit.setText(str(tmp_path / "projects"))
    dock.create_button.click()
    qtbot.waitUntil(lambda: dock.session.config_path is not None and not busy(dock),
                    timeout=20000)
    config = dock.session.config_path
    assert config.parent.parent == tmp_path / "projects"
    assert config.parent.name.startswith("mice-tester")
    cfg = read_config(config)
    assert list(cfg["bodyparts"]) == ["snout", "tailbase"]
    assert [list(e) for e in cfg["skeleton"]] == [["snout", "tailbase"]]
    # contents: the video with its exact frame count (probed in a worker)
    videos = dock.tree.topLevelItem(0)
    assert videos.text(0) == "Videos (1)" and videos.child(0).text(0) == "clip.mp4"
    assert videos.child(0).text(1) == "60 frames"
    assert dock.tree.topLevelItem(1).child(0).text(1) == "0 images, 0 labeled"

    # edit settings and save: values land in config.yaml, its comments stay
    dock.bodyparts_edit.setText("snout, leftear, tailbase")
    dock.skeleton_edit.setText("snout-leftear; leftear-tailbase")
    dock.pcutoff_spin.setValue(0.3)
    dock.numframes_spin.setValue(7)
    dock.fraction_edit.setText("0.8, 0.9")
    dock.colormap_combo.setCurrentText("viridis")
    dock.dotsize_spin.setValue(5)
    assert dock.save_settings()
    cfg = read_config(config)
    assert list(cfg["bodyparts"]) == ["snout", "leftear", "tailbase"]
    assert [list(e) for e in cfg["skeleton"]] == [["snout", "leftear"], ["leftear", "tailbase"]]
    assert (cfg["pcutoff"], cfg["numframes2pick"], cfg["colormap"], cfg["dotsize"]) == (
        0.3, 7, "viridis", 5)
    assert list(cfg["TrainingFraction"]) == [0.8, 0.9]
    assert "# Project definitions (do not edit)" in config.read_text()
    # a skeleton naming an unknown bodypart is refused, the file is left alone
    dock.skeleton_edit.setText("snout-tail")
    before = config.read_text()
    assert not dock.save_settings()
    assert "tail" in dock.status.text() and config.read_text() == before

    # frames, labels, a snapshot and an analysis appear in the summary and open in napari
    qtbot.waitUntil(lambda: not busy(dock), timeout=10000)  # the refresh after saving
    root = config.parent
    folder = root / "labeled-data" / "clip"
    frames, _ = __import__("markerless.synthetic", fromlist=["generate"]).generate(
        SyntheticConfig(height=128, width=128, n_frames=3, bodyparts=4, seed=2))
    for i in (1, 2):
        iio.imwrite(folder / f"img0{i}.png", frames[i])
    labels = Poses.empty(["labeled-data/clip/img01.png"], ["snout", "leftear", "tailbase"],
                         scorer="tester")
    labels.xy[0, 0, 0] = [10.0, 20.0]
    write_labels(labels, folder)
    train = root / "dlc-models" / "iteration-0" / "miceNov21-trainset95shuffle1" / "train"
    train.mkdir(parents=True)
    for ext in (".index", ".meta", ".data-00000-of-00001"):
        (train / f"snapshot-100{ext}").write_bytes(b"")
    analysed = truth.select_frames(np.arange(5))
    analysed.likelihood = np.ones(analysed.xy.shape[:3])
    analysed.scorer = "DLC_resnet50_miceNov21shuffle1_100"
    write_analysis(analysed, video.parent / f"clip{analysed.scorer}.h5")
    summary = summarize_project(config)
    assert summary.labeled == {"clip": (2, 1)}
    assert summary.snapshots == [str(train.relative_to(root) / "snapshot-100")]
    assert [Path(p).name for p in summary.analysed] == [f"clip{analysed.scorer}.h5"]

    dock.refresh_button.click()
    qtbot.waitUntil(lambda: not busy(dock), timeout=10000)
    assert dock.tree.topLevelItem(1).child(0).text(1) == "2 images, 1 labeled"
    assert dock.tree.topLevelItem(2).text(0) == "Snapshots (1)"
    assert dock.tree.topLevelItem(3).text(0) == "Analysed videos (1)"
    for _ in range(2):  # opening twice adds the folder once
        dock.view_button.click()
    points = keypoint_layers(viewer)
    assert len(points) == 1 and len(points[0].data) == 1
    assert frames_layer(viewer, folder).data.shape == (2, 128, 128, 3)
    dock.skeleton_edit.setText("snout-leftear; leftear-tailbase")
    dock.status.setText("")
    _grab(dock, "project-dock.png")
