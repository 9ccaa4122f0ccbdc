"""DeepLabCut 3D h5, anipose CSV (movement's columns), reprojections, filterpredictions_3d."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from markerless.io.dlc_analysis import read_analysis
from markerless.pose3d.filtering import filter_points3d, filterpredictions_3d
from markerless.pose3d.outputs import (
    Points3D,
    read_anipose_csv,
    read_dlc_3d,
    write_anipose_csv,
    write_dlc_3d,
)
from markerless.pose3d.triangulate import triangulate_poses, write_outputs
from markerless.poses import Poses
from markerless.synthetic.multicam import ANIMAL_BODYPARTS, animal_3d, project_animal


@pytest.fixture(scope="module")
def result(rig):
    X = animal_3d(60, seed=1)
    px, lik, _ = project_animal(rig, X, noise=0.5, missing=0.2, seed=2)
    poses = [Poses(px[c][:, None], list(ANIMAL_BODYPARTS), likelihood=lik[c][:, None])
             for c in range(4)]
    return triangulate_poses(rig, poses, pcutoff=0.5)


def test_dlc_3d_file_round_trip(tmp_path, result):
    path = write_dlc_3d(result, tmp_path / "rec_DLC_3D.h5", save_as_csv=True)
    df = pd.read_hdf(path, key="df_with_missing")
    assert df.columns.names == ["scorer", "bodyparts", "coords"]
    assert list(df.columns.get_level_values("coords")[:3]) == ["x", "y", "z"]
    assert df.columns.get_level_values("scorer")[0] == "DLC_3D"
    for p in (path, path.with_suffix(".csv")):
        back = read_dlc_3d(p)
        assert back.bodyparts == result.bodyparts
        assert np.allclose(back.points, result.points, equal_nan=True)


def test_multi_animal_dlc_3d_file(tmp_path):
    pts = np.random.default_rng(0).normal(size=(5, 2, 3, 3))
    res = Points3D(pts, ["a", "b", "c"], ["m1", "m2"])
    back = read_dlc_3d(write_dlc_3d(res, tmp_path / "x_DLC_3D.h5"))
    assert back.individuals == ["m1", "m2"] and np.allclose(back.points, pts)


def test_anipose_csv_has_movements_columns(tmp_path, result):
    path = write_anipose_csv(result, tmp_path / "rec_anipose.csv")
    columns = path.read_text().splitlines()[0].split(",")
    # movement's ValidAniposeCSV: these columns, every other one a keypoint with all suffixes
    fixed = ["fnum", "center_0", "center_1", "center_2"] + [f"M_{i}{j}" for i in range(3)
                                                            for j in range(3)]
    assert all(c in columns for c in fixed)
    suffixes = ["_x", "_y", "_z", "_score", "_error", "_ncams"]
    for col in (c for c in columns if c not in fixed):
        base = col.rsplit("_", 1)[0]
        assert any(col.endswith(s) for s in suffixes)
        assert all(f"{base}{s}" in columns for s in suffixes)
    back = read_anipose_csv(path)
    assert np.allclose(back.points, result.points, equal_nan=True)
    assert np.allclose(back.error, result.error, equal_nan=True)


def test_reprojections_are_dlc_analysis_files(tmp_path, result):
    out = write_outputs(result, tmp_path, "rec", {"camera-1": tmp_path / "rec-camera-1.mp4"})
    poses = read_analysis(out["reprojected_camera-1"])
    assert out["reprojected_camera-1"].name == "rec-camera-1DLC_3D_reprojected.h5"
    assert np.allclose(poses.xy, result.reprojected[0], equal_nan=True)
    assert {"dlc_3d", "anipose", "meta"} <= set(out)


def test_filter_gates_bridges_and_smooths():
    F = 50
    t = np.arange(F, dtype=float)
    pts = np.stack([t, 2 * t, np.full(F, 10.0)], -1)[:, None, None]
    err = np.full((F, 1, 1), 1.0)
    noisy = pts.copy()
    noisy[10] += 40.0  # a bad point with a large reprojection error
    err[10] = 60.0
    noisy[20:23] = np.nan  # a short gap
    noisy[30:45] = np.nan  # a long one
    res = Points3D(noisy, ["a"], error=err, ncams=np.full((F, 1, 1), 3.0),
                   score=np.ones((F, 1, 1)))
    out = filter_points3d(res, error_threshold=15, max_gap=5, windowlength=3)
    p = out.points[:, 0, 0]
    assert np.allclose(p[10], pts[10, 0, 0]) and np.allclose(p[21], pts[21, 0, 0])
    assert np.isnan(p[30:45]).all()
    assert out.ncams[21, 0, 0] == 0 and np.isnan(out.error[21, 0, 0])


def test_filterpredictions_3d_files(tmp_path, result):
    out = write_outputs(result, tmp_path, "rec", {})
    h5 = filterpredictions_3d(None, out["dlc_3d"], error_threshold=3.0)[0]
    assert h5.name == "rec_DLC_3D_filtered.h5"
    filt = read_dlc_3d(h5)
    assert filt.points.shape == result.points.shape
    assert (tmp_path / "rec_DLC_3D_filtered_anipose.csv").is_file()
