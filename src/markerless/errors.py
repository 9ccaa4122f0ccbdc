"""Typed errors. Each names the file (and frame or bodypart) it is about, so a
user reading a traceback from a cluster job knows what to fix without a debugger."""

from __future__ import annotations

from pathlib import Path


class MarkerlessError(Exception):
    """Base class of every error markerless raises on purpose."""


class VideoError(MarkerlessError):
    """A video cannot be opened or decoded.

    ``path`` is the video and ``frame`` the frame index where decoding failed
    (``None`` when the whole file is unreadable).
    """

    def __init__(self, message: str, path: str | Path | None = None, frame: int | None = None):
        self.path = None if path is None else Path(path)
        self.frame = frame
        where = []
        if path is not None:
            where.append(f"file {str(path)!r}")
        if frame is not None:
            where.append(f"frame {frame}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class LabelFileError(MarkerlessError):
    """A DeepLabCut label or analysis file is malformed."""


class ConfigError(MarkerlessError):
    """config.yaml is missing, malformed or inconsistent with the data."""


class DataLossError(MarkerlessError):
    """A save would drop labels that exist on disk; pass ``overwrite=True`` to force it."""


class ModelError(MarkerlessError):
    """A model, snapshot or pretrained weight file is missing or does not fit."""
