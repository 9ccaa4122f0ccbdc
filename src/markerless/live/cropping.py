"""Dynamic cropping for live inference: a box around the last confident pose.

DeepLabCut-Live's rule (``dynamic=(on, threshold, margin)``): when any keypoint of the
previous frame has likelihood > ``threshold``, the next frame is cut to the box spanning
those keypoints, widened by ``margin`` pixels on each side; otherwise (animal lost) the
whole frame is analysed.

Here the box is then made a *square* whose side is a multiple of ``multiple`` pixels
(centred, inside the frame), and its side only changes when the animal outgrows it or
fits in half of it. Why: each new input shape costs the XLA backend a compilation (a
second or more on a CPU, a visible stall in a closed loop). A turning animal swaps its x
and y extents and a walking one changes them by a few pixels every frame; a square, sticky
side leaves one or two shapes per session. The network pads its input to a multiple of 32
anyway, so rounding the side up costs little.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crop_box", "snap_span"]


def snap_span(lo: int, hi: int, size: int, target: int) -> tuple[int, int]:
    """``[lo, hi)`` grown or cut to ``min(target, size)`` pixels, centred, inside the frame."""
    target = min(size, target)
    start = lo - (target - (hi - lo)) // 2
    start = min(max(start, 0), size - target)
    return int(start), int(start + target)


def crop_box(pose: np.ndarray | None, frame_hw: tuple[int, int], threshold: float,
             margin: int, multiple: int = 32, previous_side: int | None = None
             ) -> tuple[int, int, int, int] | None:
    """``[x1, x2, y1, y2]`` around the keypoints above ``threshold``, or None (whole frame).

    ``previous_side`` is the side of the last box: it is kept while the needed side is
    between half of it and it.
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
    side = max(multiple, -(-need // multiple) * multiple)
    if previous_side and side <= previous_side < 2 * side:
        side = previous_side
    x1, x2 = snap_span(max(x1, 0), min(x2, w), w, side)
    y1, y2 = snap_span(max(y1, 0), min(y2, h), h, side)
    if (x1, x2, y1, y2) == (0, w, 0, h):
        return None
    return x1, x2, y1, y2
