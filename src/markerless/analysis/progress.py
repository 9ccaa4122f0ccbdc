"""Progress events of video analysis, shared by the local and the distributed runners.

Why a module of its own: both runners (`markerless.analysis.analyze` and
`markerless.analysis.distributed`) report the same events; keeping them here lets each
runner import them downward instead of one runner importing the other.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markerless.analysis.job import VideoJob

__all__ = ["Rate", "skipped_event"]


class Rate:
    """Frames/s and ETA of one video, measured from the first finished batch
    (so JIT compilation does not distort the estimate)."""

    def __init__(self, n_frames: int, done: int):
        self.n_frames, self.done = n_frames, done
        self._t0: float | None = None
        self._done0 = done

    def add(self, n: int) -> None:
        self.done += n
        if self._t0 is None:
            self._t0, self._done0 = time.perf_counter(), self.done

    def event(self, job: VideoJob, status: str = "running", output: Path | None = None) -> dict:
        fps = eta = None
        if self._t0 is not None and self.done > self._done0:
            fps = (self.done - self._done0) / max(time.perf_counter() - self._t0, 1e-9)
            eta = (self.n_frames - self.done) / fps
        return {
            "video": str(job.video), "status": status, "frames_done": self.done,
            "n_frames": self.n_frames, "fps": fps, "eta_s": eta,
            "output": None if output is None else str(output),
        }  # fmt: skip


def skipped_event(video: str | os.PathLike, scorer: str, destfolder) -> dict:
    """The event of a video that is already analysed."""
    from markerless.analysis.outputs import output_paths

    out = output_paths(video, scorer, destfolder).h5
    return {"video": str(video), "status": "skipped", "frames_done": 0, "n_frames": 0,
            "fps": None, "eta_s": None, "output": str(out)}
