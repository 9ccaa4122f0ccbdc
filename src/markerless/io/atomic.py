"""Crash-safe file replacement with a one-step backup.

Labels are hours of human work. A save that dies half-way (full disk, killed
process, napari crash) must leave either the old file or the new one on disk,
never a truncated mix; and the previous version is kept beside it so that a
wrong save can be undone by hand. See docs/formats.md ("Saving").

Scheme
------
1. ``writer(tmp)`` writes the new content to a hidden temporary file in the
   *same folder* (``.<stem>.tmp-<random><suffix>``), so that the final rename
   never crosses file systems and DeepLabCut's ``CollectedData_*.h5`` globs
   never see it.
2. The temporary file is flushed to disk (``fsync``) and given the permission
   bits of the file it replaces.
3. When ``backup`` is true and the target exists, the current target becomes
   ``<name>.bak`` (hard link when possible, copy otherwise; one previous version
   is kept, the older ``.bak`` is replaced).
4. ``os.replace(tmp, target)``: atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

#: suffix appended to the full file name of the kept previous version.
BACKUP_SUFFIX = ".bak"


def backup_path(path: str | os.PathLike) -> Path:
    """Where :func:`atomic_write` keeps the previous version of ``path``.

    ``labeled-data/v/CollectedData_Jo.h5`` -> ``labeled-data/v/CollectedData_Jo.h5.bak``
    (the name no longer ends in ``.h5``, so DeepLabCut ignores it).
    """
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


def temporary_path(path: str | os.PathLike) -> Path:
    """A fresh hidden sibling of ``path`` keeping its suffix (writers infer formats from it)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp-{uuid.uuid4().hex[:12]}{path.suffix}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX only; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_backup(path: Path) -> Path:
    """Keep the current ``path`` as ``path.bak`` without ever leaving ``path`` missing."""
    bak = backup_path(path)
    staging = temporary_path(bak)
    try:
        try:
            os.link(path, staging)  # cheap, and the target stays in place
        except OSError:
            shutil.copy2(path, staging)
        os.replace(staging, bak)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
    return bak


def atomic_write(
    path: str | os.PathLike,
    writer: Callable[[Path], object],
    backup: bool = True,
) -> Path:
    """Write ``path`` through ``writer(tmp_path)`` so readers only ever see a whole file.

    Parameters
    ----------
    path
        Final destination. Its folder must exist.
    writer
        Called once with the temporary path to write to (for example
        ``lambda p: df.to_hdf(p, key="df_with_missing")``). Whatever it raises
        propagates, after the temporary file is removed and ``path`` left untouched.
    backup
        Keep the file being replaced as ``<name>.bak`` (see :func:`backup_path`).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Folder {str(path.parent)!r} does not exist (writing {path.name})"
        )
    tmp = temporary_path(path)
    try:
        writer(tmp)
        if not tmp.is_file():
            raise OSError(f"The writer for {str(path)!r} did not create a file")
        _fsync_file(tmp)
        if path.exists():
            with contextlib.suppress(OSError):
                shutil.copymode(path, tmp)
            if backup:
                _make_backup(path)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def atomic_write_text(
    path: str | os.PathLike, text: str, backup: bool = True, encoding: str = "utf-8"
) -> Path:
    """:func:`atomic_write` for a text file (newlines written as given)."""

    def _write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as f:
            f.write(text)

    return atomic_write(path, _write, backup=backup)
