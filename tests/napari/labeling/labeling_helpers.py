"""Shared helpers of the Labeling dock's GUI tests: small projects, real mouse and keys.

Imported by the test modules of this folder (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["leftear", "tailbase"]]


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


def open_dock(viewer, config: Path):
    from markerless.napari.labeling.dock import LabelingWidget

    viewer.open(str(config), plugin="markerless")
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Labeling")
    assert isinstance(dock, LabelingWidget)
    return dock


def screen(viewer, y: float, x: float):
    """Canvas pixel showing world point (y, x) (2D view: centre + offset * zoom)."""
    from qtpy.QtCore import QPoint

    camera = viewer.scene.camera
    canvas = viewer.window._qt_viewer.canvas.native
    cy, cx = camera.center[-2:]
    return QPoint(round(canvas.width() / 2 + (x - cx) * camera.zoom),
                  round(canvas.height() / 2 + (y - cy) * camera.zoom))


def mouse(qtbot, viewer, action: str, y: float, x: float) -> np.ndarray:
    """A real mouse press/release/click at world (y, x); returns where napari saw it."""
    from qtpy.QtCore import Qt

    canvas = viewer.window._qt_viewer.canvas.native
    pos = screen(viewer, y, x)
    qtbot.mouseMove(canvas, pos)
    qtbot.wait(20)  # napari throttles mouse moves: let the move land before the button
    getattr(qtbot, f"mouse{action}")(canvas, Qt.MouseButton.LeftButton, pos=pos)
    seen = np.asarray(viewer.cursor.position)
    np.testing.assert_allclose(seen[1:], [y, x], atol=1.0 / viewer.scene.camera.zoom)
    return seen


def key(qtbot, viewer, key, modifier=None) -> None:
    from qtpy.QtCore import Qt

    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, key, modifier or Qt.KeyboardModifier.NoModifier)
