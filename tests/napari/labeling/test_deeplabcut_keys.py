"""napari-deeplabcut users keep their habits: each of their keys sent through the real viewer.

Keys go to the canvas as Qt key events (napari's keymap handler, as a user's would);
clicks are ``points.add``, which is what napari's add mode does on a click (the mouse
path itself is tested in test_labeling_dock.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from labeling_helpers import BODYPARTS, key, make_project, open_dock

pytestmark = pytest.mark.gui


def _where(points, frame: int, bp: str) -> np.ndarray:
    on = (points.data[:, 0] == frame) & (points.features["bodypart"] == bp).to_numpy()
    return points.data[on]


def test_napari_deeplabcut_keys_and_habits_in_a_real_viewer(make_napari_viewer, qtbot, tmp_path,
                                                            _habits_in_memory):
    from qtpy.QtCore import Qt

    from markerless.napari.labeling.habits import NAPARI_DEEPLABCUT

    Key, Mod = Qt.Key, Qt.KeyboardModifier
    config = make_project(tmp_path, frames=(3, 17, 42, 49))
    viewer = make_napari_viewer(show=True)
    dock = open_dock(viewer, config)
    dock.ask = lambda title, text, buttons: "Discard"  # unsaved labels when the viewer closes
    qtbot.waitUntil(dock.isVisible)
    points = dock.layer
    assert dock.habits.name == "markerless" and dock.advance_check.isChecked()
    qtbot.mouseClick(dock.habits_check, Qt.MouseButton.LeftButton)  # the one click
    assert dock.habits is NAPARI_DEEPLABCUT and _habits_in_memory["habits"] is NAPARI_DEEPLABCUT
    assert not dock.advance_check.isChecked()  # their SEQUENTIAL stays on a finished frame
    assert "W / S" in dock.help_label.text()
    viewer.dims.set_current_step(0, 0)
    dock.set_mode("add")

    # A / D: frames (also bound on the viewer, so they work with the image selected)
    key(qtbot, viewer, Key.Key_D)
    assert viewer.dims.current_step[0] == 1
    key(qtbot, viewer, Key.Key_A)
    key(qtbot, viewer, Key.Key_A)  # stays on the first frame
    assert viewer.dims.current_step[0] == 0
    viewer.layers.selection.active = viewer.layers["clip"]
    key(qtbot, viewer, Key.Key_D)
    assert viewer.dims.current_step[0] == 1
    key(qtbot, viewer, Key.Key_A)
    viewer.layers.selection.active = points

    # W / S: keypoints (S no longer napari's select mode)
    key(qtbot, viewer, Key.Key_S)
    assert dock.state.current_keypoint[1] == "leftear" and points.mode == "add"
    key(qtbot, viewer, Key.Key_W)
    assert dock.state.current_keypoint[1] == "snout"

    # M: SEQUENTIAL -> QUICK -> LOOP -> SEQUENTIAL
    seen = []
    for _ in range(3):
        key(qtbot, viewer, Key.Key_M)
        seen.append(dock.mode_combo.currentText())
    assert seen == ["QUICK", "LOOP", "SEQUENTIAL"] and dock.state.mode == "sequential"

    # SEQUENTIAL: a click for a placed keypoint places nothing; the frame's next keypoint
    points.add([0, 10.0, 12.0])  # snout
    assert dock.state.current_keypoint[1] == "leftear"
    key(qtbot, viewer, Key.Key_W)
    points.add([0, 30.0, 31.0])  # snout again: ignored
    assert len(points.data) == 1 and "already on this frame" in dock.status.text()
    np.testing.assert_allclose(_where(points, 0, "snout"), [[0, 10, 12]])

    # each new frame starts at its first unlabeled keypoint (their smart reset)
    key(qtbot, viewer, Key.Key_D)
    assert dock.state.current_keypoint[1] == "snout"
    key(qtbot, viewer, Key.Key_A)
    assert dock.state.current_keypoint[1] == "leftear"

    # QUICK: a click for a placed keypoint moves it, then the following keypoint
    key(qtbot, viewer, Key.Key_M)
    key(qtbot, viewer, Key.Key_W)
    assert dock.state.current_keypoint[1] == "snout"
    points.add([0, 20.0, 22.0])
    np.testing.assert_allclose(_where(points, 0, "snout"), [[0, 20, 22]])
    assert len(points.data) == 1 and dock.state.current_keypoint[1] == "leftear"

    # Ctrl+Z: the move undone, snout current again
    key(qtbot, viewer, Key.Key_Z, Mod.ControlModifier)
    np.testing.assert_allclose(_where(points, 0, "snout"), [[0, 10, 12]])
    assert dock.state.current_keypoint[1] == "snout"

    # LOOP: the same keypoint frame after frame
    key(qtbot, viewer, Key.Key_M)
    assert dock.state.mode == "loop"
    dock.keypoint_list.setCurrentRow(3)  # tailbase
    points.add([0, 40.0, 41.0])
    assert viewer.dims.current_step[0] == 1 and dock.state.current_keypoint[1] == "tailbase"
    points.add([1, 42.0, 43.0])
    assert viewer.dims.current_step[0] == 2 and dock.state.current_keypoint[1] == "tailbase"
    key(qtbot, viewer, Key.Key_Z, Mod.ControlModifier)  # undo a placement: back on its frame
    assert viewer.dims.current_step[0] == 1 and len(_where(points, 1, "tailbase")) == 0

    # Shift+Right / Shift+Left: the next / previous frame with no label yet
    key(qtbot, viewer, Key.Key_Right, Mod.ShiftModifier)
    assert viewer.dims.current_step[0] == 2
    key(qtbot, viewer, Key.Key_Right, Mod.ShiftModifier)
    assert viewer.dims.current_step[0] == 3
    key(qtbot, viewer, Key.Key_Left, Mod.ShiftModifier)
    assert viewer.dims.current_step[0] == 2
    key(qtbot, viewer, Key.Key_Left, Mod.ShiftModifier)
    assert viewer.dims.current_step[0] == 1  # frame 0 has labels

    # Ctrl+C on frame 0 (nothing selected: its points), Ctrl+V on frame 1: only the missing
    viewer.dims.set_current_step(0, 0)
    key(qtbot, viewer, Key.Key_C, Mod.ControlModifier)
    assert "Copied 2 point(s)" in dock.status.text()
    viewer.dims.set_current_step(0, 1)
    points.add([1, 44.0, 45.0])  # tailbase on frame 1 (LOOP goes on to frame 2)
    viewer.dims.set_current_step(0, 1)
    key(qtbot, viewer, Key.Key_V, Mod.ControlModifier)
    np.testing.assert_allclose(_where(points, 1, "snout"), [[1, 10, 12]])
    np.testing.assert_allclose(_where(points, 1, "tailbase"), [[1, 44, 45]])  # not overwritten
    assert points in dock._dirty
    key(qtbot, viewer, Key.Key_Z, Mod.ControlModifier)  # the paste undone
    assert len(_where(points, 1, "snout")) == 0

    # F: colour by individual needs several animals; V: napari hides the layer, the box follows
    key(qtbot, viewer, Key.Key_F)
    assert dock.color_combo.currentText() == "bodypart" and "One animal" in dock.status.text()
    key(qtbot, viewer, Key.Key_V)
    assert not points.visible and not dock.show_points.isChecked()
    key(qtbot, viewer, Key.Key_V)
    assert points.visible and dock.show_points.isChecked()

    # back to markerless' keys: E is the next unlabeled keypoint, S napari's select mode
    qtbot.mouseClick(dock.habits_check, Qt.MouseButton.LeftButton)
    assert dock.habits.name == "markerless" and dock.advance_check.isChecked()
    viewer.dims.set_current_step(0, 0)
    dock.keypoint_list.setCurrentRow(0)
    key(qtbot, viewer, Key.Key_E)
    assert dock.state.current_keypoint[1] == "leftear"
    key(qtbot, viewer, Key.Key_D)  # A/D are napari-deeplabcut's only
    assert viewer.dims.current_step[0] == 0
    key(qtbot, viewer, Key.Key_S)
    assert points.mode == "select"


def test_low_confidence_machine_labels_get_a_red_rim_and_e_toggles_it(make_napari_viewer, qtbot,
                                                                      tmp_path):
    from qtpy.QtCore import Qt

    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_analysis import write_analysis
    from markerless.napari.labeling.confidence import LOW_CONFIDENCE_RGBA
    from markerless.napari.labeling.habits import NAPARI_DEEPLABCUT
    from markerless.napari.layers.labeled_folder import add_layer_data
    from markerless.napari.refine.jobs import machine_layers
    from markerless.poses import Poses

    config = make_project(tmp_path)
    cfg = read_config(config)
    cfg["pcutoff"] = 0.5
    write_config(cfg, config)
    folder = tmp_path / "labeled-data" / "clip"
    frames = ["labeled-data/clip/img03.png", "labeled-data/clip/img42.png"]
    xy = np.tile(np.array([[10.0, 20.0], [15, 25], [20, 30], [25, 35]]), (2, 1, 1, 1))
    xy = xy.reshape(2, 1, 4, 2)
    likelihood = np.array([[[0.9, 0.2, 0.7, 0.45]], [[0.95, 0.99, 0.1, 0.8]]])
    write_analysis(Poses(xy, BODYPARTS, [""], frames, "DLC_x", likelihood),
                   folder / "machinelabels-iter0.h5")
    viewer = make_napari_viewer(show=True)
    dock = open_dock(viewer, config)
    machine = add_layer_data(viewer, machine_layers(config, folder))[-1]
    low = machine.features["likelihood"].to_numpy() < 0.5
    assert low.sum() == 3
    red = np.asarray(LOW_CONFIDENCE_RGBA)
    np.testing.assert_allclose(machine.border_color[low], np.tile(red, (3, 1)))
    assert not np.isclose(machine.border_color[~low], red).all(axis=1).any()
    assert (machine.border_width[low] > machine.border_width[~low].max()).all()
    assert "3 point(s) below pcutoff 0.5" in dock.status.text()

    dock.set_habits(NAPARI_DEEPLABCUT)
    viewer.layers.selection.active = machine
    key(qtbot, viewer, Qt.Key.Key_E)  # their E: on any points layer
    assert not dock.confidence_check.isChecked()
    assert not np.isclose(machine.border_color, red).all(axis=1).any()
    viewer.layers.selection.active = dock.layer
    key(qtbot, viewer, Qt.Key.Key_E)
    np.testing.assert_allclose(machine.border_color[low], np.tile(red, (3, 1)))
