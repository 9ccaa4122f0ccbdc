"""The Analysis dock's work, without Qt: analysis, model export and NWB as job-panel jobs."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence


def analysis_job(config: str | os.PathLike, videos: Sequence[str | os.PathLike], shuffle: int = 1,
                 snapshot_index: int | None = None, redo: bool = False,
                 trainingsetindex: int = 0, dynamic=None,
                 batch_size: int | str | None = None) -> Iterator[dict]:
    """``iter_analyze``'s progress events (closing this closes the analysis cleanly).

    A result file that another model wrote under the same scorer name (e.g. the other
    training fraction's) is analysed again by ``iter_analyze`` itself.
    """
    from markerless.analysis import iter_analyze

    yield {"status": "loading", "video": None, "frames_done": 0, "n_frames": 0,
           "fps": None, "eta_s": None, "output": None}  # fmt: skip
    yield from iter_analyze(config, [str(v) for v in videos], shuffle=shuffle,
                            trainingsetindex=trainingsetindex, snapshot_index=snapshot_index,
                            redo=redo, dynamic=dynamic, batch_size=batch_size)  # fmt: skip


def export_job(config: str | os.PathLike, shuffle: int = 1, snapshot_index: int | None = None,
               formats: Sequence[str] = ("stablehlo", "onnx"),
               trainingsetindex: int = 0) -> str:
    """``export_model`` for the chosen snapshot; returns the exported folder.

    One call (no progress to report: most of it is XLA and jax2onnx tracing), so it is a
    plain function and cannot be stopped midway.
    """
    from markerless.export import export_model

    return str(export_model(config, shuffle, trainingsetindex, snapshot_index,
                            formats=list(formats)))  # fmt: skip


def nwb_job(config: str | os.PathLike, videos: Sequence[str | os.PathLike], shuffle: int = 1,
            trainingsetindex: int = 0, subject: str | None = None) -> Iterator[dict]:
    """``export_nwb`` for each video's analysis file (the chosen model's, else the newest).

    Yields ``{"status", "video", "done", "total", "output"}``: ``"writing"`` before a
    video, then ``"done"`` (``output`` the .nwb) or ``"missing"`` (no results yet);
    returns ``{"written": [...], "missing": [...]}``.
    """
    from markerless.io.nwb import export_nwb
    from markerless.napari.project_files import find_analysis

    done: dict[str, list[str]] = {"written": [], "missing": []}
    for n, video in enumerate(videos):
        event = {"video": str(video), "total": len(videos), "output": None}
        yield {**event, "status": "writing", "done": n}
        h5 = find_analysis(config, video, shuffle, trainingsetindex=trainingsetindex)
        if h5 is None:
            done["missing"].append(str(video))
            yield {**event, "status": "missing", "done": n + 1}
            continue
        done["written"].append(str(export_nwb(config, h5, subject=subject or None)))
        yield {**event, "status": "done", "done": n + 1, "output": done["written"][-1]}
    return done


def analyze_with_job(folder: str | os.PathLike, videos: Sequence[str | os.PathLike],
                     backend: str = "xla", redo: bool = False) -> Iterator[dict]:
    """``iter_analyze_with_model``'s progress events (the same as ``analysis_job``'s)."""
    from markerless.export.analyze import iter_analyze_with_model

    yield {"status": "loading", "video": None, "frames_done": 0, "n_frames": 0,
           "fps": None, "eta_s": None, "output": None}  # fmt: skip
    yield from iter_analyze_with_model(folder, [str(v) for v in videos], backend=backend,
                                       redo=redo)
