"""Write a pickled ``dict`` item by item, so that memory stays flat in video length.

DeepLabCut's ``_full.pickle``, ``_assemblies.pickle`` and tracklet pickles are
one ``dict`` per video (DLC #775: several GB held in memory, then dumped at
the end). :class:`DictPickleWriter` emits the same bytes a reader expects from
``pickle.dump(dict)`` one entry at a time: ``PROTO 3``, ``EMPTY_DICT``, then per
batch ``MARK key value ... SETITEMS``, then ``STOP``. Each key and value is a
protocol-3 fragment (``pickle.dumps(obj, 3)`` without its ``PROTO``/``STOP``):
protocol 3 names memo slots explicitly (``BINPUT n``), so a fragment only ever
reads back the slots it has just written, and fragments can be concatenated.
``pickle.load`` (DeepLabCut, movement, anyone) reads the result as one dict.

The file is written to a hidden temporary sibling and renamed into place by
:func:`~markerless.io.atomic.atomic_write` on :meth:`close`, so a killed run
never leaves a truncated pickle under the final name.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markerless.errors import storage_error
from markerless.io.atomic import atomic_write, temporary_path

__all__ = ["DictPickleWriter", "dump_dict_items"]

_PROTOCOL = 3
_HEADER = b"\x80\x03}"  # PROTO 3, EMPTY_DICT
_MARK, _SETITEMS, _STOP = b"(", b"u", b"."
_EMPTY_DICT, _SETITEM, _POP = b"}", b"s", b"0"
_LONG_BINPUT, _LONG_BINGET = b"r", b"j"
#: memo slots of nested dicts start here, far above what a one-object fragment uses
#: (a key or an array memoizes a handful of objects; fragments count from 0 again).
_NESTED_SLOT0 = 1000


def _fragment(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=_PROTOCOL)
    return data[2:-1]  # drop PROTO 3 (2 bytes) and STOP


class DictPickleWriter:
    """Stream ``key: value`` pairs into a pickle that loads as one ``dict``.

    >>> with DictPickleWriter(path) as w:            # doctest: +SKIP
    ...     w.update({0: a0, 1: a1}); w["metadata"] = meta
    """

    def __init__(self, path: str | os.PathLike, backup: bool = False):
        self.path = Path(path)
        self.backup = backup
        self._staging = temporary_path(self.path)
        try:
            self._file = open(self._staging, "wb")  # noqa: SIM115 - closed in close()
            self._file.write(_HEADER)
        except OSError as err:
            raise storage_error(err, self.path) from err
        self.n_items = 0
        self._slots: dict[Any, int] = {}

    def update(self, items: dict | Iterable[tuple[Any, Any]]) -> None:
        """Append several entries (one ``SETITEMS`` batch)."""
        pairs = items.items() if isinstance(items, dict) else items
        parts = [_MARK]
        n = 0
        for key, value in pairs:
            parts.append(_fragment(key))
            parts.append(_fragment(value))
            n += 1
        if not n:
            return
        parts.append(_SETITEMS)
        try:
            self._file.write(b"".join(parts))
        except OSError as err:
            self.abort()
            raise storage_error(err, self.path) from err
        self.n_items += n

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(((key, value),))

    def update_nested(self, key: Any, items: dict | Iterable[tuple[Any, Any]]) -> None:
        """``result[key].update(items)``, creating ``result[key] = {}`` the first time.

        Lets a dict of dicts (DeepLabCut's tracklets: tracklet -> frame -> array) be
        written as its entries arrive, in any order: the inner dict is memoized
        (``LONG_BINPUT``) when created and fetched back (``LONG_BINGET``) to add to
        it. Write large one-off objects (a header) only after the last nested update.
        """
        pairs = items.items() if isinstance(items, dict) else items
        body = [_MARK]
        n = 0
        for k, v in pairs:
            body.append(_fragment(k))
            body.append(_fragment(v))
            n += 1
        parts = []
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _NESTED_SLOT0 + len(self._slots)
            parts += [_fragment(key), _EMPTY_DICT, _LONG_BINPUT + struct.pack("<I", slot),
                      _SETITEM]
            self.n_items += 1
        if n:
            parts += [_LONG_BINGET + struct.pack("<I", slot), *body, _SETITEMS, _POP]
        try:
            self._file.write(b"".join(parts))
        except OSError as err:
            self.abort()
            raise storage_error(err, self.path) from err

    def close(self) -> Path:
        """Finish the pickle and move it into place (atomically, fsynced)."""
        try:
            self._file.write(_STOP)
            self._file.close()
            atomic_write(self.path, lambda tmp: os.replace(self._staging, tmp), self.backup)
        except OSError as err:
            self.abort()
            raise storage_error(err, self.path) from err
        return self.path

    def abort(self) -> None:
        """Drop the partial file (the final name is never touched)."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._staging.unlink()

    def __enter__(self) -> DictPickleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def dump_dict_items(
    path: str | os.PathLike, batches: Iterable[dict], backup: bool = False
) -> Path:
    """Write every batch of entries in ``batches`` into one dict pickle at ``path``."""
    with DictPickleWriter(path, backup=backup) as w:
        for batch in batches:
            w.update(batch)
    return Path(path)
