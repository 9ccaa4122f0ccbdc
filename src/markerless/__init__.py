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
    "read_video": "markerless.io.video_dask",
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
    # 3D (any number of cameras)
    "create_new_project_3d": "markerless.pose3d.project",
    "calibrate_cameras": "markerless.pose3d.calibrate",
    "triangulate": "markerless.pose3d.triangulate",
    "filterpredictions_3d": "markerless.pose3d.filtering",
    "plot_trajectories_3d": "markerless.pose3d.views",
    "CameraGroup": "markerless.pose3d.camera",
    "Camera": "markerless.pose3d.camera",
    "CharucoBoard": "markerless.pose3d.boards",
    "Checkerboard": "markerless.pose3d.boards",
    "read_dlc_3d": "markerless.pose3d.outputs",
    "read_anipose_csv": "markerless.pose3d.outputs",
    # several animals
    "import_slp": "markerless.io.slp_project",
    "export_slp": "markerless.io.slp",
    "read_slp": "markerless.io.slp",
    "convert_detections2tracklets": "markerless.tracking.api",
    "stitch_tracklets": "markerless.tracking.api",
    "evaluate_tracking": "markerless.evaluation.tracking",
    "swap_identities": "markerless.tracking.edit",
    "find_track_events": "markerless.tracking.events",
    "read_tracks_file": "markerless.tracking.proofread",
    "save_tracks": "markerless.tracking.proofread",
    "send_to_labeling": "markerless.tracking.proofread",
    # taking models and results elsewhere
    "export_model": "markerless.export.exporter",
    "analyze_with_model": "markerless.export.analyze",
    "export_nwb": "markerless.io.nwb",
    "export_nwb_labels": "markerless.io.nwb",
    "read_nwb": "markerless.io.nwb",
    "to_movement": "markerless.io.movement",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name in {"synthetic", "io", "project", "napari", "pose3d", "tracking", "live",
                "export"}:
        return importlib.import_module(f"markerless.{name}")
    raise AttributeError(f"module 'markerless' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
