"""Deterministic synthetic animal videos with exact ground-truth keypoints.

No real data may be committed, so tests, the demo, benchmarks and napari's
sample data use this generator: a procedurally drawn, mouse-like animal seen
from above (dark body with a pink nose tip, a round pink *left* ear and an
elongated blue *right* ear so left and right are resolvable, a thin tail) walks,
turns and bends over a textured floor with sensor noise and mild flicker.

* Same config (seed included) -> bit-identical frames; a longer clip starts
  with the frames of a shorter one; chunking never changes a frame.
* Keypoints are the points the drawing is made from (the snout is the front end
  of the body's midline, inside the pink nose tip; ears are the ear centres;
  tailbase/tailtip the ends of the tail's midline), in DeepLabCut's convention
  (pixel centres at integer coordinates). Animals always stay inside the frame;
  a keypoint outside the image would be NaN.
* Several animals each roam their own grid cell (they can meet at cell edges
  but never fully overlap); individuals are ``animal0, animal1, ...``, a single
  animal is ``""``.

Example
-------
>>> from markerless.synthetic import SyntheticConfig, generate
>>> frames, poses = generate(SyntheticConfig(n_frames=8))
>>> frames.shape, poses.xy.shape
((8, 256, 256, 3), (8, 1, 4, 2))

For 3D, :mod:`markerless.synthetic.multicam` makes known cameras around an arena
(:func:`make_rig`), a ChArUco board rendered at random poses in every view
(:func:`board_poses`, :func:`render_board_images`) and a 3D skeleton projected into
every view with noise, missing views and outliers (:func:`animal_3d`,
:func:`project_animal`).
"""

from markerless.synthetic.clip import generate, ground_truth, iter_frames, sample_clip, write_clip
from markerless.synthetic.config import (
    ALL_BODYPARTS,
    DEFAULT_BODYPARTS,
    PRIORITY,
    SyntheticConfig,
    layout,
)
from markerless.synthetic.multicam import (
    ANIMAL_BODYPARTS,
    ANIMAL_SKELETON,
    BoardPoses,
    animal_3d,
    board_observations,
    board_poses,
    make_rig,
    project_animal,
    render_board_images,
)

__all__ = [
    "ALL_BODYPARTS",
    "ANIMAL_BODYPARTS",
    "ANIMAL_SKELETON",
    "BoardPoses",
    "animal_3d",
    "board_observations",
    "board_poses",
    "make_rig",
    "project_animal",
    "render_board_images",
    "DEFAULT_BODYPARTS",
    "PRIORITY",
    "SyntheticConfig",
    "generate",
    "ground_truth",
    "iter_frames",
    "layout",
    "sample_clip",
    "write_clip",
]
