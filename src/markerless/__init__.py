"""markerless: markerless animal pose estimation in napari, built on JAX/Flax.

The public API keeps DeepLabCut's function names and leading arguments, so a
DeepLabCut script runs after changing ``import deeplabcut`` to
``import markerless``. Heavy modules (JAX, napari) load only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "Poses": "markerless.poses",
    # project
    "create_new_project": "markerless.project.create",
    "add_new_videos": "markerless.project.create",
    "extract_frames": "markerless.project.frames",
    "check_labels": "markerless.project.check_labels",
    # files
    "read_config": "markerless.io.config",
    "write_config": "markerless.io.config",
    "read_video": "markerless.io.video",
    "VideoReader": "markerless.io.video",
    "probe_video": "markerless.io.video",
    "reencode_video": "markerless.io.reencode",
    "read_labels": "markerless.io.dlc_labels",
    "write_labels": "markerless.io.dlc_labels",
    "read_analysis": "markerless.io.dlc_analysis",
    "write_analysis": "markerless.io.dlc_analysis",
    # training and evaluation
    "create_training_dataset": "markerless.training.dataset",
    "train_network": "markerless.training.trainer",
    "evaluate_network": "markerless.evaluation.evaluate",
    # analysis
    "analyze_videos": "markerless.analysis.analyze",
    "decode_scoremaps": "markerless.decoding.scoremaps",
    # multi-animal assembly
    "assemble": "markerless.assembly.assembler",
    "AssemblerConfig": "markerless.assembly.assembler",
    "MultiAnimalSettings": "markerless.analysis.ma_analyze",
    # refinement and results
    "extract_outlier_frames": "markerless.postprocessing.outliers",
    "merge_datasets": "markerless.postprocessing.refine",
    "refine_labels": "markerless.postprocessing.refine",
    "filterpredictions": "markerless.postprocessing.filtering",
    "create_labeled_video": "markerless.postprocessing.labeled_video",
    "plot_trajectories": "markerless.postprocessing.plots",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name in {"synthetic", "io", "project", "napari"}:
        return importlib.import_module(f"markerless.{name}")
    raise AttributeError(f"module 'markerless' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
