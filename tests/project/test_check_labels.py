"""check_labels: labeled frames drawn, swapped left/right pairs and out-of-image points found."""

from __future__ import annotations

import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from fixtures.dlc import make_dlc_project
from markerless import check_labels
from markerless.cli import main
from markerless.io.dlc_labels import read_labels, write_labels
from markerless.project.check_labels import labeled_data_folders, swapped_pairs

BODYPARTS = ("snout", "leftear", "rightear", "tailbase")


def _mouse_labels(n: int, seed: int = 0) -> np.ndarray:
    """(n, 4, 2) labels of a mouse at random places and headings, left ear on its left."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform([30, 30], [90, 60], (n, 2))
    angle = rng.uniform(0, 2 * np.pi, n)
    fwd = np.stack([np.cos(angle), np.sin(angle)], -1)
    side = np.stack([fwd[:, 1], -fwd[:, 0]], -1)  # the same side of the axis in every frame
    return np.stack([centre + 15 * fwd, centre + 8 * fwd + 5 * side,
                     centre + 8 * fwd - 5 * side, centre - 15 * fwd], axis=1)


@pytest.fixture
def project(tmp_path):
    proj = make_dlc_project(tmp_path, bodyparts=BODYPARTS, n_frames=12, image_shape=(90, 120),
                            nan_fraction=0.0)
    poses = proj.labels["video1"]
    poses.xy[:, 0] = _mouse_labels(12)
    write_labels(poses, proj.label_paths["video1"].parent, overwrite=True)
    return proj


def _edit(proj, fn):
    poses = read_labels(proj.label_paths["video1"])
    fn(poses.xy[:, 0])
    write_labels(poses, proj.label_paths["video1"].parent, overwrite=True)
    return poses


def test_consistent_labels_raise_nothing_and_frames_are_drawn(project):
    assert check_labels(project.config_path) == []
    out = project.root / "labeled-data" / "video1_labeled"
    drawn = sorted(out.glob("*.png"))
    assert [p.name for p in drawn] == [p.name for p in project.images["video1"]]
    poses = read_labels(project.label_paths["video1"])
    image = iio.imread(drawn[3])
    plain = iio.imread(project.images["video1"][3])
    x, y = np.rint(poses.xy[3, 0, 0]).astype(int)  # the snout: first colour of 'rainbow'
    assert image.shape == (90, 120, 3)
    assert image[y, x, 2] > 150 and image[y, x, 0] < 150  # rainbow(0) is purple-blue
    assert not np.array_equal(image[y, x], plain[y, x])
    far = (5, 5) if np.hypot(*(poses.xy[3, 0, :, :] - 5).T).min() > 20 else (85, 115)
    np.testing.assert_array_equal(image[far], plain[far])  # untouched away from labels


def test_one_swapped_pair_is_found_and_ringed_in_red(project):
    def swap(xy):
        xy[7, [1, 2]] = xy[7, [2, 1]]

    _edit(project, swap)
    issues = check_labels(project.config_path)
    assert [(i.frame, i.bodypart) for i in issues] == [
        ("labeled-data/video1/img007.png", "leftear/rightear")]
    assert "swapped" in issues[0].problem
    poses = read_labels(project.label_paths["video1"])
    image = iio.imread(project.root / "labeled-data" / "video1_labeled" / "img007.png")
    x, y = np.rint(poses.xy[7, 0, 1]).astype(int)
    ring = image[y - 9 : y + 10, x - 9 : x + 10].reshape(-1, 3)
    assert ((ring[:, 0] == 255) & (ring[:, 1] == 0) & (ring[:, 2] == 0)).any()


def test_no_consistent_convention_flags_nothing():
    xy = _mouse_labels(10)
    xy[::2, [1, 2]] = xy[::2, [2, 1]]  # half the frames each way: no majority to trust
    from markerless.poses import Poses

    poses = Poses(xy[:, None], list(BODYPARTS), frames=[f"f{i}" for i in range(10)])
    pairs, swapped = swapped_pairs(poses)
    assert pairs == ((1, 2),) and not swapped.any()


def test_points_outside_the_image_are_reported(project):
    def push_out(xy):  # tailbase 200 px behind the snout: along the body axis, off the image
        axis = xy[2, 3] - xy[2, 0]
        xy[2, 3] = xy[2, 0] + 200 * axis / np.linalg.norm(axis)

    _edit(project, push_out)
    issues = check_labels(project.config_path, write_images=False)
    assert len(issues) == 1
    assert issues[0].frame == "labeled-data/video1/img002.png"
    assert issues[0].bodypart == "tailbase" and "outside the 120x90 image" in issues[0].problem
    assert not (project.root / "labeled-data" / "video1_labeled").exists()


def test_cli_exit_code_and_report(project, capsys):
    assert main(["check-labels", str(project.config_path), "--no-images"]) == 0
    _edit(project, lambda xy: xy.__setitem__((4, [1, 2]), xy[4, [2, 1]]))
    assert main(["check-labels", str(project.config_path), "--no-images"]) == 1
    assert "img004.png: leftear/rightear" in capsys.readouterr().out


@pytest.mark.shared
def test_openfield_has_exactly_one_swapped_frame(openfield_dir, tmp_path):
    project = shutil.copytree(openfield_dir, tmp_path / "openfield",
                              ignore=shutil.ignore_patterns("videos"))
    issues = check_labels(project / "config.yaml", write_images=False)
    assert [(i.frame, i.bodypart) for i in issues] == [
        ("labeled-data/m4s1/img0102.png", "leftear/rightear")]


def test_multianimal_swap_names_the_individual_and_colours_by_individual(tmp_path):
    proj = make_dlc_project(tmp_path, bodyparts=BODYPARTS, individuals=("mouse1", "mouse2"),
                            n_frames=8, image_shape=(90, 120), nan_fraction=0.0)
    poses = proj.labels["video1"]
    poses.xy[:, 0] = _mouse_labels(8, seed=1)
    poses.xy[:, 1] = _mouse_labels(8, seed=2)
    poses.xy[5, 1, [1, 2]] = poses.xy[5, 1, [2, 1]]
    write_labels(poses, proj.label_paths["video1"].parent, overwrite=True)
    issues = check_labels(proj.config_path)
    assert [(i.frame, i.individual, i.bodypart) for i in issues] == [
        ("labeled-data/video1/img005.png", "mouse2", "leftear/rightear")]
    image = iio.imread(proj.root / "labeled-data" / "video1_labeled" / "img000.png")
    snout, tail = (np.rint(poses.xy[0, 0, k]).astype(int) for k in (0, 3))
    # one colour per individual: mouse1's snout and tailbase look alike
    np.testing.assert_allclose(image[snout[1], snout[0]], image[tail[1], tail[0]], atol=40)


def test_labeled_data_folders_skip_only_the_drawings(project):
    check_labels(project.config_path)
    labeled = project.root / "labeled-data"
    assert (labeled / "video1_labeled").is_dir()
    (labeled / "solo_labeled").mkdir()  # no 'solo' video beside it: a video named so
    (labeled / "video2").mkdir()
    (labeled / "video2_labeled").mkdir()
    shutil.copy(project.label_paths["video1"], labeled / "video2_labeled")  # has labels: kept
    assert [p.name for p in labeled_data_folders(project.root)] == [
        "solo_labeled", "video1", "video2", "video2_labeled"]
    assert labeled_data_folders(project.root / "nowhere") == []


def test_reopening_a_checked_project_loads_no_drawings(project):
    pytest.importorskip("napari")
    from markerless.napari.layers.reader import napari_get_reader

    check_labels(project.config_path)
    layers = napari_get_reader(str(project.config_path))(str(project.config_path))
    names = [meta.get("name", "") for _, meta, _ in layers]
    assert names and not any("_labeled" in n for n in names), names
    assert any("video1" in n for n in names)
