"""Public home of the Poses <-> napari Points conversions (kept for users and docs).

The code lives in :mod:`markerless.napari.layers.convert`, with the other layer modules.
"""

from markerless.napari.layers.convert import (
    META_KEY,
    bodypart_colors,
    points_to_poses,
    poses_to_points,
)

__all__ = ["META_KEY", "bodypart_colors", "points_to_poses", "poses_to_points"]
