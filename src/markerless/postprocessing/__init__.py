"""The refinement loop and results tools (DeepLabCut's names and arguments).

>>> from markerless.postprocessing import extract_outlier_frames, merge_datasets  # doctest: +SKIP

* :func:`extract_outlier_frames` -> correct ``machinelabels-iter<N>.h5`` in napari ->
  :func:`refine_labels` -> :func:`merge_datasets` -> ``create_training_dataset`` again;
* :func:`filterpredictions`, :func:`create_labeled_video`, :func:`plot_trajectories`.

See docs/refinement.md. Names load lazily (no JAX, matplotlib or ffmpeg at import).
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "extract_outlier_frames": "markerless.postprocessing.outliers",
    "find_outliers": "markerless.postprocessing.outliers",
    "pick_frames": "markerless.postprocessing.outliers",
    "machinelabels_path": "markerless.postprocessing.outliers",
    "refine_labels": "markerless.postprocessing.refine",
    "read_machine_labels": "markerless.postprocessing.refine",
    "refinement_status": "markerless.postprocessing.refine",
    "merge_datasets": "markerless.postprocessing.refine",
    "filterpredictions": "markerless.postprocessing.filtering",
    "filter_poses": "markerless.postprocessing.filtering",
    "create_labeled_video": "markerless.postprocessing.labeled_video",
    "iter_create_labeled_video": "markerless.postprocessing.labeled_video",
    "iter_labeled_video": "markerless.postprocessing.labeled_video",
    "LabelStyle": "markerless.postprocessing.labeled_video",
    "plot_trajectories": "markerless.postprocessing.plots",
    "make_trajectory_figures": "markerless.postprocessing.plots",
    "model_scorer": "markerless.postprocessing.common",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'markerless.postprocessing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
