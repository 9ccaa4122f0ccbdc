"""The 3D calibration dock in a real viewer, on a small rendered ChArUco calibration."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _dock(make_napari_viewer, config):
    from markerless.napari.pose3d.calibration_dock import CalibrationWidget

    viewer = make_napari_viewer()
    dock = CalibrationWidget(viewer)
    viewer.window.add_dock_widget(dock, name="3D calibration")
    dock.set_config(config)
    return viewer, dock


def _run(qtbot, dock, action):
    assert action() is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)


def test_boards_per_camera_corners_and_errors(make_napari_viewer, qtbot, calibration_project,
                                              board_images):
    from markerless.pose3d.camera import CameraGroup

    rig, board, images = board_images
    viewer, dock = _dock(make_napari_viewer, calibration_project.parent)  # the folder works
    assert dock.config.path == calibration_project
    assert dock.board.text() == "ChArUco 7 x 5 squares of 40 mm, markers 30 mm"
    assert dock.table.rowCount() == 0  # not calibrated yet

    _run(qtbot, dock, dock.find_boards)
    assert dock.job.last_error is None, dock.job.last_error
    det = dock.detections
    assert det.names == ["left", "right"]
    # per camera: one row per image, the ones without a board marked
    for c, cd in enumerate(det.cameras):
        top = dock.views.topLevelItem(c)
        assert top.text(0) == f"{cd.name}: board in {len(cd.found)} of 8"
        assert top.childCount() == 8
        none = [top.child(k).text(0) for k in range(8) if top.child(k).text(1) == "no board"]
        assert none == [f"{cd.name}-{k:02d}.png" for k in range(8) if not len(cd.ids[k])]
    assert 4 <= len(det.cameras[0].found) < 8  # some views show no board in this rig
    assert (calibration_project.parent / "corners" / "left_detections.npz").is_file()

    # a view's image and its corners, where the board is in the image
    k = next(i for i, ids in enumerate(det.cameras[0].ids) if len(ids) > 10)
    image, corners = dock.show_view("left", k)
    assert viewer.dims.ndisplay == 2
    np.testing.assert_array_equal(image.data, images[0, k])
    ids, pts = det.cameras[0].get(det.cameras[0].keys[k])
    np.testing.assert_allclose(corners.data, pts[:, ::-1])
    assert list(corners.features["id"]) == list(ids)
    assert ((corners.data >= 0) & (corners.data < image.data.shape[:2])).all()  # (y, x) rows

    # calibrate: the table has one row per camera with its boards and errors
    _run(qtbot, dock, dock.calibrate)
    assert dock.job.last_error is None, dock.job.last_error
    assert dock.table.rowCount() == 2
    rows = {r["camera"]: r for r in dock.report_rows}
    for c, cd in enumerate(det.cameras):
        row = rows[cd.name]
        assert row["boards_found"] == len(cd.found) and 3 <= row["boards_used"] <= len(cd.found)
        assert 0 < row["error_median_px"] < 0.5 and row["error_median_px"] <= row["error_p95_px"]
        assert dock.table.item(c, 0).text() == cd.name
        assert float(dock.table.item(c, 3).text()) == pytest.approx(row["error_median_px"],
                                                                    abs=1e-3)
    toml = calibration_project.parent / "camera_matrix" / "calibration.toml"
    group = CameraGroup.load(toml)
    assert group.get_names() == ["left", "right"]
    assert abs(group.cameras[0].matrix[0, 0] / rig.cameras[0].matrix[0, 0] - 1) < 0.02
    assert "calibrated" in dock.job.status.text() and str(toml) in dock.summary.text()
    if os.environ.get("MARKERLESS_SCREENSHOTS"):  # the image of docs/napari.md
        import imageio.v3 as iio

        viewer.window.resize(1400, 860)
        viewer.window.show()
        dock.show_view("left", k)
        dock.views.setCurrentItem(dock.views.topLevelItem(0).child(k))
        qtbot.wait(300)
        shot = viewer.screenshot(canvas_only=False, flash=False)
        iio.imwrite("/tmp/calibration-dock.png", shot)
        iio.imwrite(Path(__file__).resolve().parents[3] / "docs" / "images" /
                    "calibration-dock.png", shot)
    frustums, centres = dock.show_cameras()
    assert viewer.dims.ndisplay == 3 and centres.data.shape == (2, 3)
    assert not viewer.layers["calibration view"].visible  # it would share the 3D axes


def test_a_refused_calibration_is_one_line_and_its_table(make_napari_viewer, qtbot,
                                                        calibration_project):
    viewer, dock = _dock(make_napari_viewer, calibration_project)
    dock.max_error.setValue(0.01)  # no camera is that good: refused
    _run(qtbot, dock, dock.calibrate)
    text = dock.job.status.text()
    assert text.startswith("Calibration refused: median reprojection error above 0.01 px")
    assert "\n" not in text and "boards found" not in text  # the reason, not the table
    assert dock.job.status.styleSheet()  # red
    assert dock.table.rowCount() == 2  # the table says why
    assert dock.table.item(0, 3).foreground().color().name() == "#ff6b6b"
    assert not (calibration_project.parent / "camera_matrix" / "calibration.toml").exists()
    assert "refused" in dock.summary.text()
    # a 2D project's config: one line saying what is wrong, and the dock keeps working
    other = calibration_project.parent / "2d.yaml"
    other.write_text("Task: x\nbodyparts: [a, b]\n")
    dock.set_config(other)
    assert "is not a 3D project config" in dock.job.status.text()
    assert "Traceback" not in dock.job.status.text() and dock.job.status.styleSheet()


def test_stop_before_the_boards_are_found(make_napari_viewer, qtbot, calibration_project):
    viewer, dock = _dock(make_napari_viewer, calibration_project)
    worker = dock.calibrate()
    dock.job.stop()
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)
    assert worker.abort_requested and dock.job.was_stopped
    assert dock.job.status.text() == "stopped"
    assert dock.table.rowCount() == 0
    assert not (calibration_project.parent / "camera_matrix" / "calibration.toml").exists()
