"""Crash-safe file replacement with a one-step backup.

Labels are hours of human work. A save that dies half-way (full disk, killed
process, napari crash) must leave either the old file or the new one on disk,
never a truncated mix; and the previous version is kept beside it so that a
wrong save can be undone by hand. See docs/formats.md ("Saving").

Scheme
------
1. ``writer(tmp)`` writes the new content to a hidden temporary file in the
   *same folder* (``.<stem>.tmp-<pid>-<random><suffix>``), so that the final
   rename never crosses file systems and DeepLabCut's ``CollectedData_*.h5``
   globs never see it.
2. The temporary file is flushed to disk (``fsync``) and **read back**: the
   caller's ``verify(tmp)`` (keys and shape of an HDF5 table, the row count of a
   CSV, the bytes of a text file) must accept it. Why: on a full disk some
   writers (pandas ``to_hdf`` on small files) return without error and leave an
   empty file; renaming that over the labels destroyed them.
3. The temporary file gets the permission bits of the file it replaces; when
   ``backup`` is true and the target exists, the current target becomes
   ``<name>.bak`` (hard link when possible, copy otherwise; one previous version
   is kept, the older ``.bak`` is replaced).
4. ``os.replace(tmp, target)``: atomic on POSIX and Windows.

Any failure leaves the old file in place and raises a typed
:class:`~markerless.errors.StorageError` naming the file
(:class:`~markerless.errors.DiskFullError`,
:class:`~markerless.errors.NotWritableError`). Temporary files left by a killed
process (its pid no longer runs) are removed by the next write to the same
folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from markerless.errors import DiskFullError, NotWritableError, StorageError, storage_error

#: suffix appended to the full file name of the kept previous version.
BACKUP_SUFFIX = ".bak"


def backup_path(path: str | os.PathLike) -> Path:
    """Where :func:`atomic_write` keeps the previous version of ``path``.

    ``labeled-data/v/CollectedData_Jo.h5`` -> ``labeled-data/v/CollectedData_Jo.h5.bak``
    (the name no longer ends in ``.h5``, so DeepLabCut ignores it).
    """
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


#: a temporary file left older than this is removed even if its pid runs again (reused pid).
STALE_AFTER_S = 24 * 3600
_TEMP = re.compile(r"^\..+\.tmp-(?:(?P<pid>\d+)-)?[0-9a-f]{12}")
#: below this many free bytes a failed verification is reported as a full disk.
_NEARLY_FULL = 1 << 20


def temporary_path(path: str | os.PathLike) -> Path:
    """A fresh hidden sibling of ``path`` keeping its suffix (writers infer formats from it)."""
    path = Path(path)
    return path.with_name(
        f".{path.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}{path.suffix}")


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its file alone
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporary files of :func:`atomic_write` whose writer is gone; returns them.

    A temporary file belongs to a process that died mid-write (kill -9, power
    loss) when its pid no longer runs, or when it is older than
    :data:`STALE_AFTER_S`. Files of running writers are kept.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m is None or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                age = time.time() - entry.stat().st_mtime
                pid = m.group("pid")
                if age > STALE_AFTER_S or (pid is not None and not _pid_running(int(pid))) or (
                        pid is None and age > 3600):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


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


def _unverified(path: Path, tmp: Path, err: BaseException) -> StorageError:
    """The error for a temporary file that did not read back whole."""
    free = None
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(path.parent).free
    if free is not None and free < _NEARLY_FULL:
        return DiskFullError(
            f"The disk is full: {str(path)!r} could not be written whole ({free} bytes free). "
            "Free some space and save again; the previous version of the file was kept.",
            path, 28)
    return StorageError(
        f"{str(path)!r} did not read back whole after writing ({type(err).__name__}: {err}); "
        "the previous version of the file was kept. Is the disk full or failing?", path)


def atomic_write(
    path: str | os.PathLike,
    writer: Callable[[Path], object],
    backup: bool = True,
    verify: Callable[[Path], object] | None = None,
) -> Path:
    """Write ``path`` through ``writer(tmp_path)`` so readers only ever see a whole file.

    Parameters
    ----------
    path
        Final destination. Its folder must exist.
    writer
        Called once with the temporary path to write to (for example
        ``lambda p: df.to_hdf(p, key="df_with_missing")``). Errors it raises that are
        not ``OSError`` propagate unchanged; ``OSError`` becomes a typed
        :class:`~markerless.errors.StorageError`. Either way the temporary file is
        removed and ``path`` left untouched.
    backup
        Keep the file being replaced as ``<name>.bak`` (see :func:`backup_path`).
    verify
        Called with the written temporary file before it replaces ``path``; it
        raises (anything) when the file is not whole. Without it, the file must
        merely exist and be non-empty.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DiskFullError, NotWritableError, StorageError
        The old file (if any) is still in place.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise StorageError(
            f"Folder {str(path.parent)!r} does not exist (writing {path.name})", path)
    if not os.access(path.parent, os.W_OK):
        raise NotWritableError(
            f"Cannot write {str(path)!r}: its folder is read-only or not yours. Check the "
            "folder's permissions or choose another destination.", path, 13)
    remove_stale_temporaries(path.parent)
    tmp = temporary_path(path)
    try:
        try:
            writer(tmp)
        except OSError as err:
            raise storage_error(err, path) from err
        try:
            if not tmp.is_file():
                raise StorageError(f"The writer for {str(path)!r} did not create a file", path)
            _fsync_file(tmp)
        except OSError as err:
            raise storage_error(err, path) from err
        try:
            if verify is None:
                if tmp.stat().st_size == 0:
                    raise ValueError("the file is empty")
            else:
                verify(tmp)
        except Exception as err:  # noqa: BLE001 - any failure to read back means "not whole"
            raise _unverified(path, tmp, err) from err
        try:
            if path.exists():
                with contextlib.suppress(OSError):
                    shutil.copymode(path, tmp)
                if backup:
                    _make_backup(path)
            os.replace(tmp, path)
        except OSError as err:
            raise storage_error(err, path) from err
    finally:
        with contextlib.suppress(FileNotFoundError, OSError):
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

    def _verify(tmp: Path) -> None:
        with open(tmp, encoding=encoding, newline="") as f:
            if f.read() != text:
                raise ValueError("the text read back differs from the text written")

    return atomic_write(path, _write, backup=backup, verify=_verify)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, backup: bool = False) -> Path:
    """:func:`atomic_write` for bytes (checkpoints, pickles), verified by size and content."""

    def _verify(tmp: Path) -> None:
        if tmp.read_bytes() != data:
            raise ValueError(f"{len(data)} bytes written, other bytes read back")

    return atomic_write(path, lambda tmp: tmp.write_bytes(data), backup=backup, verify=_verify)
