"""find_outliers rules and extract_outlier_frames' files (PNGs + machinelabels-iter<N>.h5)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from markerless.errors import ConfigError
from markerless.io.config import read_config
from markerless.io.dlc_analysis import read_analysis, write_analysis
from markerless.io.dlc_labels import write_labels
from markerless.io.video import VideoReader
from markerless.poses import Poses
from markerless.postprocessing.outliers import (
    extract_outlier_frames,
    find_outliers,
    machinelabels_path,
    pick_frames,
)


def _track(n: int = 40, k: int = 2, seed: int = 0) -> Poses:
    """Smooth random-walk keypoints (steps < 2 px), likelihood 0.9."""
    rng = np.random.default_rng(seed)
    xy = 100 + np.cumsum(rng.uniform(-1, 1, (n, 1, k, 2)), axis=0)
    return Poses(xy, [f"bp{i}" for i in range(k)], likelihood=np.full((n, 1, k), 0.9))


def test_jump_flags_the_frame_after_a_large_move():
    p = _track()
    p.xy[20:, 0, 1, 0] += 30  # bp1 jumps 30 px at frame 20 and stays
    np.testing.assert_array_equal(find_outliers(p, "jump", epsilon=20), [20])
    assert len(find_outliers(p, "jump", epsilon=40)) == 0
    assert len(find_outliers(p, "jump", comparisonbodyparts=["bp0"], epsilon=20)) == 0
    p.xy[5, 0, 0] = np.nan  # a missing point never counts as a jump
    np.testing.assert_array_equal(find_outliers(p, "jump", epsilon=20), [20])


def test_uncertain_flags_any_keypoint_below_p_bound():
    p = _track()
    p.likelihood[[3, 17], 0, 1] = 0.005
    p.likelihood[25, 0, 0] = 0.02
    np.testing.assert_array_equal(find_outliers(p, "uncertain", p_bound=0.01), [3, 17])
    np.testing.assert_array_equal(find_outliers(p, "uncertain", p_bound=0.05), [3, 17, 25])
    np.testing.assert_array_equal(
        find_outliers(p, "uncertain", comparisonbodyparts="bp0", p_bound=0.05), [25])


def test_fitting_flags_a_single_wrong_frame_and_falls_back_to_the_most_distant():
    t = np.arange(120)
    xy = np.zeros((120, 1, 1, 2))
    xy[:, 0, 0, 0] = 100 + 30 * np.sin(t / 10)
    xy[:, 0, 0, 1] = 80 + 20 * np.cos(t / 13)
    xy[70, 0, 0] += [40, -30]
    p = Poses(xy, ["nose"], likelihood=np.full((120, 1, 1), 0.9))
    np.testing.assert_array_equal(find_outliers(p, "fitting", epsilon=20, numframes2pick=0), [70])
    top = find_outliers(p, "fitting", epsilon=20, numframes2pick=3)  # < 6 found: the 6 largest
    assert len(top) == 6 and 70 in top


def test_manual_start_stop_and_errors():
    p = _track(n=40)
    np.testing.assert_array_equal(find_outliers(p, "manual", frames=[30, 2, 2, 9]), [2, 9, 30])
    assert find_outliers(p, "manual", frames=[2, 9, 30], start=0.2, stop=0.5).tolist() == [9]
    with pytest.raises(ConfigError, match="frames"):
        find_outliers(p, "manual")
    with pytest.raises(ConfigError, match="outside"):
        find_outliers(p, "manual", frames=[40])
    with pytest.raises(ConfigError, match="outlieralgorithm"):
        find_outliers(p, "bogus")
    with pytest.raises(ConfigError, match="Unknown bodyparts"):
        find_outliers(p, "jump", comparisonbodyparts=["tail"])


def test_pick_frames_uniform_and_kmeans(clip):
    video, _ = clip
    cand = np.arange(3, 45, 2)
    uni = pick_frames(video, cand, 4, "uniform")
    np.testing.assert_array_equal(uni, [3, 17, 29, 43])
    km = pick_frames(video, cand, 4, "kmeans")
    assert len(km) == 4 and set(km) <= set(cand)
    assert pick_frames(video, [5, 1], 4).tolist() == [1, 5]  # fewer candidates than wanted


def test_extract_outlier_frames_writes_pngs_and_machine_labels(project):
    config, video, results = project["config"], project["video"], project["results"]
    root = project["root"]
    bad = results.copy()
    bad.likelihood[[5, 12, 20, 33, 40], 0, 2] = 0.001
    path = write_analysis(bad, project["analysis"])
    picked = extract_outlier_frames(config, [video], outlieralgorithm="uncertain",
                                    extractionalgo="uniform", numframes2pick=3)[str(video)]
    assert picked == [5, 20, 40]
    folder = root / "labeled-data" / "mouse"
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == ["img05.png", "img20.png", "img40.png"]
    with VideoReader(video) as reader:
        np.testing.assert_array_equal(np.asarray(Image.open(folder / "img20.png")), reader[20])
    machine = read_analysis(machinelabels_path(folder, 0))
    assert machine.frames == [f"labeled-data/mouse/img{i:02d}.png" for i in (5, 20, 40)]
    assert machine.scorer == bad.scorer and machine.bodyparts == bad.bodyparts
    np.testing.assert_allclose(machine.xy, bad.xy[[5, 20, 40]])
    np.testing.assert_allclose(machine.likelihood, bad.likelihood[[5, 20, 40]])
    assert (folder / "machinelabels-iter0.csv").is_file()
    assert path.is_file()


def test_extract_skips_labeled_frames_and_never_overwrites(project):
    config, video, results, root = project["config"], project["video"], project["results"], \
        project["root"]
    folder = root / "labeled-data" / "mouse"
    folder.mkdir(parents=True, exist_ok=True)
    human = project["truth"].select_frames([5, 12])
    human.frames = ["labeled-data/mouse/img05.png", "labeled-data/mouse/img12.png"]
    human.scorer = "me"
    write_labels(human, folder)
    (folder / "img20.png").write_bytes(b"not touched")
    frames = [5, 12, 20, 33]
    picked = extract_outlier_frames(config, [video], outlieralgorithm="manual", frames=frames,
                                    analysis=results, numframes2pick=10)[str(video)]
    assert picked == [20, 33]  # 5 and 12 carry human labels
    assert (folder / "img20.png").read_bytes() == b"not touched"
    assert not (folder / "img05.png").exists()
    # a second run does not pick the frames already waiting for correction
    again = extract_outlier_frames(config, [video], outlieralgorithm="manual",
                                   frames=frames + [40], analysis={"mouse": results})
    assert again[str(video)] == [40]
    machine = read_analysis(machinelabels_path(folder, 0))
    assert [f.split("/")[-1] for f in machine.frames] == ["img20.png", "img33.png", "img40.png"]


def test_extract_registers_an_outside_video_in_the_config(project, tmp_path, clip):
    config, results = project["config"], project["results"]
    other = tmp_path / "elsewhere" / "rat.mp4"
    other.parent.mkdir()
    other.write_bytes(clip[0].read_bytes())
    extract_outlier_frames(config, [other], outlieralgorithm="manual", frames=[1],
                           analysis=results)  # fmt: skip
    stems = {p.split("/")[-1] for p in read_config(config)["video_sets"]}
    assert "rat.mp4" in stems
    assert (project["root"] / "labeled-data" / "rat" / "img01.png").is_file()
