"""Dynamic cropping for live inference: a box around the last confident pose.

DeepLabCut-Live's rule (``dynamic=(on, threshold, margin)``): when any keypoint of the
previous frame has likelihood > ``threshold``, the next frame is cut to the box spanning
those keypoints, widened by ``margin`` pixels on each side; otherwise (animal lost) the
whole frame is analysed.

Here the box is then made a *square* whose side comes from a short ladder (64, 96, 128, 192,
256, 384, 512, ... pixels; `SIDES`), centred and inside the frame, and its side only changes
when the animal outgrows it or fits in half of it. Why: each new input shape costs the XLA
backend a compilation (seconds on a CPU, a stall in a closed loop). A turning animal swaps
its x and y extents and a walking one changes them by a few pixels every frame; a square,
sticky side from a short ladder leaves two or three shapes per session, which
`LivePose.init_inference` compiles up front. The network pads its input to a multiple of 32
anyway, so rounding the side up costs little.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIDES", "crop_box", "next_side", "snap_span"]

#: square crop sides: steps of 32 up to 128, then x1.5 / x1.33 steps (few shapes to compile)
SIDES = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)


def next_side(need: float) -> int:
    """The smallest side of `SIDES` holding ``need`` pixels (the largest one beyond)."""
    for side in SIDES:
        if side >= need:
            return side
    return SIDES[-1]


def neighbour_sides(side: int) -> list[int]:
    """``side`` and the ladder's steps just below and above it (what init compiles)."""
    i = SIDES.index(side) if side in SIDES else len(SIDES) - 1
    return list(SIDES[max(0, i - 1): i + 2])


def snap_span(lo: int, hi: int, size: int, target: int) -> tuple[int, int]:
    """``[lo, hi)`` grown or cut to ``min(target, size)`` pixels, centred, inside the frame."""
    target = min(size, target)
    start = lo - (target - (hi - lo)) // 2
    start = min(max(start, 0), size - target)
    return int(start), int(start + target)


def crop_box(pose: np.ndarray | None, frame_hw: tuple[int, int], threshold: float,
             margin: int, previous_side: int | None = None,
             compiled: set[int] | frozenset[int] = frozenset()
             ) -> tuple[int, int, int, int] | None:
    """``[x1, x2, y1, y2]`` around the keypoints above ``threshold``, or None (whole frame).

    ``previous_side`` is the side of the last box: it is kept while the needed side is
    more than half of it and fits in it. ``compiled`` are sides already compiled: the
    smallest of them that holds the animal is preferred to a new, smaller one.
    """
    if pose is None:
        return None
    pose = np.asarray(pose, dtype=np.float64)
    found = (pose[:, 2] > threshold) & np.isfinite(pose[:, :2]).all(axis=1)
    if not found.any():
        return None
    h, w = frame_hw
    x, y = pose[found, 0], pose[found, 1]
    x1, x2 = int(np.floor(x.min())) - margin, int(np.ceil(x.max())) + margin + 1
    y1, y2 = int(np.floor(y.min())) - margin, int(np.ceil(y.max())) + margin + 1
    need = max(x2 - x1, y2 - y1)
    side = next_side(need)
    if previous_side and side <= previous_side and 2 * need > previous_side:
        side = previous_side
    fitting = [s for s in compiled if s >= need]
    if fitting and side not in compiled:
        side = min(fitting)
    x1, x2 = snap_span(max(x1, 0), min(x2, w), w, side)
    y1, y2 = snap_span(max(y1, 0), min(y2, h), h, side)
    if (x1, x2, y1, y2) == (0, w, 0, h):
        return None
    return x1, x2, y1, y2
