"""SLEAP .slp in and out through sleap-io: round trips, conventions, bad input, the fly clip."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

sio = pytest.importorskip("sleap_io")

from markerless.io.slp import SlpWarning, export_slp, read_slp, resolve_video, write_slp  # noqa: E402
from markerless.io.slp_project import import_slp  # noqa: E402
from markerless.poses import Poses  # noqa: E402
from markerless.synthetic import SyntheticConfig, write_clip  # noqa: E402

EDGES = [("snout", "leftear"), ("snout", "rightear"), ("snout", "tailbase")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A small two-animal synthetic video and its ground truth (with some missing points)."""
    folder = tmp_path_factory.mktemp("slpclip")
    cfg = SyntheticConfig(n_frames=12, n_animals=2, arena="shared", height=96, width=128,
                          seed=4, noise_std=0, flicker=0)
    gt = write_clip(folder / "mice.mp4", cfg, gop=1)
    xy = gt.xy.copy()
    xy[3, 1, 2] = np.nan
    xy[5, 0] = np.nan  # an animal unlabeled in one frame
    gt = Poses(xy, gt.bodyparts, ["f", "m"], gt.frames, "jo")
    return folder / "mice.mp4", gt


def test_labels_round_trip_through_sleap_io(clip, tmp_path):
    video, gt = clip
    out = write_slp([(gt, video)], tmp_path / "mice.slp", EDGES)
    raw = sio.load_slp(str(out), open_videos=False)  # SLEAP's own reader
    assert [t.name for t in raw.tracks] == ["f", "m"]
    assert raw.skeletons[0].node_names == gt.bodyparts and len(raw.skeletons[0].edges) == 3
    assert all(type(i).__name__ == "Instance" for lf in raw.labeled_frames for i in lf.instances)
    arr = raw.numpy()  # (frames, tracks, nodes, 2)
    np.testing.assert_allclose(arr, gt.xy, equal_nan=True)
    (back,) = read_slp(out)
    assert back.poses.individuals == ["f", "m"] and back.poses.likelihood is None
    np.testing.assert_allclose(back.poses.xy, gt.xy, equal_nan=True)
    assert back.video == video.resolve() and back.edges == EDGES


def test_predictions_and_tracks_round_trip_with_scores(clip, tmp_path):
    video, gt = clip
    lik = np.random.default_rng(0).uniform(0.2, 1, gt.xy.shape[:3])
    pred = Poses(gt.xy, gt.bodyparts, gt.individuals, gt.frames, "net", lik)
    out = write_slp([(pred, video)], tmp_path / "pred.slp")
    raw = sio.load_slp(str(out), open_videos=False)
    inst = raw.labeled_frames[0].instances[0]
    assert type(inst).__name__ == "PredictedInstance" and inst.track is not None
    arr = raw.numpy(return_confidence=True, user_instances=False)
    np.testing.assert_allclose(arr[..., :2], gt.xy, equal_nan=True)
    vis = np.isfinite(gt.xy).all(-1)
    np.testing.assert_allclose(arr[..., 2][vis], lik[vis])
    (back,) = read_slp(out)
    np.testing.assert_allclose(back.poses.likelihood[vis], lik[vis])


def test_old_format_points_are_shifted_to_pixel_centres(clip, tmp_path):
    import h5py

    video, gt = clip
    out = write_slp([(gt, video)], tmp_path / "old.slp")
    with h5py.File(out, "r+") as f:  # rewrite as a format 1.0 file (no tracking_score column)
        inst = f["instances"][:]
        names = [n for n in inst.dtype.names if n != "tracking_score"]
        old = np.empty(inst.shape, [(n, inst.dtype[n]) for n in names])
        for n in names:
            old[n] = inst[n]
        del f["instances"]
        f.create_dataset("instances", data=old)
        f["metadata"].attrs["format_id"] = 1.0  # points stored with the top-left corner at (0, 0)
    (back,) = read_slp(out)
    assert back.format_id == 1.0
    np.testing.assert_allclose(back.poses.xy, gt.xy - 0.5, equal_nan=True)


def test_stale_and_windows_video_paths_are_found_beside_the_slp(clip, tmp_path):
    video, gt = clip
    shutil.copy(video, tmp_path / "mice.mp4")
    for stored in (r"C:\Users\lab\data\mice.mp4", "/gone/elsewhere/mice.mp4",
                   r"tests/data\mice.mp4"):
        assert resolve_video(stored, tmp_path / "x.slp") == (tmp_path / "mice.mp4").resolve()
    assert resolve_video("/gone/other.mp4", tmp_path / "x.slp") is None
    # a file storing a Windows path
    out = write_slp([(gt, r"D:\experiments\mice.mp4")], tmp_path / "win.slp")
    (back,) = read_slp(out)
    assert back.stored_video.endswith("mice.mp4")
    assert back.video == (tmp_path / "mice.mp4").resolve()


def _labels_with(video_names, tracked=True):
    skel = sio.Skeleton(nodes=[sio.Node("a"), sio.Node("b")])
    tracks = [sio.Track(name="t1")] if tracked else []
    frames, videos = [], []
    for name in video_names:
        v = sio.Video(filename=name, open_backend=False)
        videos.append(v)
        for fi in range(3):
            insts = [sio.Instance.from_numpy(np.array([[1.0 + fi, 2.0], [3.0, 4.0]]), skel,
                                             track=tracks[0] if tracked else None),
                     sio.Instance.from_numpy(np.array([[9.0, 9.0], [8.0, 8.0 + fi]]), skel)]
            frames.append(sio.LabeledFrame(video=v, frame_idx=fi, instances=insts))
    return sio.Labels(labeled_frames=frames, videos=videos, skeletons=[skel], tracks=tracks)


def test_untracked_instances_and_several_videos_warn_and_lose_nothing(tmp_path):
    path = tmp_path / "two.slp"
    sio.save_slp(_labels_with(["v1.mp4", "v2.mp4"]), str(path), verbose=False)
    with pytest.warns(SlpWarning) as rec:
        parts = read_slp(path)
    msgs = " | ".join(str(w.message) for w in rec)
    assert "2 videos" in msgs and "untracked" in msgs and "frames 0-2" in msgs
    assert len(parts) == 2
    for p in parts:
        assert p.poses.individuals == ["t1", "individual2"]
        assert np.isfinite(p.poses.xy).all()  # both instances of every frame kept
        np.testing.assert_allclose(p.poses.xy[:, 1, 1, 1], [8, 9, 10])


def test_no_tracks_gives_individual_names(tmp_path):
    path = tmp_path / "untracked.slp"
    sio.save_slp(_labels_with(["v1.mp4"], tracked=False), str(path), verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlpWarning)
        (p,) = read_slp(path)
    assert p.poses.individuals == ["individual1", "individual2"]


def test_import_slp_makes_a_project(clip, tmp_path):
    from markerless.io.config import get_skeleton, read_config
    from markerless.io.dlc_labels import read_labels
    from markerless.io.video import VideoReader

    video, gt = clip
    (tmp_path / "src").mkdir()
    slp = write_slp([(gt, video)], tmp_path / "src" / "mice.slp", EDGES)
    config = import_slp(slp, working_directory=tmp_path, frames=range(0, 12, 3))
    cfg = read_config(config)
    assert cfg["multianimalproject"] and cfg["individuals"] == ["f", "m"]
    assert cfg["multianimalbodyparts"] == gt.bodyparts
    assert [tuple(e) for e in get_skeleton(cfg)] == EDGES
    folder = tmp_path.glob("mice-sleap-*/labeled-data/mice")
    folder = next(folder)
    labels = read_labels(folder / "CollectedData_sleap.h5")
    assert labels.frames == [f"labeled-data/mice/img{i:02d}.png" for i in (0, 3, 6, 9)]
    np.testing.assert_allclose(labels.xy, gt.xy[[0, 3, 6, 9]], equal_nan=True)
    import imageio.v3 as iio

    with VideoReader(video) as r:
        np.testing.assert_array_equal(iio.imread(folder / "img06.png"), r[6])
    # and back out: the project's labels as a .slp SLEAP opens
    out = export_slp(config, tmp_path / "back.slp")
    raw = sio.load_slp(str(out), open_videos=False)
    assert sorted(lf.frame_idx for lf in raw.labeled_frames) == [0, 3, 6, 9]
    (back,) = read_slp(out)
    np.testing.assert_allclose(back.poses.xy, gt.xy[[0, 3, 6, 9]], equal_nan=True)


def test_import_slp_without_its_video_is_a_clear_error(clip, tmp_path):
    from markerless.errors import VideoError

    _, gt = clip
    slp = write_slp([(gt, "/nowhere/lost.mp4")], tmp_path / "lost.slp")
    with pytest.raises(VideoError, match="lost.mp4"):
        import_slp(slp, working_directory=tmp_path)


# --------------------------------------------------------------- fly clip
@pytest.mark.shared
@pytest.mark.parametrize("name, n_nodes", [("clip.slp", 13), ("clip.2node.slp", 2)])
def test_import_fly_clip(fly_dir, tmp_path, name, n_nodes):
    from markerless.io.config import read_config
    from markerless.io.dlc_labels import read_labels

    config = import_slp(fly_dir / name, working_directory=tmp_path, frames=range(0, 1500, 500))
    cfg = read_config(config)
    assert cfg["individuals"] == ["female", "male"]
    assert len(cfg["multianimalbodyparts"]) == n_nodes
    (labels_file,) = tmp_path.glob("*/labeled-data/clip/CollectedData_sleap.h5")
    labels = read_labels(labels_file)
    assert labels.frames == [f"labeled-data/clip/img{i:04d}.png" for i in (0, 500, 1000)]
    raw = sio.load_slp(str(fly_dir / name), open_videos=False)
    np.testing.assert_allclose(labels.xy, raw.numpy()[[0, 500, 1000]], equal_nan=True)
    assert (labels_file.parent / "img1000.png").is_file()
