"""A 3D result in a real viewer: the reader, the 3D layers, and a camera's reprojection view."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from markerless.synthetic.multicam import ANIMAL_BODYPARTS, ANIMAL_SKELETON

CAMERAS = ["top", "left", "right"]  # the result3d fixture's
N_FRAMES = 30

pytestmark = pytest.mark.gui

SCREENSHOTS = Path("/tmp")
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
screenshots = pytest.mark.skipif(not os.environ.get("MARKERLESS_SCREENSHOTS"),
                                 reason="screenshots only with MARKERLESS_SCREENSHOTS=1")


def _screenshot(viewer, qtbot, name: str, canvas_only: bool = False) -> None:
    """The window (or its canvas), non-blank, saved to /tmp/<name> and as docs/napari.md's
    image ``docs/images/<name>``."""
    import imageio.v3 as iio

    qtbot.wait(300)
    image = viewer.screenshot(canvas_only=canvas_only, flash=False)
    assert image.std() > 5, f"{name} is blank"
    iio.imwrite(SCREENSHOTS / name, image)
    iio.imwrite(DOCS_IMAGES / name, image)


def test_reader_opens_a_3d_result_in_3d(make_napari_viewer, result3d):
    from markerless.napari.convert import bodypart_colors
    from markerless.napari.layers.reader import napari_get_reader
    from markerless.pose3d.outputs import read_dlc_3d

    config, rig, out, truth, _ = result3d
    for path in (out["dlc_3d"], out["anipose"]):
        assert napari_get_reader(str(path)) is not None, path
    # the reader keeps its other files: a camera's reprojection opens as 2D predictions
    (data, kwargs, kind), = napari_get_reader(str(out["reprojected_top"]))(
        str(out["reprojected_top"]))
    assert kind == "points" and data.shape[1] == 3
    assert napari_get_reader(str(out["meta"])) is None

    viewer = make_napari_viewer()
    layers = viewer.open(str(out["dlc_3d"]), plugin="markerless")
    assert viewer.dims.ndisplay == 3
    by_name = {ly.name: ly for ly in layers}
    points = by_name["trial1_DLC_3D"]
    res = read_dlc_3d(out["dlc_3d"])
    ok = np.isfinite(res.points[:, 0]).all(-1)
    assert points.data.shape == (ok.sum(), 4)
    # rows are (t, z, y, x) of the file's (x, y, z), in mm, close to the truth (0.5 px noise)
    t, j = np.nonzero(ok)
    np.testing.assert_allclose(points.data[:, 1:], res.points[t, 0, j][:, ::-1])
    assert np.median(np.linalg.norm(points.data[:, 1:][:, ::-1] - truth[t, j], axis=1)) < 2.0
    colors = bodypart_colors(list(ANIMAL_BODYPARTS), "rainbow")
    for k in (0, len(t) // 2, len(t) - 1):
        np.testing.assert_allclose(points.face_color[k], colors[ANIMAL_BODYPARTS[j[k]]])
    assert points.features["error"].notna().all()  # from the anipose CSV beside it
    # the skeleton from the project found through the calibration; the three cameras
    skeleton = by_name["trial1_DLC_3D skeleton"]
    assert skeleton.data.shape[1:] == (2, 4)
    assert (skeleton.data[:, 1, 0] == 0).all()  # bones stay on their frame
    assert set(skeleton.features["bone"]) <= set(range(len(ANIMAL_SKELETON)))
    cams = by_name["trial1_DLC_3D cameras"]
    np.testing.assert_allclose(cams.data, rig.centres()[:, ::-1], atol=1e-6)
    assert list(cams.features["camera"]) == CAMERAS
    assert by_name["trial1_DLC_3D frustums"].data.shape == (8 * len(CAMERAS), 2, 3)
    # anipose's CSV of the same result: the same points and colours
    other = viewer.open(str(out["anipose"]), plugin="markerless")
    same = next(ly for ly in other if ly.name == "trial1_DLC_3D_anipose")
    np.testing.assert_allclose(same.data, points.data)
    np.testing.assert_allclose(same.face_color, points.face_color)
    # a Triangulation dock opened now takes the project and the result over (the 2D
    # docks do not take the 3D config for their project)
    from markerless.napari.pose3d.triangulation_dock import TriangulationWidget
    from markerless.napari.session import find_project_config

    assert find_project_config(viewer) is None

    dock = TriangulationWidget(viewer)
    assert dock.config.path == config and dock.result.path == out["anipose"]
    assert dock.camera.count() == len(CAMERAS) + 1


def test_triangulation_dock_shows_3d_and_the_camera_views(make_napari_viewer, qtbot, result3d,
                                                          tmp_path):
    import json

    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.convert import bodypart_colors
    from markerless.napari.layers.pose3d import viewer_grid
    from markerless.napari.pose3d.triangulation_dock import ALL_CAMERAS, TriangulationWidget

    config, rig, out, truth, outliers = result3d
    inputs = json.loads(out["meta"].read_text())["inputs"]
    viewer = make_napari_viewer()
    dock = TriangulationWidget(viewer)
    viewer.window.add_dock_widget(dock, name="3D triangulation")
    dock.set_config(config)
    assert dock.cameras == CAMERAS and dock.pcutoff.value() == pytest.approx(0.4)
    dock.set_files({"top": inputs["top"], "left": inputs["left"]})
    assert dock.triangulate() is None  # one camera has no file yet
    assert dock.job.status.text() == "Choose a 2D file or video for right"
    dock.set_files(inputs)
    dock.destfolder.setText(str(tmp_path))
    assert dock.triangulate() is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)
    assert dock.job.last_error is None, dock.job.last_error
    assert dock.result.path == tmp_path / "trial1_DLC_3D.h5"  # opened when done
    layers = [ly for ly in viewer.layers if ly.name.startswith("trial1_DLC_3D")]
    assert viewer.dims.ndisplay == 3 and len(layers) == 4
    assert [dock.camera.itemText(i) for i in range(dock.camera.count())] == CAMERAS + [
        ALL_CAMERAS]

    # every camera in a grid of the camera-views viewer, four layers each
    cam_viewer = make_napari_viewer()
    layers = dock.show_camera(ALL_CAMERAS, viewer=cam_viewer)
    assert len(layers) == 4 * len(CAMERAS) and viewer_grid(cam_viewer).enabled
    assert cam_viewer.dims.ndisplay == 2
    assert [ly.name for ly in layers[4:8]] == ["left (no video)", "left 2D predictions",
                                               "left reprojected", "left disagreement"]
    assert layers[4].data.shape == (240, 320)  # a dark frame of the camera's size
    video, preds, rings, lines = layers[:4]
    assert video.data.shape == (N_FRAMES, 240, 320, 3)
    # the rings are the reprojection file's points, on the result's frames
    reproj = read_analysis(tmp_path / "trial1-topDLC_3D_reprojected.h5")
    ok = np.isfinite(reproj.xy[:, 0]).all(-1)
    t, j = np.nonzero(ok)
    assert rings.data.shape == (ok.sum(), 3)
    np.testing.assert_allclose(rings.data[:, 1:], reproj.xy[t, 0, j][:, ::-1])
    colors = bodypart_colors(list(ANIMAL_BODYPARTS), "rainbow")
    np.testing.assert_allclose(rings.face_color[0], colors[ANIMAL_BODYPARTS[j[0]]])
    assert preds.data.shape[1] == 3 and len(preds.data) >= 0.9 * N_FRAMES * len(ANIMAL_BODYPARTS)
    # one line per point seen in 2D and 3D, from the prediction to the reprojection;
    # the confident 30 px outliers of this camera are the long, red ones
    dis = dock.views.disagreements["top"]
    assert lines.data.shape == (len(dis.error), 2, 3)
    np.testing.assert_allclose(lines.data[:, 0, 1:], dis.predicted[:, ::-1])
    np.testing.assert_allclose((lines.data[:, 0] + lines.data[:, 1])[:, 1:],
                               dis.reprojected[:, ::-1])
    was_outlier = outliers[0][dis.frame, dis.bodypart]
    assert was_outlier.sum() >= 3
    assert np.median(dis.error[was_outlier]) > 10 > 2 > np.median(dis.error[~was_outlier])
    red = lines.edge_color[:, 0] > 0.9
    assert red[was_outlier].mean() > 0.5 and red[~was_outlier].mean() < 0.1
    assert dock.summary.text().startswith("top: median")
    assert dock.summary.text().count(" px; ") == len(CAMERAS)  # one line per camera
    # frames move together; Next large error goes to a frame where a camera disagrees
    viewer.dims.set_point(0, 5)
    assert cam_viewer.dims.point[0] == 5
    frame = dock.next_large_error()
    assert frame > 5 and any((d.error[d.frame == frame] > 10).any()
                             for d in dock.views.disagreements.values())
    assert cam_viewer.dims.point[0] == frame


def _triangulation_dock(viewer, config, result):
    from markerless.napari.pose3d.triangulation_dock import TriangulationWidget

    dock = TriangulationWidget(viewer)
    viewer.window.add_dock_widget(dock, name="3D triangulation")
    dock.set_config(config)
    dock.open_result(result)
    return dock


@screenshots
def test_screenshot_of_the_3d_view(make_napari_viewer, qtbot, result3d):
    from markerless.napari.layers.pose3d import viewer_camera

    config, _, out, _, _ = result3d
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1400, 860)
    dock = _triangulation_dock(viewer, config, out["dlc_3d"])
    qtbot.wait(300)
    viewer.dims.set_point(0, 12)
    _screenshot(viewer, qtbot, "pose3d-view.png")  # as it opens: the animal
    viewer.reset_view()  # zoomed out: the cameras around it
    viewer_camera(viewer).angles = (-30.0, 20.0, 0.0)
    viewer_camera(viewer).zoom *= 0.7  # tilted, the rig's box needs more room
    _screenshot(viewer, qtbot, "pose3d-rig.png", canvas_only=True)
    assert dock.result is not None


@screenshots
def test_screenshot_of_a_camera_view(make_napari_viewer, qtbot, result3d):
    from markerless.napari.layers.pose3d import viewer_camera

    config, _, out, _, _ = result3d
    dock = _triangulation_dock(make_napari_viewer(), config, out["dlc_3d"])
    cam_viewer = make_napari_viewer(show=True)
    cam_viewer.window.resize(1000, 760)
    qtbot.wait(300)
    _, points, _, _ = dock.show_camera("top", viewer=cam_viewer)
    dock.next_large_error()
    viewer_camera(cam_viewer).center = tuple(np.nanmedian(points.data[:, 1:], axis=0))
    viewer_camera(cam_viewer).zoom *= 2.5  # the animal, not the whole floor
    _screenshot(cam_viewer, qtbot, "pose3d-camera-view.png", canvas_only=True)
