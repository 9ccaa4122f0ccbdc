"""Project creation and frame extraction: DeepLabCut's layout, names and safety rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from markerless import add_new_videos, create_new_project
from markerless.errors import VideoError
from markerless.io.config import read_config
from markerless.project.frames import extract_frames, frame_index, frame_name, select_frames


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    from markerless import synthetic

    folder = tmp_path_factory.mktemp("videos")
    out = []
    for seed, n in [(1, 90), (2, 30)]:
        path = folder / f"mouse{seed}.mp4"
        synthetic.write_clip(path, synthetic.SyntheticConfig(n_frames=n, seed=seed), gop=30)
        out.append(path)
    return out


def test_create_new_project_uses_dlc_layout_and_names(videos, tmp_path):
    config = Path(create_new_project("reach", "bob", [videos[0]], working_directory=tmp_path,
                                     copy_videos=False))
    date = dt.date.today().isoformat()
    assert config == tmp_path / f"reach-bob-{date}" / "config.yaml"
    root = config.parent
    for folder in ["videos", "labeled-data", "training-datasets", "dlc-models"]:
        assert (root / folder).is_dir()
    assert (root / "labeled-data" / "mouse1").is_dir()
    linked = root / "videos" / "mouse1.mp4"
    assert linked.is_symlink() and linked.resolve() == videos[0].resolve()
    cfg = read_config(config)
    assert cfg["Task"] == "reach" and cfg["scorer"] == "bob"
    assert cfg["project_path"] == str(root)
    assert cfg["video_sets"][str(linked)]["crop"] == "0, 256, 0, 256"
    for key in ["TrainingFraction", "iteration", "pcutoff", "numframes2pick", "skeleton",
                "default_net_type", "snapshotindex", "batch_size", "multianimalproject"]:
        assert key in cfg


def test_multianimal_project(videos, tmp_path):
    config = create_new_project("pair", "eve", [videos[0]], working_directory=tmp_path,
                                multianimal=True, individuals=["m1", "m2"])
    cfg = read_config(config)
    assert cfg["multianimalproject"] is True
    assert cfg["bodyparts"] == "MULTI!"
    assert list(cfg["individuals"]) == ["m1", "m2"]


def test_add_new_videos_and_copy(videos, tmp_path):
    config = create_new_project("reach", "bob", [videos[0]], working_directory=tmp_path)
    added = add_new_videos(config, [videos[1]], copy_videos=True)
    copied = Path(added[0])
    assert copied.exists() and not copied.is_symlink()
    cfg = read_config(config)
    assert len(cfg["video_sets"]) == 2
    assert (Path(config).parent / "labeled-data" / "mouse2").is_dir()


def test_missing_video_creates_nothing(tmp_path):
    with pytest.raises(VideoError, match="ghost.mp4"):
        create_new_project("x", "y", [tmp_path / "ghost.mp4"], working_directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_frame_names_follow_deeplabcut():
    assert frame_name(7, 2330) == "img0007.png"
    assert frame_name(7, 90) == "img07.png"
    assert frame_index("img0123.png") == 123
    assert frame_index("CollectedData_x.h5") is None


def test_kmeans_picks_distinct_frames_spread_over_the_video(videos):
    idx = select_frames(videos[0], 8, "kmeans")
    assert len(idx) == 8 and len(set(idx)) == 8
    assert idx.min() >= 0 and idx.max() < 90
    assert np.ptp(idx) > 45  # diverse: not all from one stretch


def test_extract_frames_never_overwrites_existing_frames(videos, tmp_path):
    config = create_new_project("reach", "bob", [videos[0]], working_directory=tmp_path)
    folder = Path(config).parent / "labeled-data" / "mouse1"
    keep = folder / "img00.png"
    keep.write_bytes(b"labeled frame stand-in")
    written = extract_frames(config, algo="uniform", numframes2pick=4)
    (pngs,) = written.values()
    assert keep not in pngs and keep.read_bytes() == b"labeled frame stand-in"
    assert sorted(p.name for p in folder.glob("img*.png")) == [
        "img00.png", "img30.png", "img59.png", "img89.png"]

    import imageio.v3 as iio

    from markerless.io.video import VideoReader

    with VideoReader(videos[0]) as reader:
        np.testing.assert_array_equal(iio.imread(folder / "img59.png"), reader[59])
