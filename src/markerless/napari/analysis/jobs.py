"""The Analysis dock's work, without Qt: ``iter_analyze`` as a job for the job panel."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence


def analysis_job(config: str | os.PathLike, videos: Sequence[str | os.PathLike], shuffle: int = 1,
                 snapshot_index: int | None = None, redo: bool = False,
                 trainingsetindex: int = 0) -> Iterator[dict]:
    """``iter_analyze``'s progress events (closing this closes the analysis cleanly).

    A result file that another model wrote under the same scorer name (e.g. the other
    training fraction's) is analysed again by ``iter_analyze`` itself.
    """
    from markerless.analysis import iter_analyze

    yield {"status": "loading", "video": None, "frames_done": 0, "n_frames": 0,
           "fps": None, "eta_s": None, "output": None}  # fmt: skip
    yield from iter_analyze(config, [str(v) for v in videos], shuffle=shuffle,
                            trainingsetindex=trainingsetindex, snapshot_index=snapshot_index,
                            redo=redo)  # fmt: skip
