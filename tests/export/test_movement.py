"""movement 0.15's ``from_dlc_file`` reads every analysis file markerless writes, with equal
values, and `to_movement` gives it the video's frame rate."""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import ANIMAL, HEIGHT, WIDTH

pytest.importorskip("movement")


def _movement_arrays(ds):
    """(frames, individuals, keypoints, 2) positions and (frames, individuals, keypoints)
    confidence, whatever movement's dimension order."""
    pos = ds.position.transpose("time", "individuals", "keypoints", "space").values
    conf = ds.confidence.transpose("time", "individuals", "keypoints").values
    return pos, conf


def _assert_same(path, ds):
    from markerless.io.dlc_analysis import read_analysis

    ours = read_analysis(path)
    pos, conf = _movement_arrays(ds)
    assert list(ds.keypoints.values) == ours.bodyparts
    np.testing.assert_array_equal(pos, ours.xy)
    np.testing.assert_array_equal(conf, ours.likelihood)


@pytest.fixture(scope="module")
def analysed(trained_project, tmp_path_factory):
    """A 25 fps clip analysed by the project (h5 + csv) and then filtered (h5 + csv)."""
    from markerless import analyze_videos, filterpredictions
    from markerless.synthetic import SyntheticConfig, write_clip

    video = tmp_path_factory.mktemp("mv") / "walk.mp4"
    write_clip(video, SyntheticConfig(height=HEIGHT, width=WIDTH, n_frames=16, fps=25.0,
                                      seed=2, speed=2.0, animal_length=ANIMAL), gop=8)
    scorer = analyze_videos(trained_project, [video], save_as_csv=True, progress=False)
    filterpredictions(trained_project, [video], save_as_csv=True)
    return video, scorer


def test_to_movement_reads_analysis_files_with_video_fps(analysed):
    from markerless import to_movement

    video, scorer = analysed
    files = [video.with_name(f"{video.stem}{scorer}{s}") for s in
             (".h5", ".csv", "_filtered.h5", "_filtered.csv")]
    for path in files:
        assert path.is_file(), path
        ds = to_movement(path)
        assert ds.attrs["fps"] == 25.0
        assert ds.time.values[1] == pytest.approx(1 / 25)
        _assert_same(path, ds)
    assert to_movement(files[0]).sizes["time"] == 16


def test_from_dlc_file_reads_our_multi_animal_files(tmp_path):
    from movement.io import load_poses

    from markerless.io.dlc_analysis import write_analysis
    from markerless.poses import Poses

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (12, 2, 3, 2))
    xy[3, 1] = np.nan  # an individual missing in one frame
    lik = rng.uniform(0, 1, (12, 2, 3))
    poses = Poses(xy, ["snout", "ear", "tail"], ["mouse1", "mouse2"], list(range(12)),
                  "DLC_resnet50_maTestJan1shuffle1_100", lik)
    path = write_analysis(poses, tmp_path / "maDLC_resnet50_maTestJan1shuffle1_100.h5",
                          save_as_csv=True)
    for f in (path, path.with_suffix(".csv")):
        ds = load_poses.from_dlc_file(f, fps=30)
        assert list(ds.individuals.values) == ["mouse1", "mouse2"]
        _assert_same(f, ds)
