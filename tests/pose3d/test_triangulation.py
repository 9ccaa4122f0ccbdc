"""RANSAC, optim, and triangulating Poses: outliers, frame counts, individuals, pcutoff."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.errors import ArgumentError, LabelFileError
from markerless.pose3d.triangulate import triangulate_arrays, triangulate_poses
from markerless.pose3d.triangulation import ransac
from markerless.poses import Poses
from markerless.synthetic.multicam import (
    ANIMAL_BODYPARTS,
    ANIMAL_SKELETON,
    animal_3d,
    project_animal,
    skeleton_indices,
)


@pytest.fixture(scope="module")
def animal():
    return animal_3d(120, seed=3)


def test_ransac_drops_outlier_views(rig, animal):
    px, _, out = project_animal(rig, animal, noise=0.5, missing=0.0, outliers=0.1, seed=4)
    flat = px.reshape(len(rig), -1, 2)
    res = ransac(rig, flat, threshold=8.0)
    err = np.linalg.norm(res.points - animal.reshape(-1, 3), axis=1)
    dlt = np.linalg.norm(rig.triangulate(flat) - animal.reshape(-1, 3), axis=1)
    assert np.nanpercentile(err, 95) < 2.0 < np.nanpercentile(dlt, 95)
    outl = out.reshape(len(rig), -1)
    assert (res.inliers & outl).sum() < 0.05 * outl.sum()  # outlier views left out
    assert np.all(res.ncams[np.isfinite(res.points[:, 0])] >= 2)


def test_optim_smooths_and_keeps_bone_lengths(rig, animal):
    px, lik, _ = project_animal(rig, animal, noise=2.0, missing=0.2, outliers=0.0, seed=5)
    cons = skeleton_indices()
    pts, *_ = triangulate_arrays(rig, px[:, :, None], lik[:, :, None], method="optim",
                                 constraints=cons)
    dlt, *_ = triangulate_arrays(rig, px[:, :, None], lik[:, :, None], method="dlt")
    e_opt = np.nanmedian(np.linalg.norm(pts[:, 0] - animal, axis=-1))
    e_dlt = np.nanmedian(np.linalg.norm(dlt[:, 0] - animal, axis=-1))
    assert e_opt < 0.85 * e_dlt

    def bone_sd(p):
        a, b = np.array(cons).T
        return np.nanmean(np.nanstd(np.linalg.norm(p[:, a] - p[:, b], axis=-1), axis=0))

    assert bone_sd(pts[:, 0]) < 0.5 * bone_sd(dlt[:, 0])


def _poses(px, lik, individuals=("",)):
    # (C, F, J, 2) -> one Poses per camera
    out = []
    for c in range(px.shape[0]):
        xy = px[c][:, None] if len(individuals) == 1 else px[c]
        lk = lik[c][:, None] if len(individuals) == 1 else lik[c]
        out.append(Poses(xy, list(ANIMAL_BODYPARTS), list(individuals), likelihood=lk))
    return out


def test_triangulate_poses_records_error_ncams_score(rig, animal):
    px, lik, _ = project_animal(rig, animal, noise=0.5, missing=0.3, seed=6)
    res = triangulate_poses(rig, _poses(px, lik), pcutoff=0.5, skeleton=ANIMAL_SKELETON)
    seen = (np.isfinite(px[..., 0]) & (lik >= 0.5)).sum(axis=0)  # (F, J)
    p = res.points[:, 0]
    assert np.isnan(p[seen < 2]).all() and np.isfinite(p[seen >= 2]).all()
    assert np.array_equal(res.ncams[:, 0][seen >= 2], seen[seen >= 2])
    assert np.nanmax(res.error) < 5 and np.nanmin(res.score) >= 0.5
    assert res.reprojected.shape == (4, 120, 1, 10, 2)
    data, props = res.points_tzyx()
    assert data.shape[1] == 4 and len(props["bodypart"]) == len(data)
    t, j = np.nonzero(np.isfinite(p[..., 0]))
    assert np.allclose(data[0, 1:], p[t[0], j[0]][::-1])  # (t, z, y, x)
    segs, bones = res.skeleton_tzyx()
    assert segs.shape[1:] == (2, 4) and len(segs) == len(bones) > 0
    a, b = (ANIMAL_BODYPARTS.index(n) for n in ANIMAL_SKELETON[bones[0]])
    t = int(segs[0, 0, 0])
    assert np.allclose(segs[0, 0, 1:], p[t, a, ::-1])
    assert np.allclose(segs[0, 1, 1:], p[t, b, ::-1])
    tyx, _ = res.reprojected_tyx("camera-2")
    assert tyx.shape[1] == 3


def test_likelihood_below_pcutoff_is_missing(rig, animal):
    px, lik, _ = project_animal(rig, animal[:10], noise=0.0, missing=0.0, seed=7)
    px[1:] += 30.0  # three wrong views ...
    lik[1:] = 0.2  # ... that the network doubted
    res = triangulate_poses(rig, _poses(px, lik), pcutoff=0.5)
    assert np.isnan(res.points).all()  # one confident view is not enough
    res = triangulate_poses(rig, _poses(px, lik), pcutoff=0.1)
    assert np.isfinite(res.points).all()


def test_multi_animal_is_triangulated_per_individual(rig, animal):
    other = animal + np.array([60.0, -40.0, 0.0])
    both = np.stack([animal, other], axis=1)  # (F, 2, J, 3)
    F = len(animal)
    px = rig.project(both.reshape(-1, 3)).reshape(4, F, 2, 10, 2)
    lik = np.ones(px.shape[:4])
    poses = [Poses(px[c], list(ANIMAL_BODYPARTS), ["mouse1", "mouse2"], likelihood=lik[c])
             for c in range(4)]
    poses[2] = Poses(px[2][:, ::-1], list(ANIMAL_BODYPARTS), ["mouse2", "mouse1"],
                     likelihood=lik[2])  # another column order: matched by name
    res = triangulate_poses(rig, poses)
    assert res.individuals == ["mouse1", "mouse2"]
    assert np.abs(res.points - both).max() < 1e-6


def test_frame_counts_must_agree_unless_offsets_given(rig, animal):
    px, lik, _ = project_animal(rig, animal, noise=0.0, missing=0.0, seed=8)
    poses = _poses(px, lik)
    late = Poses(np.concatenate([np.full((5, 1, 10, 2), np.nan), poses[3].xy]),
                 list(ANIMAL_BODYPARTS),
                 likelihood=np.concatenate([np.zeros((5, 1, 10)), poses[3].likelihood]))
    cams = dict(zip(rig.get_names(), poses, strict=True))
    cams["camera-4"] = late  # started 5 frames early
    with pytest.raises(ArgumentError, match="different frame counts.*camera-4: 125"):
        triangulate_poses(rig, cams)
    res = triangulate_poses(rig, cams, frame_offsets={"camera-4": 5})
    assert res.n_frames == 120 and np.abs(res.points[:, 0] - animal).max() < 1e-6


def test_mismatched_bodyparts_name_the_camera(rig, animal):
    px, lik, _ = project_animal(rig, animal[:5], seed=9)
    poses = _poses(px, lik)
    poses[1] = Poses(poses[1].xy[:, :, :9], list(ANIMAL_BODYPARTS[:9]),
                     likelihood=poses[1].likelihood[:, :, :9])
    with pytest.raises(LabelFileError, match="camera 'camera-2'.*tailtip"):
        triangulate_poses(rig, poses)
