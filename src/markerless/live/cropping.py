"""Dynamic cropping for live inference: a box around the last confident pose.

DeepLabCut-Live's rule (``dynamic=(on, threshold, margin)``): when any keypoint of the
previous frame has likelihood > ``threshold``, the next frame is cut to the box spanning
those keypoints, widened by ``margin`` pixels on each side; otherwise (animal lost) the
whole frame is analysed. Here the box is also grown (centred, inside the frame) to a
multiple of ``multiple`` pixels: the network pads its input to a multiple of 32 anyway, so
this costs nothing, and it bounds how many input shapes the XLA backend ever compiles.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crop_box", "snap_span"]


def snap_span(lo: int, hi: int, size: int, multiple: int) -> tuple[int, int]:
    """Grow ``[lo, hi)`` to a multiple of ``multiple`` (at most ``size``), centred, in range."""
    length = hi - lo
    target = min(size, max(multiple, -(-length // multiple) * multiple))
    start = lo - (target - length) // 2
    start = min(max(start, 0), size - target)
    return int(start), int(start + target)


def crop_box(pose: np.ndarray | None, frame_hw: tuple[int, int], threshold: float,
             margin: int, multiple: int = 32) -> tuple[int, int, int, int] | None:
    """``[x1, x2, y1, y2]`` around the keypoints above ``threshold``, or None (whole frame)."""
    if pose is None:
        return None
    pose = np.asarray(pose, dtype=np.float64)
    found = (pose[:, 2] > threshold) & np.isfinite(pose[:, :2]).all(axis=1)
    if not found.any():
        return None
    h, w = frame_hw
    x, y = pose[found, 0], pose[found, 1]
    x1, x2 = max(0, int(np.min(x)) - margin), min(w, int(np.max(x)) + margin + 1)
    y1, y2 = max(0, int(np.min(y)) - margin), min(h, int(np.max(y)) + margin + 1)
    if x2 <= x1 or y2 <= y1:
        return None
    x1, x2 = snap_span(x1, x2, w, multiple)
    y1, y2 = snap_span(y1, y2, h, multiple)
    if (x1, x2, y1, y2) == (0, w, 0, h):
        return None
    return x1, x2, y1, y2
