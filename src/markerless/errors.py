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


class ArgumentError(MarkerlessError, ValueError):
    """A parameter value is out of range or of the wrong kind (names the parameter)."""


class StorageError(MarkerlessError, OSError):
    """A file could not be written or read back whole; ``path`` is the file.

    Raised instead of a raw ``OSError`` so that every caller (CLI, docks,
    Jupyter) can tell the user which file and what to do.
    """

    def __init__(self, message: str, path: str | Path | None = None, errno: int | None = None):
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.errno = errno


class DiskFullError(StorageError):
    """The disk (or quota) holding ``path`` is full; the previous file was kept."""


class NotWritableError(StorageError):
    """``path`` or its folder cannot be written (permissions, read-only file system)."""


_DISK_FULL = {28, 122}  # ENOSPC, EDQUOT
_NOT_WRITABLE = {1, 13, 30}  # EPERM, EACCES, EROFS


def storage_error(err: OSError, path: str | Path, action: str = "write") -> StorageError:
    """The typed error for an ``OSError`` met while ``action``-ing ``path``.

    Keeps the original as ``__cause__`` (callers ``raise storage_error(e, p) from e``).
    """
    if isinstance(err, StorageError):
        return err
    code = getattr(err, "errno", None)
    reason = getattr(err, "strerror", None) or str(err)
    if code in _DISK_FULL:
        return DiskFullError(
            f"The disk is full: could not {action} {str(path)!r} ({reason}). "
            "Free some space and try again; the previous version of the file was kept.",
            path, code)
    if code in _NOT_WRITABLE:
        return NotWritableError(
            f"Cannot {action} {str(path)!r}: {reason}. Check the folder's permissions "
            "or choose another destination.", path, code)
    return StorageError(f"Could not {action} {str(path)!r}: {reason}", path, code)


def user_message(err: BaseException) -> str:
    """One line for a person: what went wrong and, where known, what to do.

    The one error path shared by the CLI's last handler and the napari docks, so
    that no raw traceback reaches a user. Errors markerless raises on purpose
    carry their own message; other ``OSError``s get the typed wording of
    :func:`storage_error`; anything else is named as an internal error.
    """
    if isinstance(err, MarkerlessError):
        return str(err)
    if isinstance(err, OSError):
        if getattr(err, "filename", None):
            return str(storage_error(err, err.filename, "use"))
        if getattr(err, "errno", None) in _DISK_FULL:
            return "The disk is full: free some space and try again"
        return f"system error: {getattr(err, 'strerror', None) or err}"
    if isinstance(err, MemoryError):
        return ("Out of memory: try a smaller batch size, a lower resolution "
                "(downscale) or shorter chunks")
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"internal error ({type(err).__name__}{': ' + text if text else ''})"


def is_internal(err: BaseException) -> bool:
    """True for errors that point at a bug rather than at the user's input."""
    return not isinstance(err, (MarkerlessError, OSError, MemoryError, KeyboardInterrupt))
