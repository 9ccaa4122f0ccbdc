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
    "convert_detections2tracklets": "markerless.tracking.api",
    "stitch_tracklets": "markerless.tracking.api",
    "track_and_stitch": "markerless.tracking.api",
    "make_tracklets": "markerless.tracking.api",
    "track_video": "markerless.tracking.stream",
    "Tracker": "markerless.tracking.trackers",
    "TrackerConfig": "markerless.tracking.trackers",
    "Tracklets": "markerless.tracking.tracklets",
    "read_tracklets_pickle": "markerless.tracking.tracklets",
    "write_tracklets_pickle": "markerless.tracking.tracklets",
    "stitch": "markerless.tracking.stitch",
    "StitchWarning": "markerless.tracking.stitch",
    "write_tracks": "markerless.tracking.tracks_io",
    "read_inferencecfg": "markerless.tracking.inference_cfg",
    "noisy_assemblies": "markerless.tracking.simulate",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'markerless.tracking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
