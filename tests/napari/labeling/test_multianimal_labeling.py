"""Multi-animal labeling (maDLC) in a real viewer: individual dropdown, colours, copy, save."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from labeling_helpers import key, open_dock

pytestmark = pytest.mark.gui

ANIMALS = ["animal0", "animal1"]


def make_ma_project(root: Path, frames=(2, 9, 15)) -> tuple[Path, object]:
    """A maDLC project (two animals sharing the arena, a unique bodypart ``corner``) whose
    labeled-data/pair holds synthetic frames ``frames``; returns (config, true poses)."""
    import imageio.v3 as iio

    from markerless.io.config import default_config, write_config
    from markerless.synthetic import SyntheticConfig, generate

    images, truth = generate(SyntheticConfig(height=64, width=80, n_frames=20, bodyparts=3,
                                             n_animals=2, arena="shared", seed=5))
    assert truth.individuals == ANIMALS
    cfg = default_config("t", "tester", "Nov21", multianimal=True, bodyparts=truth.bodyparts,
                         individuals=ANIMALS, unique_bodyparts=["corner"],
                         skeleton=[truth.bodyparts[:2]], project_path=str(root))
    cfg["dotsize"] = 3
    write_config(cfg, root / "config.yaml")
    folder = root / "labeled-data" / "pair"
    folder.mkdir(parents=True)
    for f in frames:
        iio.imwrite(folder / f"img{f:02d}.png", images[f])
    truth.xy = truth.xy[list(frames)]
    return root / "config.yaml", truth


def _yx(truth, frame: int, animal: int, bp: int) -> list[float]:
    x, y = truth.xy[frame, animal, bp]
    return [float(y), float(x)]


def test_label_two_animals_copy_the_previous_frame_and_save_madlc(make_napari_viewer, qtbot,
                                                                  tmp_path):
    from qtpy.QtCore import Qt

    from markerless.io.dlc_labels import read_labels
    from markerless.napari.convert import individual_colors

    config, truth = make_ma_project(tmp_path)
    bps = truth.bodyparts
    viewer = make_napari_viewer(show=True)
    dock = open_dock(viewer, config)
    dock.ask = lambda title, text, buttons: "Discard"
    points = dock.layer
    combo = dock.individual_combo
    assert dock.individual_row.isVisibleTo(dock)
    assert [combo.itemText(i) for i in range(combo.count())] == [*ANIMALS, "single"]
    shown = [dock.keypoint_list.item(r).text() for r in range(dock.keypoint_list.count())
             if not dock.keypoint_list.isRowHidden(r)]
    assert shown == [f"animal0 · {bp}" for bp in bps]

    # frame 0: animal0's bodyparts in order, then the dock moves on to animal1
    viewer.dims.set_current_step(0, 0)
    dock.set_mode("add")
    for k in range(3):
        assert dock.state.current_keypoint == ("animal0", bps[k])
        points.add([0, *_yx(truth, 0, 0, k)])
    assert dock.state.current_keypoint == ("animal1", bps[0]) and combo.currentText() == "animal1"
    assert not dock.keypoint_list.isRowHidden(3) and dock.keypoint_list.isRowHidden(0)
    # the user picks the unique bodyparts, then back to animal1
    combo.setCurrentText("single")
    assert dock.state.current_keypoint == ("single", "corner")
    points.add([0, 3.0, 4.0])
    combo.setCurrentText("animal1")
    assert dock.state.current_keypoint == ("animal1", bps[0])  # its first one not placed
    for k in range(3):
        points.add([0, *_yx(truth, 0, 1, k)])
    assert viewer.dims.current_step[0] == 1  # frame 0 done: the next frame
    assert dock.skeleton_layer.data.shape == (2, 2, 3)  # one edge per animal on frame 0

    # F: colour by individual and back (napari-deeplabcut's key, also markerless')
    key(qtbot, viewer, Qt.Key.Key_F)
    assert dock.color_combo.currentText() == "individual"
    colors = individual_colors([*ANIMALS, "single"])
    for color, ind in zip(points.face_color, points.features["individual"], strict=True):
        np.testing.assert_allclose(color, colors[ind], atol=1e-6)
    assert list(dock.legend.entries) == [*ANIMALS, "single"]
    key(qtbot, viewer, Qt.Key.Key_F)
    assert dock.color_combo.currentText() == "bodypart"

    # frame 1: one label of its own, then copy the previous frame's points (only the missing)
    points.add([1, *_yx(truth, 1, 0, 0)])  # animal0's first bodypart, where it is on frame 1
    qtbot.mouseClick(dock.copy_previous_button, Qt.MouseButton.LeftButton)
    assert "6 point(s) copied" in dock.status.text()
    on1 = points.data[:, 0] == 1
    assert on1.sum() == 7
    feats = points.features[on1]
    own = (feats["individual"] == "animal0") & (feats["bodypart"] == bps[0])
    np.testing.assert_allclose(points.data[on1][own.to_numpy()][0, 1:], _yx(truth, 1, 0, 0))
    copied = points.data[on1][~own.to_numpy()]
    frame0 = points.data[points.data[:, 0] == 0]
    assert {tuple(p) for p in copied[:, 1:]} <= {tuple(p) for p in frame0[:, 1:]}
    assert dock.state.progress().frames_done == 2
    # undo the copy, and copy again
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (points.data[:, 0] == 1).sum() == 1
    dock.copy_previous_frame()
    assert (points.data[:, 0] == 1).sum() == 7

    # save: maDLC CollectedData (.h5 + .csv) through the writer, corner under 'single'
    assert dock.save()
    h5 = tmp_path / "labeled-data" / "pair" / "CollectedData_tester.h5"
    poses = read_labels(h5)
    assert poses.individuals == [*ANIMALS, "single"] and poses.n_labeled == 14
    np.testing.assert_allclose(poses.xy[0, :2, :3], truth.xy[0], atol=1e-9)
    np.testing.assert_allclose(poses.xy[1, 0, 0], truth.xy[1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(poses.xy[1, 1, :3], truth.xy[0, 1], atol=1e-9)  # copied
    np.testing.assert_allclose(poses.xy[0, 2, 3], [4.0, 3.0])  # corner (x, y)
    df = pd.read_hdf(h5)
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert set(df["tester"]["single"].columns.get_level_values(0)) == {"corner"}
    again = read_labels(h5.with_suffix(".csv"))
    np.testing.assert_allclose(again.xy, poses.xy, equal_nan=True)
