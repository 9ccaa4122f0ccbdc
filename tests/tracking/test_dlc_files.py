"""DeepLabCut 3's tracking files: written by us, read as DeepLabCut and movement read them."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from tracking_helpers import crossing_truth, switches

from markerless.errors import ArgumentError, ConfigError, LabelFileError
from markerless.io.config import default_config, write_config
from markerless.io.dlc_analysis import read_analysis
from markerless.tracking.api import convert_detections2tracklets, stitch_tracklets
from markerless.tracking.detections import Assemblies, write_assemblies_pickle
from markerless.tracking.simulate import noisy_assemblies
from markerless.tracking.stitch import StitchWarning
from markerless.tracking.tracklets import read_tracklets_pickle

SCORER = "DLC_resnet50_flyDec4shuffle1_1000"


def _project(tmp_path, bodyparts, unique=(), identity=False):
    cfg = default_config("fly", "me", "Dec4", multianimal=True, bodyparts=bodyparts,
                         individuals=["female", "male"], unique_bodyparts=list(unique),
                         project_path=str(tmp_path))
    cfg["identity"] = identity
    write_config(cfg, tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


@pytest.fixture
def analysed(tmp_path):
    """A project, a 'video' and its _assemblies.pickle with a unique bodypart."""
    gt = crossing_truth(2, 300, seed=1, k=4)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, seed=2)
    a = det.assemblies
    unique = np.concatenate([np.full((300, 1, 2), 50.0), np.full((300, 1, 1), 0.9)], -1)
    a = Assemblies(a.data, gt.bodyparts, None, unique, ["arena"])
    config = _project(tmp_path, gt.bodyparts, ["arena"])
    video = tmp_path / "videos" / "fly1.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")  # tracking needs the results, not the frames
    write_assemblies_pickle(video.parent / f"fly1{SCORER}_assemblies.pickle", a.chunks(128))
    return config, video, gt


def test_convert_then_stitch_writes_dlc3_files(analysed):
    config, video, gt = analysed
    (pkl,) = convert_detections2tracklets(config, [video], track_method="ellipse")
    assert pkl.name == f"fly1{SCORER}_el.pickle"
    with open(pkl, "rb") as f:
        raw = pickle.load(f)
    # as DeepLabCut 3's TrackletStitcher.from_dict_of_dict parses it
    header = raw.pop("header")
    assert isinstance(header, pd.MultiIndex) and header.names == ["scorer", "bodyparts", "coords"]
    assert list(header.get_level_values("bodyparts").unique()) == gt.bodyparts + ["arena"]
    assert len(raw.pop("single")) == 300
    for key, entries in raw.items():
        assert isinstance(key, int)
        inds = [int(re.findall(r"\d+", k)[0]) for k in entries]
        data = np.asarray(list(entries.values()))
        assert data.ndim == 3 and data.shape[1:] == (4, 4) and len(inds) == len(data)
        assert all(re.fullmatch(r"frame\d{3}", k) for k in entries)  # zero-padded to 300 frames

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        (h5,) = stitch_tracklets(config, [video], save_as_csv=True)
    assert h5.name == f"fly1{SCORER}_el.h5" and h5.with_suffix(".csv").is_file()
    df = pd.read_hdf(h5)  # DeepLabCut's readers: no key
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    individuals = list(df.columns.get_level_values("individuals").unique())
    assert individuals == ["female", "male", "single"]
    assert (df.index == np.arange(300)).all()
    import h5py

    with h5py.File(h5) as f:
        assert "tracks" in f and "df_with_missing" in f  # DLC's key as a link
    tracks = read_analysis(h5)
    n_sw, cover = switches(tracks.xy[:, :2, :4], gt.xy)
    assert n_sw == 0 and cover > 0.97
    np.testing.assert_allclose(tracks.xy[:, 2, 4], 50.0)  # unique bodypart kept


def test_movement_opens_the_tracks(tmp_path):
    """movement reads DLC's multi-animal table (it cannot place DLC's ``single`` individual,
    whose bodyparts differ from the others', in DLC's files or ours; none here)."""
    load_poses = pytest.importorskip("movement.io.load_poses")
    gt = crossing_truth(2, 300, seed=1, k=4)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, seed=2)
    config = _project(tmp_path, gt.bodyparts)
    video = tmp_path / "fly1.mp4"
    video.write_bytes(b"")
    write_assemblies_pickle(tmp_path / f"fly1{SCORER}_assemblies.pickle", det.assemblies)
    convert_detections2tracklets(config, [video], track_method="box")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        (h5,) = stitch_tracklets(config, [video], track_method="box", save_as_csv=True)
    ours = read_analysis(h5)
    for path in (h5, h5.with_suffix(".csv")):
        ds = load_poses.from_dlc_file(path, fps=25)
        assert dict(ds.sizes) == {"time": 300, "space": 2, "keypoints": 4, "individuals": 2}
        assert list(ds.individuals.values) == ["female", "male"]
        pos = ds.position.transpose("time", "individuals", "keypoints", "space").values
        np.testing.assert_allclose(pos, ours.xy, equal_nan=True, rtol=1e-6)


def test_stitching_a_tracklet_pickle_made_by_deeplabcut(tmp_path):
    """DLC's own layout: (K, 3) arrays, no identity, frame keys padded to the video length."""
    gt = crossing_truth(2, 120, seed=3, k=3)
    config = _project(tmp_path, gt.bodyparts)
    video = tmp_path / "m.avi"
    video.write_bytes(b"")
    header = pd.MultiIndex.from_product([[SCORER], gt.bodyparts, ["x", "y", "likelihood"]],
                                        names=["scorer", "bodyparts", "coords"])
    raw = {"header": header}
    for a in range(2):  # two tracklets per animal, broken at frame 60
        for part, sl in enumerate((slice(0, 60), slice(60, 120))):
            raw[2 * a + part] = {
                f"frame{f:03d}": np.c_[gt.xy[f, a], np.full(3, 0.9)]
                for f in range(sl.start, sl.stop)
            }
    with open(tmp_path / f"m{SCORER}_sk.pickle", "wb") as f:
        pickle.dump(raw, f)
    (h5,) = stitch_tracklets(config, [video], track_method="skeleton", n_tracks=2)
    tracks = read_analysis(h5)
    assert switches(tracks.xy, gt.xy)[0] == 0
    back, scorer = read_tracklets_pickle(tmp_path / f"m{SCORER}_sk.pickle")
    assert scorer == SCORER and back.assemblies.bodyparts == gt.bodyparts


def test_identity_from_the_head_names_the_tracks(tmp_path):
    gt = crossing_truth(2, 300, seed=4, k=4)
    det = noisy_assemblies(gt, noise_px=1.0, identity_accuracy=0.9, seed=5)
    config = _project(tmp_path, gt.bodyparts, identity=True)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    write_assemblies_pickle(tmp_path / f"v{SCORER}_assemblies.pickle", det.assemblies)
    convert_detections2tracklets(config, video)
    (h5,) = stitch_tracklets(config, video)
    tracks = read_analysis(h5)
    assert tracks.individuals == ["female", "male"]
    err = np.nanmean(np.linalg.norm(tracks.xy - gt.xy, axis=-1), axis=(0, 2))
    assert (err < 3).all()  # "female" is identity 0 all along


def test_inference_cfg_is_created_with_dlc_keys(analysed):
    from markerless.io.config import read_config
    from markerless.tracking.inference_cfg import (
        DLC_DEFAULTS,
        inferencecfg_path,
        read_inferencecfg,
    )

    config, video, _ = analysed
    path = inferencecfg_path(config)
    path.parent.parent.mkdir(parents=True)  # a trained model's folder
    values = read_inferencecfg(path, read_config(config))
    assert path.is_file() and set(DLC_DEFAULTS) <= set(values)
    assert values["topktoretain"] == 2 and values["minimalnumberofconnections"] == 2.0
    path.write_text(path.read_text().replace("max_age: 1", "max_age: 'soon'"))
    with pytest.raises(ConfigError, match="max_age"):
        read_inferencecfg(path, read_config(config))


def test_bad_calls_are_named(analysed, tmp_path):
    config, video, _ = analysed
    with pytest.raises(LabelFileError, match="analyze_videos"):
        convert_detections2tracklets(config, [tmp_path / "other.mp4"])
    with pytest.raises(ArgumentError, match="n_tracks=3"):
        stitch_tracklets(config, [video], n_tracks=3, animal_names=["a", "b"])
    single = tmp_path / "single"
    single.mkdir()
    write_config(default_config("t", "me", "Dec4", bodyparts=["a"]), single / "config.yaml")
    with pytest.raises(ConfigError, match="multi-animal"):
        convert_detections2tracklets(single / "config.yaml", [video])


def test_streamed_tracking_equals_the_in_memory_path(tmp_path):
    from markerless.tracking.api import make_tracklets, track_and_stitch
    from markerless.tracking.stream import track_video
    from markerless.tracking.tracklets import write_tracklets_pickle

    gt = crossing_truth(2, 700, seed=8, k=4)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, animal_dropout=0.01,
                           false_positives=0.05, identity_accuracy=0.9, seed=9)
    unique = np.concatenate([np.full((700, 1, 2), 7.0), np.full((700, 1, 1), 0.8)], -1)
    a = det.assemblies
    a = Assemblies(a.data, a.bodyparts, a.identity, unique, ["arena"], ["f", "m"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        whole = track_and_stitch(a, 2, "skeleton", animal_names=["f", "m"])
        out = track_video(a.chunks(128), tmp_path / "v_sk.h5", 2, "skeleton",
                          animal_names=["f", "m"], scorer="s", save_as_csv=True,
                          tracklets_pickle=tmp_path / "v_sk.pickle", n_frames=750)
    tracks = read_analysis(out)
    assert tracks.n_frames == 750 and np.isnan(tracks.xy[700:]).all()
    assert tracks.individuals == ["f", "m", "single"]
    np.testing.assert_allclose(tracks.xy[:700, :2, :4], whole.poses.xy, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(tracks.xy[:700, 2, 4], 7.0)
    csv = read_analysis(out.with_suffix(".csv"))
    np.testing.assert_allclose(csv.xy, tracks.xy, rtol=1e-6, equal_nan=True)
    # the streamed tracklet pickle holds what the in-memory writer writes
    write_tracklets_pickle(tmp_path / "ref.pickle", make_tracklets(a, "skeleton"), "s", 750)
    with open(tmp_path / "v_sk.pickle", "rb") as f1, open(tmp_path / "ref.pickle", "rb") as f2:
        streamed, ref = pickle.load(f1), pickle.load(f2)
    assert set(streamed) == set(ref)
    for key in ref:
        if key == "header":
            assert streamed[key].equals(ref[key])
            continue
        assert streamed[key].keys() == ref[key].keys()
        for k in ref[key]:
            np.testing.assert_array_equal(streamed[key][k], ref[key][k])
