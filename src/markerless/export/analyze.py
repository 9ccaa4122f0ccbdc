"""``analyze_with_model``: analyse videos with an exported folder, no project needed.

The model zoo use of DeepLabCut without a hub: a colleague's ``exported-models/<scorer>/``
folder analyses your videos and writes the very files `analyze_videos` writes (DLC ``.h5``,
optional ``.csv``, ``_meta.pickle``/``.json``), through the same chunked, resumable job
(`markerless.analysis.job`), with the exported file instead of the network's code.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError

__all__ = ["analyze_with_model", "iter_analyze_with_model"]


class _OffsetPredictor:
    """Exported model + the crop origin (the in-process predictor adds it inside its jit)."""

    def __init__(self, model: Any, offset_xy: tuple[int, int]):
        self.model, self.offset = model, np.asarray([*offset_xy, 0.0], np.float32)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = self.model(np.ascontiguousarray(frames))
        return out + self.offset if self.offset.any() else out


def _spec(model: Any) -> Any:
    from markerless.analysis.job import ModelSpec

    cfg = model.cfg
    return ModelSpec(
        net_type=str(cfg["net_type"]), stride=float(cfg["stride"]),
        locref_stdev=float(cfg["locref_stdev"]), bodyparts=list(cfg["bodyparts"]),
        individuals=list(cfg.get("individuals") or [""]), scorer=str(cfg["scorer"]),
        fingerprint=model.fingerprint(), snapshot=str(model.path),
        global_scale=float(cfg.get("global_scale", 1.0)),
        pad_multiple=int(cfg.get("pad_multiple", 32)),
        extra={"step": int(cfg.get("step", 0)), "iteration": int(cfg.get("iteration", 0)),
               "train_fraction": cfg.get("train_fraction"), "exported_model": str(model.folder),
               "backend": model.backend},
    )  # fmt: skip


def iter_analyze_with_model(
    exported_folder: str | os.PathLike,
    videos: str | os.PathLike | Sequence,
    videotype: str = "",
    backend: str = "xla",
    batch_size: int = 8,
    save_as_csv: bool = False,
    destfolder: str | os.PathLike | None = None,
    cropping: Sequence[int] | None = None,
    redo: bool = False,
    device: str | None = None,
) -> Iterator[dict]:
    """Generator form of `analyze_with_model` (progress dicts as `iter_analyze` yields)."""
    from markerless.analysis.analyze import collect_videos, run_job_local
    from markerless.analysis.job import prepare_job
    from markerless.analysis.progress import skipped_event
    from markerless.export.runtime import ExportedModel

    model = ExportedModel(exported_folder, backend, device=device)
    spec = _spec(model)
    paths = collect_videos(videos, videotype)
    if not paths:
        warnings.warn(f"no videos found in {videos!r} (videotype {videotype!r})", stacklevel=2)
        return
    fixed = model.frame_size if (backend == "onnx" or not model.any_size) else None
    for video in paths:
        job = prepare_job(video, spec, batch_size=batch_size, destfolder=destfolder,
                          cropping=cropping, redo=redo)
        if job is None:
            yield skipped_event(video, spec.scorer, destfolder)
            continue
        if fixed and tuple(job.geometry.frame_hw) != tuple(fixed):
            raise ConfigError(
                f"{Path(video).name} gives {job.geometry.frame_hw[0]}x"
                f"{job.geometry.frame_hw[1]} frames (height x width) but {model.path.name} "
                f"takes {fixed[0]}x{fixed[1]}: use backend='xla' or crop to that size")
        yield from run_job_local(job, None, save_as_csv,
                                 predictor=_OffsetPredictor(model, job.geometry.offset_xy))


def analyze_with_model(
    exported_folder: str | os.PathLike,
    videos: str | os.PathLike | Sequence,
    videotype: str = "",
    backend: str = "xla",
    batch_size: int = 8,
    save_as_csv: bool = False,
    destfolder: str | os.PathLike | None = None,
    cropping: Sequence[int] | None = None,
    redo: bool = False,
    device: str | None = None,
    progress: bool = True,
) -> str:
    """Analyse ``videos`` with an exported model folder; returns the scorer (as analyze_videos).

    Writes ``<video stem><scorer>.h5`` (+ ``.csv``) and ``_meta`` files next to each video
    (or in ``destfolder``), resumably; videos already analysed by this model are skipped
    unless ``redo``. ``backend="onnx"`` runs ``model.onnx`` (frames of its size only).
    """
    from markerless.analysis.analyze import _show

    bar, scorer = None, ""
    try:
        for ev in iter_analyze_with_model(exported_folder, videos, videotype, backend,
                                          batch_size, save_as_csv, destfolder, cropping,
                                          redo, device):  # fmt: skip
            if ev["output"]:
                scorer = Path(ev["output"]).stem[len(Path(ev["video"]).stem):]
            if progress:
                bar = _show(bar, ev)
    finally:
        if bar is not None:
            bar.close()
    return scorer
