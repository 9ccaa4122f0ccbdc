"""Poses <-> Points layer conversion, without a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.errors import LabelFileError
from markerless.napari.convert import META_KEY, bodypart_colors, points_to_poses, poses_to_points
from markerless.poses import Poses


def _poses(multi: bool = False, likelihood: bool = False) -> Poses:
    rng = np.random.default_rng(0)
    inds = ["a", "b"] if multi else [""]
    xy = rng.uniform(0, 100, (5, len(inds), 3, 2))
    xy[1, 0, 2] = np.nan  # one unlabeled keypoint
    xy[3] = np.nan  # one frame with no label at all
    lik = rng.uniform(0, 1, xy.shape[:3]) if likelihood else None
    frames = [f"labeled-data/v/img{i}.png" for i in range(5)]
    return Poses(xy, ["snout", "ear", "tail"], inds, frames, "me", lik)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("likelihood", [False, True])
def test_round_trip_keeps_every_value_and_empty_frames(multi, likelihood):
    poses = _poses(multi, likelihood)
    data, kwargs = poses_to_points(poses)
    assert data.shape == (poses.n_labeled, 3)
    back = points_to_poses(data, kwargs["features"], kwargs["metadata"])
    if likelihood:
        # unlabeled keypoints have no likelihood once they are not points
        poses.likelihood[~poses.labeled] = np.nan
    assert back.equals(poses)
    assert back.n_frames == 5  # the all-NaN frame survives


def test_points_are_frame_y_x():
    poses = _poses()
    data, kwargs = poses_to_points(poses)
    feats = kwargs["features"]
    row = np.flatnonzero((data[:, 0] == 2) & (feats["bodypart"] == "ear"))[0]
    assert data[row, 1] == poses.xy[2, 0, 1, 1]  # y
    assert data[row, 2] == poses.xy[2, 0, 1, 0]  # x


def test_added_point_lands_on_its_frame_and_bodypart():
    poses = _poses()
    data, kwargs = poses_to_points(poses)
    feats = kwargs["features"].copy()
    new = np.vstack([data, [3, 40.5, 20.25]])
    feats.loc[len(feats)] = {"bodypart": "tail", "individual": "", "likelihood": 1.0}
    back = points_to_poses(new, feats, kwargs["metadata"])
    np.testing.assert_array_equal(back.xy[3, 0, 2], [20.25, 40.5])
    assert back.n_labeled == poses.n_labeled + 1


def test_unknown_bodypart_is_a_clear_error():
    data, kwargs = poses_to_points(_poses())
    feats = kwargs["features"].astype({"bodypart": str})
    feats.loc[0, "bodypart"] = "wing"
    with pytest.raises(LabelFileError, match="wing"):
        points_to_poses(data, feats, kwargs["metadata"])


def test_layer_without_metadata_is_rejected():
    with pytest.raises(LabelFileError, match="metadata"):
        points_to_poses(np.zeros((1, 3)), {"bodypart": ["x"]}, {})


def test_colors_follow_colormap_in_bodypart_order():
    colors = bodypart_colors(["a", "b", "c"], "jet")
    assert list(colors) == ["a", "b", "c"]
    # jet goes from blue to red
    assert colors["a"][2] > colors["a"][0] and colors["c"][0] > colors["c"][2]
    _, kwargs = poses_to_points(_poses(), colormap="jet")
    assert kwargs["metadata"][META_KEY]["colormap"] == "jet"
    np.testing.assert_allclose(kwargs["face_color_cycle"]["snout"], colors_for_snout())


def colors_for_snout():
    return bodypart_colors(["snout", "ear", "tail"], "jet")["snout"]
