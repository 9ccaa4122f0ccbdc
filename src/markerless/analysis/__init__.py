"""Video analysis: frames -> keypoints for whole videos, resumable, local or on dask.

>>> from markerless.analysis import analyze_videos
>>> analyze_videos("project/config.yaml", ["videos/"], videotype=".mp4")  # doctest: +SKIP

See docs/analysis.md. Names load lazily so ``import markerless.analysis`` does
not import JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "analyze_videos": "markerless.analysis.analyze",
    "iter_analyze": "markerless.analysis.analyze",
    "analyze_video_file": "markerless.analysis.analyze",
    "iter_analyze_video": "markerless.analysis.analyze",
    "analyze_cli": "markerless.analysis.analyze",
    "collect_videos": "markerless.analysis.analyze",
    "FusedPredictor": "markerless.analysis.inference",
    "Geometry": "markerless.analysis.inference",
    "ModelPayload": "markerless.analysis.inference",
    "output_paths": "markerless.analysis.outputs",
    "analyze_range": "markerless.analysis.distributed",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'markerless.analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
