"""Exported models: a trained snapshot as StableHLO + ONNX files that run without markerless.

* `export_model` / `export_snapshot` write ``exported-models/<scorer>/``;
* `ExportedModel` runs such a folder (XLA or onnxruntime), no network code needed;
* `analyze_with_model` analyses videos with a folder, no project needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "export_model": "markerless.export.exporter",
    "export_snapshot": "markerless.export.exporter",
    "ExportedModel": "markerless.export.runtime",
    "read_exported_cfg": "markerless.export.runtime",
    "analyze_with_model": "markerless.export.analyze",
}

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'markerless.export' has no attribute {name!r}")
