"""DeepLabCut-Live's ``Processor`` protocol: ``process(pose, **kwargs) -> pose`` and ``save``.

`LivePose` calls ``processor.process(pose, **kwargs)`` after every frame (the keyword
arguments are those given to ``get_pose``) and uses what it returns as the pose, exactly
as ``dlclive.DLCLive`` does, so a DLC-Live processor (an LED or laser trigger, a
forward-prediction filter) works unchanged: any object with those two methods will do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Processor", "PoseRecorder"]


class Processor:
    """Base processor: passes the pose through and saves nothing (DLC-Live's default)."""

    def process(self, pose: np.ndarray, **kwargs: Any) -> np.ndarray:
        return pose

    def save(self, file: str = "") -> int:
        return 0


class PoseRecorder(Processor):
    """Keeps every pose with the time it arrived; ``save(file)`` writes them as ``.npz``.

    Handy for closed-loop logs: ``times`` are ``time.perf_counter()`` seconds, ``poses``
    the ``(K, 3)`` arrays as returned to the caller.
    """

    def __init__(self) -> None:
        self.poses: list[np.ndarray] = []
        self.times: list[float] = []

    def process(self, pose: np.ndarray, **kwargs: Any) -> np.ndarray:
        import time

        self.poses.append(np.array(pose, copy=True))
        self.times.append(time.perf_counter())
        return pose

    def save(self, file: str = "") -> int:
        if not file:
            return 0
        np.savez(file, poses=np.asarray(self.poses), times=np.asarray(self.times))
        return 1
