"""Tracks dock in a real viewer, on `_el.h5` tracks made by the tracking API from a synthetic
two-animal clip, with the identities swapped from frame 60 on (no network needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
SWAP = 60


@pytest.fixture
def project(tmp_path):
    from markerless.tracking.simulate_project import write_tracked_project

    return write_tracked_project(tmp_path / "work", n_animals=2, n_frames=90,
                                 swaps=[(SWAP, 0, 1)])


def _error(poses, truth) -> np.ndarray:
    d = np.linalg.norm(poses.xy - truth.xy, axis=-1)
    with np.errstate(invalid="ignore"):
        return np.nanmax(np.nanmean(d, -1), -1)


def _key(qtbot, viewer, key, modifier=None) -> None:
    from qtpy.QtCore import Qt

    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, key, modifier or Qt.KeyboardModifier.NoModifier)


def _wait(qtbot, dock):
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)
    assert dock.job.last_error is None, dock.job.last_error


def _individual_at(points, frame: int) -> dict:
    """individual -> its points' (y, x) at ``frame``, sorted (the layer's own data)."""
    at = points.data[:, 0] == frame
    ind = points.features["individual"].astype(str).to_numpy()
    return {n: np.sort(points.data[at & (ind == n), 1:], axis=0) for n in set(ind[at])}


def test_swap_from_a_frame_on_jump_and_save(make_napari_viewer, qtbot, tmp_path, project):
    from qtpy.QtCore import Qt

    from markerless.io.atomic import backup_path
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.layers.convert import individual_colors
    from markerless.napari.tracks.dock import TracksWidget
    from markerless.tracking.events import close_approaches

    viewer = make_napari_viewer(show=True)
    dock = TracksWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Tracks")
    dock.set_config(project.config)
    assert dock.files.count() == 1 and dock.files.currentData()[0] == str(project.tracks)
    assert dock.open_selected() is not None
    _wait(qtbot, dock)
    layers = dock.layers
    assert layers.image is not None and layers.image.data.shape[:3] == (90, 128, 128)
    before = read_analysis(project.tracks)
    assert _error(before, project.truth)[SWAP:].min() > 10  # the injected swap

    # trajectories coloured by identity: one colour per animal, that of the points' border
    tracks = layers.tracks
    assert tracks.color_by == "individual_color"
    colors = individual_colors(["animal0", "animal1"])
    ind = tracks.features["individual_index"].to_numpy().astype(int)
    for i, name in enumerate(["animal0", "animal1"]):
        np.testing.assert_allclose(tracks.track_colors[ind == i], np.tile(colors[name],
                                   ((ind == i).sum(), 1)), atol=1e-6)  # fmt: skip

    # N jumps to where the animals first come close (the core function's answer)
    dock.kind.setCurrentIndex(dock.kind.findData("close"))
    dock.distance.setValue(1.1)  # body lengths: these two come within 1.07 of each other
    expected = close_approaches(before, 1.1).starts()
    assert len(expected) >= 1 and expected[0] > 0
    viewer.dims.set_current_step(0, 0)
    viewer.layers.selection.active = layers.points
    _key(qtbot, viewer, Qt.Key.Key_N)
    assert viewer.dims.current_step[0] == expected[0]
    assert "animals close" in dock.event_label.text()

    # I at frame 60 swaps the animals from there on; U undoes it; I again
    viewer.dims.set_current_step(0, SWAP)
    at59, at60 = _individual_at(layers.points, SWAP - 1), _individual_at(layers.points, SWAP)
    _key(qtbot, viewer, Qt.Key.Key_I)
    assert dock.state.dirty and "animal0 <-> animal1 from frame 60 on" in dock.job.status.text()
    now59, now60 = _individual_at(layers.points, SWAP - 1), _individual_at(layers.points, SWAP)
    np.testing.assert_array_equal(now59["animal0"], at59["animal0"])  # before: unchanged
    np.testing.assert_array_equal(now60["animal0"], at60["animal1"])  # after: swapped
    np.testing.assert_array_equal(now60["animal1"], at60["animal0"])
    assert _error(dock.state.poses, project.truth).max() < 3  # right everywhere now
    swapped_rows = tracks.data[tracks.data[:, 1] == SWAP]  # (track, frame, y, x)
    _key(qtbot, viewer, Qt.Key.Key_U)
    assert _error(dock.state.poses, project.truth)[SWAP:].min() > 10 and not dock.state.dirty
    rows = tracks.data[tracks.data[:, 1] == SWAP]
    assert np.array_equal(rows[:, 0], swapped_rows[:, 0])  # same tracks, other animal's places
    assert np.abs(rows[:, 2:] - swapped_rows[:, 2:]).max() > 10
    _key(qtbot, viewer, Qt.Key.Key_I)

    # save: the file is corrected, the previous one kept, the .csv rewritten too
    dock.save()
    _wait(qtbot, dock)
    assert not dock.state.dirty
    saved = read_analysis(project.tracks)
    assert _error(saved, project.truth).max() < 3
    assert read_analysis(project.tracks.with_suffix(".csv")).equals(saved)
    assert read_analysis(backup_path(project.tracks)).equals(before)

    # a range swap (frames 10..19 included), then send two frames to labeled-data
    dock.in_range.setChecked(True)
    dock.start.setValue(10)
    dock.end.setValue(19)
    dock.swap()
    err = _error(dock.state.poses, project.truth)
    assert err[10:20].min() > 3 and np.delete(err, range(10, 20)).max() < 3
    dock.undo()
    for frame in (5, 70):
        viewer.dims.set_current_step(0, frame)
        _key(qtbot, viewer, Qt.Key.Key_F)
    assert dock.chosen_label.text().startswith("2 frames: 5, 70")
    dock.send_frames()
    _wait(qtbot, dock)
    assert dock.last_result["sent"] == [5, 70]
    folder = project.config.parent / "labeled-data" / project.video.stem
    machine = read_analysis(folder / "machinelabels-iter0.h5")
    assert machine.individuals == ["animal0", "animal1"]
    np.testing.assert_allclose(machine.xy, saved.xy[[5, 70]], equal_nan=True)
    _screenshot(viewer, qtbot, "tracks-dock.png", tmp_path)


def _screenshot(viewer, qtbot, name: str, tmp_path: Path) -> None:
    """As the other docks' tests: kept in docs/images when missing or MARKERLESS_SCREENSHOTS=1."""
    import imageio.v3 as iio

    viewer.window.resize(1280, 860)
    qtbot.wait(200)
    image = viewer.screenshot(canvas_only=False, flash=False)
    assert image.std() > 10
    iio.imwrite(tmp_path / name, image)
    if os.environ.get("MARKERLESS_SCREENSHOTS") or not (DOCS_IMAGES / name).exists():
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        iio.imwrite(DOCS_IMAGES / name, image)
