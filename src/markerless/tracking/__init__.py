"""Several animals over time: assemblies -> tracklets -> tracks (DeepLabCut's maDLC files).

>>> from markerless.tracking import convert_detections2tracklets, stitch_tracklets
>>> cfg, videos = "config.yaml", ["video.mp4"]
>>> convert_detections2tracklets(cfg, videos, track_method="ellipse")  # doctest: +SKIP
>>> stitch_tracklets(cfg, videos, n_tracks=2)  # doctest: +SKIP

The boundary with inference is :mod:`markerless.tracking.detections`
(:class:`Assemblies`, :class:`Peaks`). See docs/multianimal.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "Assemblies": "markerless.tracking.detections",
    "Peaks": "markerless.tracking.detections",
    "FullPickleWriter": "markerless.tracking.detections",
    "full_pickle_metadata": "markerless.tracking.detections",
    "read_assemblies_pickle": "markerless.tracking.detections",
    "write_assemblies_pickle": "markerless.tracking.detections",
    "DictPickleWriter": "markerless.tracking.pickle_stream",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'markerless.tracking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
