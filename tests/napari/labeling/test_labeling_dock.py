"""Labeling dock in a real viewer (Xvfb): clicks through napari's mouse path, keys, saving."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["leftear", "tailbase"]]
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


def make_project(root: Path, frames=(3, 17, 42), labels: dict | None = None,
                 plain_folder: bool = False) -> Path:
    """A project whose labeled-data/clip holds synthetic frames ``frames`` of a 50-frame clip.

    ``labels`` {frame index: {bodypart: (x, y)}} are written as CollectedData_tester;
    ``plain_folder`` adds labeled-data/plain with two PNGs and no labels file.
    """
    import imageio.v3 as iio

    from markerless.io.config import default_config, write_config
    from markerless.io.dlc_labels import write_labels
    from markerless.poses import Poses
    from markerless.project.frames import frame_name
    from markerless.synthetic import SyntheticConfig, generate

    images, _ = generate(SyntheticConfig(height=64, width=80, n_frames=50, bodyparts=4, seed=3))
    cfg = default_config("t", "tester", "Nov21", bodyparts=BODYPARTS, skeleton=SKELETON,
                         project_path=str(root))
    cfg["dotsize"] = 3  # points ~20 screen pixels wide on the zoomed 80x64 frames
    write_config(cfg, root / "config.yaml")
    folder = root / "labeled-data" / "clip"
    folder.mkdir(parents=True)
    for f in frames:
        iio.imwrite(folder / frame_name(f, 50), images[f])
    if labels:
        names = [f"labeled-data/clip/{frame_name(f, 50)}" for f in labels]
        poses = Poses.empty(names, BODYPARTS, scorer="tester")
        for i, marks in enumerate(labels.values()):
            for bp, xy in marks.items():
                poses.xy[i, 0, BODYPARTS.index(bp)] = xy
        write_labels(poses, folder)
    if plain_folder:
        (root / "labeled-data" / "plain").mkdir()
        for f in (5, 6):
            iio.imwrite(root / "labeled-data" / "plain" / frame_name(f, 50), images[f])
    return root / "config.yaml"


class Answers:
    """Stands in for the dock's question dialogs: records questions, gives canned answers."""

    def __init__(self, *answers: str) -> None:
        self.answers, self.asked = list(answers), []

    def __call__(self, title: str, text: str, buttons) -> str:
        self.asked.append((title, text))
        assert self.answers, f"unexpected question: {title}: {text}"
        answer = self.answers.pop(0)
        assert answer in buttons
        return answer


def _open(viewer, config: Path):
    from markerless.napari.labeling.dock import LabelingWidget

    viewer.open(str(config), plugin="markerless")
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    assert isinstance(dock, LabelingWidget)
    return dock


def _screen(viewer, y: float, x: float):
    """Canvas pixel showing world point (y, x) (2D view: centre + offset * zoom)."""
    from qtpy.QtCore import QPoint

    camera = viewer.scene.camera
    canvas = viewer.window._qt_viewer.canvas.native
    cy, cx = camera.center[-2:]
    return QPoint(round(canvas.width() / 2 + (x - cx) * camera.zoom),
                  round(canvas.height() / 2 + (y - cy) * camera.zoom))


def _mouse(qtbot, viewer, action: str, y: float, x: float) -> np.ndarray:
    """A real mouse press/release/click at world (y, x); returns where napari saw it."""
    from qtpy.QtCore import Qt

    canvas = viewer.window._qt_viewer.canvas.native
    pos = _screen(viewer, y, x)
    qtbot.mouseMove(canvas, pos)
    qtbot.wait(20)  # napari throttles mouse moves: let the move land before the button
    getattr(qtbot, f"mouse{action}")(canvas, Qt.MouseButton.LeftButton, pos=pos)
    seen = np.asarray(viewer.cursor.position)
    np.testing.assert_allclose(seen[1:], [y, x], atol=1.0 / viewer.scene.camera.zoom)
    return seen


def _key(qtbot, viewer, key, modifier=None) -> None:
    from qtpy.QtCore import Qt

    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, key, modifier or Qt.KeyboardModifier.NoModifier)


def test_click_label_move_and_save_through_the_real_event_path(make_napari_viewer, qtbot,
                                                             tmp_path):
    from qtpy.QtCore import Qt

    from markerless.io.dlc_labels import read_labels

    config = make_project(tmp_path)
    viewer = make_napari_viewer(show=True)
    dock = _open(viewer, config)
    dock.ask = Answers()
    qtbot.waitUntil(dock.isVisible)
    qtbot.wait(20)  # docks laid out: the canvas has its final size
    viewer.reset_view()
    points = dock.layer
    assert points is not None and dock.keypoint_list.count() == 4
    assert dock.state.current_keypoint == ("", "snout")

    viewer.dims.set_current_step(0, 1)  # img17
    dock.set_mode("add")
    clicks = {}
    for (y, x), bp in zip([(30, 40), (25, 50), (25, 30), (50, 40)], BODYPARTS, strict=True):
        assert dock.state.current_keypoint[1] == bp
        clicks[(1, bp)] = _mouse(qtbot, viewer, "Click", y, x)
    # frame 1 complete: sequential mode moved on to frame 2, first keypoint
    assert viewer.dims.current_step[0] == 2 and dock.state.current_keypoint[1] == "snout"
    clicks[(2, "snout")] = _mouse(qtbot, viewer, "Click", 10, 12)

    viewer.dims.set_current_step(0, 0)  # the user scrolls back to img03
    _key(qtbot, viewer, Qt.Key.Key_Down)  # leftear -> rightear
    assert dock.state.current_keypoint[1] == "rightear"
    _mouse(qtbot, viewer, "Click", 60, 75)
    _key(qtbot, viewer, Qt.Key.Key_Up)  # back to rightear, and place it again elsewhere
    assert dock.state.current_keypoint[1] == "rightear"
    clicks[(0, "rightear")] = _mouse(qtbot, viewer, "Click", 5, 70)
    assert dock.state.current_keypoint[1] == "tailbase"
    _key(qtbot, viewer, Qt.Key.Key_E)  # next unlabeled on frame 0, wrapping past tailbase
    assert dock.state.current_keypoint[1] == "snout" and viewer.dims.current_step[0] == 0

    # every point sits on the frame it was placed on, once per keypoint
    assert len(points.data) == 6
    for (frame, bp), pos in clicks.items():
        sel = (points.features["bodypart"] == bp).to_numpy() & (points.data[:, 0] == frame)
        assert sel.sum() == 1, (frame, bp)
        np.testing.assert_allclose(points.data[sel][0], [frame, *pos[1:]], atol=1e-6)
    assert dock.progress_label.text().startswith("6 of 12 keypoints labeled; 1 of 3 frames done")
    assert "unsaved" in dock.progress_label.text()
    skeleton = dock.skeleton_layer.data
    assert skeleton.shape == (3, 2, 3) and set(skeleton[:, 0, 0]) == {1}

    # colours: the legend and each point follow the config colormap by bodypart
    from markerless.napari.convert import bodypart_colors

    expected = bodypart_colors(BODYPARTS, "rainbow")
    for color, bp in zip(points.face_color, points.features["bodypart"], strict=True):
        np.testing.assert_allclose(color, expected[bp], atol=1e-6)
    assert list(dock.legend.entries) == BODYPARTS

    # drag to move (select mode): napari's own move, recorded as an unsaved change
    viewer.dims.set_current_step(0, 1)
    dock.set_mode("select")
    dock._dirty.discard(points)
    _mouse(qtbot, viewer, "Press", 30, 40)  # on frame 1's snout
    assert points.selected_data == {0}
    # napari centres the dragged point on the cursor
    clicks[(1, "snout")] = _mouse(qtbot, viewer, "Release", 33, 44)
    assert points in dock._dirty

    # Ctrl+S saves (not napari's "Save Selected Layers" dialog)
    labels = Path(points.metadata["markerless"]["labels_path"])
    _key(qtbot, viewer, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(labels.exists, timeout=5000)
    assert dock.layer not in dock._dirty and "unsaved" not in dock.progress_label.text()
    poses = read_labels(labels)
    names = [Path(str(f)).name for f in poses.frames]
    assert names == ["img03.png", "img17.png", "img42.png"]
    for (frame, bp), pos in clicks.items():
        xy = poses.xy[frame, 0, BODYPARTS.index(bp)]
        y, x = pos[1:]
        np.testing.assert_allclose(xy, [x, y], atol=1e-6)
    assert poses.n_labeled == 6

    # screenshot of the dock at work
    viewer.dims.set_current_step(0, 1)
    points.selected_data = set()
    dock.status.setText("")
    shot = viewer.screenshot(canvas_only=False, flash=False)
    assert shot[..., :3].std() > 10
    if os.environ.get("MARKERLESS_SCREENSHOTS"):
        _save_png(shot, DOCS_IMAGES / "labeling-dock.png")


def _save_png(image: np.ndarray, path: Path, max_width: int = 1100) -> None:
    """Small PNG for the docs (downscaled to ``max_width``), under 200 KB."""
    import imageio.v3 as iio

    step = int(np.ceil(image.shape[1] / max_width))
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, image[::step, ::step, :3], optimize=True)
    assert path.stat().st_size < 200_000


def test_unlabeled_frames_stay_in_place_and_data_loss_is_confirmed(make_napari_viewer, tmp_path):
    """napari-deeplabcut #139: labels only on img17 must show on img17, not on the first image."""
    from markerless.io.dlc_labels import read_labels

    config = make_project(tmp_path, labels={17: {"snout": (10.0, 20.0), "tailbase": (30.5, 40.0)}})
    viewer = make_napari_viewer()
    dock = _open(viewer, config)
    points = dock.layer
    np.testing.assert_allclose(np.sort(points.data[:, 0]), [1, 1])  # img17 is the 2nd image
    assert dock.state.progress() == (2, 12, 0, 3)

    # non-contiguous frames: a point added while viewing image 2 (img42) is saved to img42
    viewer.dims.set_current_step(0, 2)
    dock.keypoint_list.setCurrentRow(3)  # the user picks tailbase in the list
    assert points.feature_defaults["bodypart"][0] == "tailbase" and points.mode == "add"
    points.add([viewer.dims.current_step[0], 12.0, 7.0])  # what a click does
    assert points.data[-1, 0] == 2
    assert dock.save()
    poses = read_labels(points.metadata["markerless"]["labels_path"])
    i42 = [Path(str(f)).name for f in poses.frames].index("img42.png")
    np.testing.assert_allclose(poses.xy[i42, 0, 3], [7.0, 12.0])

    # deleting a saved label: the save asks first; Cancel writes nothing
    points.selected_data = {0}
    points.remove_selected()
    dock.ask = Answers("Cancel")
    assert not dock.save()
    assert "drop labels" in dock.ask.asked[0][1]
    assert read_labels(points.metadata["markerless"]["labels_path"]).n_labeled == 3
    dock.ask = Answers("Save anyway")
    assert dock.save()
    assert read_labels(points.metadata["markerless"]["labels_path"]).n_labeled == 2

    # removing a layer with unsaved labels offers to save them
    points.add([0, 5.0, 6.0])
    dock.ask = Answers("Save")
    viewer.layers.remove(points)
    assert dock.ask.asked and dock.layer is None
    assert read_labels(points.metadata["markerless"]["labels_path"]).n_labeled == 3


def test_close_guard_and_plain_image_folder(make_napari_viewer, qtbot, tmp_path):
    from qtpy.QtGui import QCloseEvent
    from qtpy.QtWidgets import QApplication

    config = make_project(tmp_path, plain_folder=True)
    viewer = make_napari_viewer(show=True)
    from markerless.napari.layers.lookup import frames_layer, meta
    from markerless.napari.session import session

    session(viewer).set(config)
    viewer.open(str(tmp_path / "labeled-data" / "plain"), plugin="napari", stack=True)
    plain = viewer.layers[-1]
    assert plain._type_string == "image" and not meta(plain)
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    assert dock.layer is None
    qtbot.waitUntil(lambda: dock.hooks is not None)  # docked: hooks on the main window
    dock.create_layer_for_image()
    points = dock.layer
    assert points is not None and meta(points)["bodyparts"] == BODYPARTS
    assert plain not in viewer.layers  # replaced by markerless' own image stack (same order)
    assert frames_layer(viewer, tmp_path / "labeled-data" / "plain").data.shape[0] == 2

    points.add([1, 10.0, 10.0])
    dock.ask = Answers("Cancel")
    event = QCloseEvent()
    QApplication.sendEvent(viewer.window._qt_window, event)
    assert not event.isAccepted() and viewer.window._qt_window.isVisible()
    assert "unsaved labels" in dock.ask.asked[0][1]
    dock.ask = Answers("Save")
    assert dock.confirm_close() and not dock.dirty_layers()
    saved = tmp_path / "labeled-data" / "plain" / "CollectedData_tester.h5"
    assert saved.exists()


def test_multianimal_keypoints_colours_and_save(make_napari_viewer, tmp_path):
    import imageio.v3 as iio

    from markerless.io.config import default_config, write_config
    from markerless.io.dlc_labels import read_labels
    from markerless.napari.convert import bodypart_colors

    cfg = default_config("t", "tester", "Nov21", multianimal=True, bodyparts=["head", "tail"],
                         individuals=["m1", "m2"], unique_bodyparts=["corner"],
                         skeleton=[["head", "tail"]], project_path=str(tmp_path))
    write_config(cfg, tmp_path / "config.yaml")
    folder = tmp_path / "labeled-data" / "pair"
    folder.mkdir(parents=True)
    for name in ("img1.png", "img2.png"):
        iio.imwrite(folder / name, np.full((32, 40, 3), 90, np.uint8))
    viewer = make_napari_viewer()
    dock = _open(viewer, tmp_path / "config.yaml")
    assert [dock.keypoint_list.item(i).text() for i in range(5)] == [
        "m1 · head", "m1 · tail", "m2 · head", "m2 · tail", "single · corner"]
    points = dock.layer
    viewer.dims.set_current_step(0, 1)
    for y, x in [(5, 5), (10, 10), (20, 20), (25, 25)]:  # m1 head, m1 tail, m2 head, m2 tail
        points.add([1, y, x])
    assert viewer.dims.current_step[0] == 1 and dock.state.current_keypoint == ("single", "corner")
    assert dock.skeleton_layer.data.shape == (2, 2, 3)  # one head-tail edge per animal
    dock.color_combo.setCurrentText("individual")
    colors = bodypart_colors(["m1", "m2", "single"], "tab10")
    for color, ind in zip(points.face_color, points.features["individual"], strict=True):
        np.testing.assert_allclose(color, colors[ind], atol=1e-6)
    assert dock.save()
    poses = read_labels(folder / "CollectedData_tester.h5")
    assert poses.individuals == ["m1", "m2", "single"]
    np.testing.assert_allclose(poses.xy[1, 1, 1], [25, 25])  # m2 tail on img2
    assert poses.n_labeled == 4


def _mouse_labels(frames, swapped: int) -> dict:
    """Labels of a mouse at varied places and headings, its left ear always on its left,
    except on frame number ``swapped``, where the ears are swapped (fits 80x64 images)."""
    rng = np.random.default_rng(0)
    labels = {}
    for k, f in enumerate(frames):
        centre, angle = rng.uniform([28, 22], [52, 42]), rng.uniform(0, 2 * np.pi)
        fwd = np.array([np.cos(angle), np.sin(angle)])
        side = (-5 if k == swapped else 5) * np.array([fwd[1], -fwd[0]])
        xy = [centre + 14 * fwd, centre + 6 * fwd + side, centre + 6 * fwd - side,
              centre - 14 * fwd]
        labels[f] = {bp: tuple(p) for bp, p in zip(BODYPARTS, xy, strict=True)}
    return labels


def test_check_labels_lists_a_swapped_pair_and_shows_its_frame(make_napari_viewer, qtbot,
                                                               tmp_path):
    from qtpy.QtCore import Qt

    frames = (0, 7, 14, 21, 28, 35, 42, 49)
    config = make_project(tmp_path, frames=frames, labels=_mouse_labels(frames, swapped=5))
    drawn = tmp_path / "labeled-data" / "clip_labeled"
    viewer = make_napari_viewer(show=True)
    dock = _open(viewer, config)  # no session project: found above the keypoints layer
    panel = dock.checker
    assert panel.write_images.isChecked() and panel.check_button.isEnabled()

    panel.write_images.setChecked(False)
    panel.check_button.click()
    assert not panel.check_button.isEnabled()  # while the worker runs
    qtbot.waitUntil(panel.check_button.isEnabled, timeout=20000)
    assert [(i.frame, i.bodypart) for i in panel.issues] == [
        ("labeled-data/clip/img35.png", "leftear/rightear")]
    assert panel.issue_list.count() == 1 and panel.issue_list.isVisible()
    assert panel.issue_list.item(0).text().startswith(
        "clip/img35.png · leftear/rightear: left/right swapped")
    assert panel.result_label.text().startswith("1 suspicious label:")
    assert not drawn.exists()

    # clicking the issue goes to img35 (6th image) and selects the two ears there
    viewer.dims.set_current_step(0, 0)
    rect = panel.issue_list.visualItemRect(panel.issue_list.item(0))
    qtbot.mouseClick(panel.issue_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert viewer.dims.current_step[0] == 5
    points = dock.layer
    selected = sorted(points.selected_data)
    assert len(selected) == 2 and set(points.data[selected, 0]) == {5}
    assert set(points.features["bodypart"][selected]) == {"leftear", "rightear"}
    assert points.feature_defaults["bodypart"][0] == "snout"  # the next click is unchanged
    viewer.dims.set_current_step(0, 2)  # browse away, click the same row again: back to img35
    qtbot.mouseClick(panel.issue_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert viewer.dims.current_step[0] == 5

    # with write images (default) every labeled frame is drawn, as DeepLabCut does
    panel.write_images.setChecked(True)
    panel.check_button.click()
    qtbot.waitUntil(panel.check_button.isEnabled, timeout=20000)
    assert len(panel.issues) == 1
    assert sorted(p.name for p in drawn.glob("*.png")) == [f"img{f:02d}.png" for f in frames]
    assert "labeled-data/<video>_labeled" in panel.result_label.text()
    dock.save()  # labels saved: the list is marked stale
    assert "check again" in panel.result_label.text()


def test_check_labels_needs_a_project(make_napari_viewer, tmp_path):
    from markerless.napari.session import session
    from markerless.project.check_labels import LabelIssue

    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    assert dock.layer is None and not dock.checker.check_button.isEnabled()
    dock.checker.run()  # does nothing without a project
    assert not dock.checker.running and dock.checker.result_label.text() == ""
    session(viewer).set(make_project(tmp_path))
    assert dock.checker.check_button.isEnabled()
    # an issue in a folder that is not open in the viewer is only reported
    issue = LabelIssue(tmp_path / "labeled-data" / "clip" / "CollectedData_tester.h5",
                       "labeled-data/clip/img17.png", "", "snout", "outside the image")
    assert not dock.show_issue(issue)
    assert "clip/img17.png is not open" in dock.status.text()


def test_ctrl_s_on_a_full_disk_says_so_in_one_line_and_keeps_the_changes(
        make_napari_viewer, qtbot, tmp_path, monkeypatch):
    import errno

    from qtpy.QtCore import Qt

    from markerless.io import atomic

    config = make_project(tmp_path, labels={17: {"snout": (10.0, 20.0)}})
    viewer = make_napari_viewer(show=True)
    dock = _open(viewer, config)
    qtbot.waitUntil(lambda: dock.hooks is not None)  # docked: Ctrl+S is the dock's
    points = dock.layer
    labels = Path(points.metadata["markerless"]["labels_path"])
    before = labels.read_bytes()
    points.add([2, 12.0, 7.0])
    data = points.data.copy()

    def full(_path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync_file", full)  # the real writer meets a full disk
    viewer.layers.selection.active = points
    _key(qtbot, viewer, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dock.status.text().startswith("Not saved"), timeout=5000)
    text = dock.status.text()
    assert "The disk is full" in text and labels.name in text and "\n" not in text
    assert "Traceback" not in text and "OSError" not in text
    assert points in dock._dirty and "unsaved" in dock.progress_label.text()
    np.testing.assert_array_equal(points.data, data)  # the click is still there
    assert labels.read_bytes() == before

    # a bug (not the user's doing) is one line too, named as an internal error
    monkeypatch.setattr(atomic, "_fsync_file", lambda _p: {}["boom"])
    assert not dock.save()
    assert dock.status.text() == "Not saved: internal error (KeyError: 'boom')"

    monkeypatch.undo()  # space again: the same changes are saved
    assert dock.save() and points not in dock._dirty
    from markerless.io.dlc_labels import read_labels

    assert read_labels(labels).n_labeled == 2


def test_check_labels_lists_file_and_folder_issues_without_going_to_a_frame(
        make_napari_viewer, qtbot, tmp_path):
    config = make_project(tmp_path, labels={17: {"snout": (10.0, 20.0)}}, plain_folder=True)
    viewer = make_napari_viewer()
    dock = _open(viewer, config)
    panel = dock.checker
    panel.write_images.setChecked(False)
    panel.run()
    qtbot.waitUntil(lambda: not panel.running, timeout=20000)
    rows = [panel.issue_list.item(i).text() for i in range(panel.issue_list.count())]
    assert all(not i.frame for i in panel.issues) and len(rows) == len(panel.issues) >= 2
    assert "labeled-data/plain: 2 extracted frame(s), none labeled yet" in rows
    assert any(r.startswith("config.yaml: tailbase: bodypart 'tailbase'") for r in rows), rows
    assert panel.result_label.text().startswith(f"{len(rows)} file or folder problems")
    assert "click one" not in panel.result_label.text()

    viewer.dims.set_current_step(0, 1)
    panel.issue_list.setCurrentRow(rows.index(
        "labeled-data/plain: 2 extracted frame(s), none labeled yet"))
    assert viewer.dims.current_step[0] == 1  # nowhere to go
    assert dock.status.text() == "labeled-data/plain: 2 extracted frame(s), none labeled yet"
    assert dock.status.styleSheet() == ""  # said, not an error of the dock
