"""DeepLabCut analysis outputs (x, y, likelihood per bodypart; frame-number rows)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.dlc import make_poses
from markerless.errors import LabelFileError
from markerless.io.dlc_analysis import (
    analysis_path,
    is_dlc_analysis,
    read_analysis,
    write_analysis,
)
from markerless.io.dlc_labels import is_dlc_labels, write_labels
from markerless.poses import Poses

SCORER = "DLC_resnet50_openfieldOct30shuffle1_1030000"


def _dlc_style_frame(multi: bool) -> pd.DataFrame:
    """What DeepLabCut's analyze_videos builds (auxiliaryfunctions.save_data)."""
    bodyparts = ["snout", "tailbase"]
    if multi:
        columns = pd.MultiIndex.from_product(
            [[SCORER], ["mus1", "mus2"], bodyparts, ["x", "y", "likelihood"]],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    else:
        columns = pd.MultiIndex.from_product(
            [[SCORER], bodyparts, ["x", "y", "likelihood"]],
            names=["scorer", "bodyparts", "coords"],
        )
    values = np.arange(5 * len(columns), dtype=float).reshape(5, -1) / 7
    return pd.DataFrame(values, columns=columns, index=np.arange(5))


@pytest.mark.parametrize("multi", [False, True])
def test_reads_dlc_written_h5_and_csv(tmp_path, multi):
    df = _dlc_style_frame(multi)
    h5 = tmp_path / f"m3v1mp4{SCORER}.h5"
    df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
    df.to_csv(h5.with_suffix(".csv"))
    for path in (h5, h5.with_suffix(".csv")):
        p = read_analysis(path)
        assert p.frames == [0, 1, 2, 3, 4] and p.scorer == SCORER
        assert p.bodyparts == ["snout", "tailbase"]
        assert p.individuals == (["mus1", "mus2"] if multi else [""])
        # row 1: x, y, likelihood of the first bodypart are columns 0..2
        n_cols = df.shape[1]
        assert p.xy[1, 0, 0].tolist() == [n_cols / 7, (n_cols + 1) / 7]
        assert p.likelihood[1, 0, 0] == (n_cols + 2) / 7
        last = p.individuals[-1]
        assert (
            p.xy[4, -1, 1, 1]
            == df.loc[4, (SCORER, last, "tailbase", "y") if multi else (SCORER, "tailbase", "y")]
        )
        assert is_dlc_analysis(path) and not is_dlc_labels(path)


def test_tracklet_files_with_tracks_key(tmp_path):
    df = _dlc_style_frame(multi=True)
    df.iloc[2, :3] = np.nan  # tracklets have gaps
    path = tmp_path / f"video{SCORER}_el.h5"
    df.to_hdf(path, key="tracks", format="table", mode="w")  # DeepLabCut's stitcher uses "tracks"
    p = read_analysis(path)
    assert p.individuals == ["mus1", "mus2"]
    assert np.isnan(p.xy[2, 0, 0]).all() and np.isnan(p.likelihood[2, 0, 0])
    assert p.n_labeled == 5 * 4 - 1


@pytest.mark.parametrize("multi", [False, True])
def test_write_layout_like_dlc(tmp_path, multi):
    poses = make_poses(
        list(range(0, 50, 10)),
        ["nose", "tail"],
        ["a", "b"] if multi else [""],
        scorer=SCORER,
        likelihood=True,
    )
    path = write_analysis(poses, tmp_path / "v.h5", save_as_csv=True)
    with pd.HDFStore(path, "r") as store:
        assert store.keys() == ["/df_with_missing"]
        assert store.get_storer("df_with_missing").is_table  # format="table", as DeepLabCut
        df = store.get("df_with_missing")
    # pandas 3 dropped this attribute; without it pandas 2.x cannot read table-format files
    with tables.open_file(path) as f:
        assert f.root.df_with_missing._v_attrs.pandas_version == "0.15.2"
    names = (
        ["scorer", "individuals", "bodyparts", "coords"]
        if multi
        else ["scorer", "bodyparts", "coords"]
    )
    assert list(df.columns.names) == names
    assert list(df.columns.get_level_values("coords")[:3]) == ["x", "y", "likelihood"]
    assert df.index.tolist() == [0, 10, 20, 30, 40]
    assert read_analysis(path).equals(poses)
    assert read_analysis(path.with_suffix(".csv")).equals(poses)
    lines = path.with_suffix(".csv").read_text().splitlines()
    assert lines[len(names) - 1].startswith("coords,x,y,likelihood,x,y,likelihood")
    assert lines[len(names)].startswith("0,")


def test_labels_written_as_analysis_get_likelihood_one(tmp_path):
    labels = make_poses([0, 1, 2], ["a", "b"], nan_fraction=0.3, seed=4)
    back = read_analysis(write_analysis(labels, tmp_path / "v.h5"))
    np.testing.assert_array_equal(back.likelihood, np.where(labels.labeled, 1.0, np.nan))
    np.testing.assert_array_equal(back.xy, labels.xy)


def test_overwrite_is_atomic_without_backup_by_default(tmp_path):
    poses = make_poses([0, 1], ["a"], likelihood=True)
    path = write_analysis(poses, tmp_path / "v.h5")
    write_analysis(poses.select_frames([0]), path)  # re-analysis may shrink: no DataLossError
    assert read_analysis(path).n_frames == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.h5"]
    write_analysis(poses, path, backup=True)
    assert read_analysis(tmp_path / "v.h5.bak").n_frames == 1


def test_labels_file_is_not_an_analysis_file(tmp_path):
    path = write_labels(make_poses(["labeled-data/v/img0.png"], ["a"]), tmp_path)
    assert not is_dlc_analysis(path) and is_dlc_labels(path)
    with pytest.raises(LabelFileError, match="no 'likelihood' columns"):
        read_analysis(path)


@pytest.mark.shared
def test_openfield_labels_are_not_analysis(openfield_dir):
    path = openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5"
    assert not is_dlc_analysis(path)
    assert not is_dlc_analysis(openfield_dir / "videos" / "m3v1mp4.mp4")
    assert not is_dlc_analysis(openfield_dir / "config.yaml")


def test_likelihood_for_some_bodyparts_only_is_rejected(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(
        "scorer,S,S,S,S,S\nbodyparts,a,a,a,b,b\ncoords,x,y,likelihood,x,y\n0,1,2,0.5,3,4\n"
    )
    with pytest.raises(LabelFileError, match="likelihood columns for some bodyparts"):
        read_analysis(path)
    assert not is_dlc_analysis(path)


def test_machinelabels_with_image_index(tmp_path):
    frames = ["labeled-data/v/img0.png", "labeled-data/v/img1.png"]
    poses = make_poses(frames, ["a"], likelihood=True, scorer=SCORER)
    path = write_analysis(poses, tmp_path / "machinelabels-iter0.h5")
    assert read_analysis(path).frames == frames


def test_analysis_path():
    assert analysis_path("/data/videos/m3v1mp4.mp4", SCORER) == Path(
        f"/data/videos/m3v1mp4{SCORER}.h5"
    )
    assert analysis_path("v.avi", "DLC_x", "_filtered", destfolder="/out") == Path(
        "/out/vDLC_x_filtered.h5"
    )
    with pytest.raises(LabelFileError, match=r"\.h5"):
        write_analysis(make_poses([0], ["a"]), "/tmp/out.pickle")


@settings(max_examples=25, deadline=None)
@given(
    n_frames=st.integers(0, 6),
    multi=st.booleans(),
    seed=st.integers(0, 2**16),
    csv=st.booleans(),
)
def test_round_trip_with_likelihood(n_frames, multi, seed, csv):
    rng = np.random.default_rng(seed)
    individuals = ["m1", "m2"] if multi else [""]
    frames = sorted(rng.choice(10**6, n_frames, replace=False).tolist())
    poses = make_poses(
        frames,
        ["a", "b", "c"],
        individuals,
        likelihood=True,
        seed=seed,
        nan_fraction=float(rng.uniform()),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = write_analysis(poses, Path(tmp) / "v.h5", save_as_csv=csv)
        back = read_analysis(path.with_suffix(".csv") if csv else path)
    assert back.equals(poses)
    assert isinstance(back, Poses) and all(isinstance(f, int) for f in back.frames)
