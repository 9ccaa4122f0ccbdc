"""The typed error of the 3D stage: a calibration that must not be used.

Kept here rather than in :mod:`markerless.errors` so the stage stays in its folder;
it is a :class:`~markerless.errors.MarkerlessError`, so the CLI and the docks show
its message instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from markerless.errors import ConfigError


class CalibrationError(ConfigError):
    """A calibration is missing, defective or too poor to triangulate with.

    ``report`` holds the per-camera quality report when one was computed, so a caller
    can still show why it was refused.
    """

    def __init__(self, message: str, report: Any = None):
        super().__init__(message)
        self.report = report
