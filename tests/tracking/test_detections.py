"""The inference -> tracking boundary: Assemblies/Peaks and DeepLabCut 3's pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from markerless.poses import Poses
from markerless.tracking.detections import (
    Assemblies,
    FullPickleWriter,
    Peaks,
    full_pickle_metadata,
    read_assemblies_pickle,
    write_assemblies_pickle,
)
from markerless.tracking.pickle_stream import DictPickleWriter

BPS = ["head", "thorax", "tail"]


def _assemblies(n_frames=7, n_ind=3, seed=0, identity=True):
    rng = np.random.default_rng(seed)
    data = np.full((n_frames, n_ind, len(BPS), 4), np.nan, np.float32)
    data[:, :2, :, :2] = rng.uniform(0, 100, (n_frames, 2, len(BPS), 2))
    data[:, :2, :, 2] = rng.uniform(0.2, 1, (n_frames, 2, len(BPS)))
    data[:, :2, :, 3] = 0.9
    data[2, 1] = np.nan  # one animal missing
    data[3, 0, 1] = np.nan  # one keypoint missing
    data[5] = np.nan  # an empty frame
    ident = None
    if identity:
        ident = np.full((n_frames, n_ind, 2), np.nan, np.float32)
        ident[:, 0] = [0.8, 0.2]
        ident[:, 1] = [0.3, 0.7]
    unique = rng.uniform(0, 50, (n_frames, 1, 3)).astype(np.float32)
    return Assemblies(data, BPS, ident, unique, ["arena"], ["f", "m"], first_frame=10)


def test_dict_pickle_writer_streams_a_plain_dict(tmp_path):
    arrays = {i: np.arange(i + 3, dtype=np.float64).reshape(1, -1) for i in range(5)}
    with DictPickleWriter(tmp_path / "d.pickle") as w:
        w.update({k: arrays[k] for k in (0, 1, 2)})
        w.update([(3, arrays[3]), (4, arrays[4])])
        w["header"] = ("x", ["y", "y"], {"z": arrays[0]})
    with open(tmp_path / "d.pickle", "rb") as f:
        back = pickle.load(f)
    assert list(back) == [0, 1, 2, 3, 4, "header"]
    for k in range(5):
        np.testing.assert_array_equal(back[k], arrays[k])
    assert back["header"][1] == ["y", "y"]
    np.testing.assert_array_equal(back["header"][2]["z"], arrays[0])


def test_aborted_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), DictPickleWriter(tmp_path / "d.pickle") as w:
        w[0] = np.zeros(3)
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_assemblies_pickle_round_trip(tmp_path):
    a = _assemblies()
    path = write_assemblies_pickle(tmp_path / "v_assemblies.pickle", a.chunks(3))
    with open(path, "rb") as f:
        raw = pickle.load(f)
    # DeepLabCut 3's layout: int frame keys, (n_animals, K, 4), identity as 4th column
    assert 15 not in raw and raw[12].shape == (1, 3, 4) and raw[10].shape == (2, 3, 4)
    assert raw[10][0, 0, 3] == 0 and raw[10][1, 0, 3] == 1
    assert sorted(raw["single"]) == list(range(10, 17))
    back = read_assemblies_pickle(
        path, BPS, n_frames=7, max_individuals=3, first_frame=10,
        unique_bodyparts=["arena"], identities=["f", "m"],
    )
    np.testing.assert_allclose(back.data[..., :3], a.data[..., :3], equal_nan=True)
    assert np.isnan(back.data[..., 3]).all()  # affinity is not in DLC's file
    np.testing.assert_array_equal(back.present, a.present)
    # identity votes: argmax preserved, one-hot where every keypoint agrees
    np.testing.assert_array_equal(np.nanargmax(back.identity[0, :2], -1), [0, 1])
    np.testing.assert_allclose(back.identity[0, 0], [1, 0])
    np.testing.assert_allclose(back.unique, a.unique, rtol=1e-6)


def test_dlc3_minus_one_padding_is_absent():
    raw = {0: np.array([[[1.0, 2.0, 0.9, -1], [-1, -1, -1, -1], [3, 4, 0.5, -1]]]), "single": {}}
    a = Assemblies.from_dlc(raw, BPS)
    assert a.identity is None
    assert a.visible[0, 0].tolist() == [True, False, True]


def test_from_dlc_names_the_bad_frame():
    from markerless.errors import LabelFileError

    with pytest.raises(LabelFileError, match="frame 4"):
        Assemblies.from_dlc({4: np.zeros((1, 2, 4))}, BPS, source="x_assemblies.pickle")


def test_concatenate_pads_individuals():
    a, b = _assemblies()[:3], _assemblies()[3:]
    b = Assemblies(b.data[:, :2], BPS, b.identity[:, :2], b.unique, ["arena"], ["f", "m"], 13)
    c = Assemblies.concatenate([a, b])
    assert c.data.shape == (7, 3, 3, 4) and c.first_frame == 10
    np.testing.assert_array_equal(c.present, _assemblies().present)
    with pytest.raises(ValueError, match="consecutive"):
        Assemblies.concatenate([b, a])


def test_from_poses_uses_single_for_unique_bodyparts():
    xy = np.arange(2 * 3 * 3 * 2, dtype=float).reshape(2, 3, 3, 2)
    defined = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
    p = Poses(xy, ["a", "b", "c"], ["i1", "i2", "single"], [5, 6], defined=defined)
    a = Assemblies.from_poses(p)
    assert a.bodyparts == ["a", "b"] and a.unique_bodyparts == ["c"]
    assert a.first_frame == 5 and a.data.shape == (2, 2, 2, 4)
    np.testing.assert_array_equal(a.unique[..., :2], xy[:, 2, [2]])


def test_full_pickle_layout(tmp_path):
    rng = np.random.default_rng(1)
    n_frames, n_kp, n_peaks = 12, 3, 4
    coords = rng.uniform(0, 64, (n_frames, n_kp, n_peaks, 2))
    conf = rng.uniform(0.1, 1, (n_frames, n_kp, n_peaks))
    conf[:, :, 3] = np.nan  # padding
    conf[4, 1, :] = np.nan  # no peak for bodypart 1 in frame 4
    ident = rng.dirichlet([1, 1], (n_frames, n_kp, n_peaks))
    aff = rng.uniform(0, 1, (n_frames, 2, n_peaks, n_peaks))
    meta = full_pickle_metadata(BPS, paf_graph=[[0, 1], [1, 2]], nms_radius=5, min_confidence=0.01)
    path = tmp_path / "v_full.pickle"
    with FullPickleWriter(path, meta, n_frames) as w:
        for start in range(0, n_frames, 5):
            sl = slice(start, start + 5)
            w.add(Peaks(coords[sl], conf[sl], ident[sl], aff[sl], first_frame=start))
    with open(path, "rb") as f:
        full = pickle.load(f)
    assert full["metadata"]["nframes"] == 12 and full["metadata"]["key_str_width"] == 2
    assert full["metadata"]["all_joints_names"] == BPS
    fr = full["frame04"]
    assert len(fr["coordinates"][0]) == 3 and fr["coordinates"][0][0].shape == (3, 2)
    assert fr["coordinates"][0][1].shape == (0, 2) and fr["confidence"][0].shape == (3, 1)
    np.testing.assert_allclose(fr["coordinates"][0][2], coords[4, 2, :3], rtol=1e-6)
    assert fr["identity"][0].shape == (3, 2)
    assert fr["costs"][0]["m1"].shape == (3, 0) and fr["costs"][1]["m1"].shape == (0, 3)
    np.testing.assert_allclose(full["frame00"]["costs"][0]["m1"], aff[0, 0, :3, :3], rtol=1e-6)
