"""napari reader/writer on the real openfield project, in a real viewer (Xvfb)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from markerless.napari.layers.reader import napari_get_reader

pytestmark = pytest.mark.gui


def _openfield_copy(src: Path, dst: Path) -> Path:
    """A writable copy of the openfield project (labeled-data + config, no video)."""
    shutil.copytree(src / "labeled-data", dst / "labeled-data")
    shutil.copy(src / "config.yaml", dst / "config.yaml")
    return dst / "config.yaml"


def _truth(openfield_dir: Path) -> pd.DataFrame:
    return pd.read_hdf(openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5")


def _points_layer(viewer):
    layers = [ly for ly in viewer.layers if ly._type_string == "points"]
    assert len(layers) == 1, [ly.name for ly in viewer.layers]
    return layers[0]


def test_get_reader_declines_foreign_files(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / "x.txt").write_text("hello")
    assert napari_get_reader(str(tmp_path / "notes.csv")) is None
    assert napari_get_reader(str(tmp_path / "x.txt")) is None
    assert napari_get_reader(str(tmp_path / "missing.mp4")) is None
    assert napari_get_reader(str(tmp_path)) is None


@pytest.mark.parametrize("what", ["config", "h5", "csv", "folder"])
def test_open_openfield_shows_all_464_points(make_napari_viewer, openfield_dir, tmp_path, what):
    config = _openfield_copy(openfield_dir, tmp_path)
    folder = tmp_path / "labeled-data" / "m4s1"
    path = {"config": config, "h5": folder / "CollectedData_Pranav.h5",
            "csv": folder / "CollectedData_Pranav.csv", "folder": folder}[what]
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="markerless")
    points = _points_layer(viewer)
    assert len(points.data) == 464
    images = [ly for ly in viewer.layers if ly._type_string == "image"]
    assert images and images[0].data.shape == (116, 480, 640, 3)
    # coordinates: every point equals the file's value for its frame and bodypart
    truth = _truth(openfield_dir)
    bodyparts = ["snout", "leftear", "rightear", "tailbase"]
    feats = points.features
    for bp in bodyparts:
        sel = (feats["bodypart"] == bp).to_numpy()
        frames = points.data[sel, 0].astype(int)
        assert sorted(frames) == list(range(116))
        order = np.argsort(frames)
        np.testing.assert_allclose(points.data[sel][order, 2], truth["Pranav", bp, "x"])
        np.testing.assert_allclose(points.data[sel][order, 1], truth["Pranav", bp, "y"])


def test_open_config_after_labels_never_hides_them(make_napari_viewer, openfield_dir, tmp_path):
    """napari-deeplabcut #161: opening config.yaml first erased existing keypoints."""
    config = _openfield_copy(openfield_dir, tmp_path)
    viewer = make_napari_viewer()
    viewer.open(str(config), plugin="markerless")
    viewer.open(str(tmp_path / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5"),
                plugin="markerless")
    for layer in viewer.layers:
        if layer._type_string == "points":
            assert len(layer.data) == 464


def test_add_point_save_and_reread(make_napari_viewer, openfield_dir, tmp_path):
    """Add a bodypart in config.yaml, click it on frame 3, save through napari, re-read."""
    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import read_labels

    config = _openfield_copy(openfield_dir, tmp_path)
    cfg = read_config(config)
    cfg["bodyparts"] = [*cfg["bodyparts"], "tailtip"]
    write_config(cfg, config)

    viewer = make_napari_viewer()
    viewer.open(str(config), plugin="markerless")
    points = _points_layer(viewer)
    assert len(points.data) == 464
    points.feature_defaults["bodypart"] = "tailtip"
    points.add([3, 123.5, 321.25])
    assert points.features["bodypart"].iloc[-1] == "tailtip"

    out = tmp_path / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5"
    viewer.layers.selection = {points}
    written = viewer.layers.save(str(out), selected=True, plugin="markerless")
    assert any(str(p).endswith(".h5") for p in written)
    assert out.with_suffix(".csv").exists()
    assert any(p.name.startswith("CollectedData_Pranav.h5") and p != out
               for p in out.parent.iterdir())  # the previous file is kept as a backup

    poses = read_labels(out)
    assert poses.bodyparts == ["snout", "leftear", "rightear", "tailbase", "tailtip"]
    assert poses.n_labeled == 465
    i = [Path(str(f)).name for f in poses.frames].index("img0003.png")
    np.testing.assert_array_equal(poses.xy[i, 0, 4], [321.25, 123.5])
    # the old labels are untouched
    truth = _truth(openfield_dir)
    np.testing.assert_allclose(poses.xy[:, 0, 0, 0], truth["Pranav", "snout", "x"])

    # re-open through napari: lossless
    viewer.layers.clear()
    viewer.open(str(out), plugin="markerless")
    again = _points_layer(viewer)
    assert len(again.data) == 465
    np.testing.assert_allclose(np.sort(again.data, axis=0), np.sort(points.data, axis=0))


def test_screenshot_shows_points_over_frame(make_napari_viewer, openfield_dir, tmp_path):
    config = _openfield_copy(openfield_dir, tmp_path)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(config), plugin="markerless")
    points = _points_layer(viewer)
    points.size = 12
    viewer.dims.set_current_step(0, 0)
    shot = viewer.export_figure(flash=False)  # layer extent at one screen pixel per data pixel
    assert shot.shape[0] == pytest.approx(480, abs=2)
    assert shot.shape[1] == pytest.approx(640, abs=2)
    assert shot[..., :3].std() > 5  # not blank
    truth = _truth(openfield_dir).iloc[0]
    colors = dict(zip(points.features["bodypart"], points.face_color, strict=True))
    for bp in ["snout", "tailbase"]:
        x, y = truth["Pranav", bp, "x"], truth["Pranav", bp, "y"]
        pixel = shot[int(round(y)), int(round(x)), :3].astype(float)
        expected = np.asarray(colors[bp][:3]) * 255
        assert np.abs(pixel - expected).max() < 60, (bp, pixel, expected)
    # and far from any point the frame is grey (R == G == B)
    grey = shot[5, 600, :3].astype(int)
    assert abs(grey[0] - grey[2]) < 3


def test_colour_follows_bodypart_even_when_first_points_are_not_the_first_bodypart(
    make_napari_viewer, tmp_path
):
    """napari assigns list colour cycles by first appearance; ours map bodypart -> colour."""
    from markerless.io.dlc_labels import write_labels
    from markerless.napari.convert import bodypart_colors
    from markerless.poses import Poses

    folder = tmp_path / "labeled-data" / "v"
    folder.mkdir(parents=True)
    import imageio.v3 as iio

    iio.imwrite(folder / "img0.png", np.zeros((20, 30, 3), np.uint8))
    xy = np.full((1, 1, 3, 2), np.nan)
    xy[0, 0, 2] = [5, 6]  # only the last bodypart is labeled
    write_labels(Poses(xy, ["a", "b", "c"], [""], ["labeled-data/v/img0.png"], "me"), folder)
    viewer = make_napari_viewer()
    viewer.open(str(folder), plugin="markerless")
    points = _points_layer(viewer)
    np.testing.assert_allclose(points.face_color[0], bodypart_colors(["a", "b", "c"])["c"])


def test_image_stack_builds_in_threads(openfield_dir):
    """Layers are built in napari worker threads; building stacks concurrently must work."""
    from concurrent.futures import ThreadPoolExecutor

    from markerless.napari.layers.reader import read_labeled_folder

    folder = openfield_dir / "labeled-data" / "m4s1"
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: read_labeled_folder(folder), range(6)))
    for layers in results:
        stack = layers[0][0]
        assert stack.shape == (116, 480, 640, 3)
    np.testing.assert_array_equal(results[0][0][0][5].compute(), results[1][0][0][5].compute())
