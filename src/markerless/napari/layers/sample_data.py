"""napari sample data: a short synthetic clip with its ground-truth keypoints."""

from __future__ import annotations

from markerless.napari.layers.convert import poses_to_points


def make_sample_clip() -> list[tuple]:
    """File > Open Sample > markerless: video frames (Image) + true keypoints (Points)."""
    from markerless.synthetic import sample_clip

    frames, poses = sample_clip()
    data, kwargs = poses_to_points(poses, kind="ground truth")
    kwargs["name"] = "ground truth"
    return [(frames, {"name": "synthetic clip", "rgb": True}, "image"), (data, kwargs, "points")]
