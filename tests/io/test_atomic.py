"""atomic_write: whole files only, previous version kept as .bak, nothing left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from markerless.errors import StorageError
from markerless.io import atomic
from markerless.io.atomic import atomic_write, atomic_write_text, backup_path, temporary_path


def _write_bytes(data: bytes):
    def writer(tmp: Path) -> None:
        tmp.write_bytes(data)

    return writer


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_backup_and_temporary_names(tmp_path):
    target = tmp_path / "CollectedData_Jo.h5"
    assert backup_path(target) == tmp_path / "CollectedData_Jo.h5.bak"
    tmp = temporary_path(target)
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".CollectedData_Jo.tmp-") and tmp.suffix == ".h5"
    assert temporary_path(target) != tmp  # fresh each time
    # DeepLabCut globs CollectedData_*.h5: neither the temp nor the backup matches.
    assert not list(tmp_path.glob("CollectedData_*.h5"))


def test_new_file_has_no_backup(tmp_path):
    target = tmp_path / "a.csv"
    assert atomic_write(target, _write_bytes(b"one\n")) == target
    assert target.read_bytes() == b"one\n"
    assert _listing(tmp_path) == ["a.csv"]


def test_replace_keeps_previous_version(tmp_path):
    target = tmp_path / "a.csv"
    atomic_write(target, _write_bytes(b"one\n"))
    atomic_write(target, _write_bytes(b"two\n"))
    assert target.read_bytes() == b"two\n"
    assert backup_path(target).read_bytes() == b"one\n"
    atomic_write(target, _write_bytes(b"three\n"))
    assert backup_path(target).read_bytes() == b"two\n"  # one previous version kept
    assert _listing(tmp_path) == ["a.csv", "a.csv.bak"]


def test_backup_false_keeps_no_copy(tmp_path):
    target = tmp_path / "a.csv"
    atomic_write(target, _write_bytes(b"one\n"), backup=False)
    atomic_write(target, _write_bytes(b"two\n"), backup=False)
    assert target.read_bytes() == b"two\n"
    assert _listing(tmp_path) == ["a.csv"]


def test_failing_writer_leaves_target_untouched(tmp_path):
    target = tmp_path / "a.csv"
    target.write_bytes(b"precious\n")

    def half_then_crash(tmp: Path) -> None:
        tmp.write_bytes(b"trunc")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_bytes() == b"precious\n"
    assert _listing(tmp_path) == ["a.csv"]  # no temp file, no backup


def test_writer_that_writes_nothing_is_an_error(tmp_path):
    target = tmp_path / "a.csv"
    target.write_bytes(b"precious\n")
    with pytest.raises(OSError, match="did not create"):
        atomic_write(target, lambda tmp: None)
    assert target.read_bytes() == b"precious\n"
    assert _listing(tmp_path) == ["a.csv"]


def test_crash_during_final_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.csv"
    target.write_bytes(b"old\n")
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == target:
            raise OSError("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="power cut"):
        atomic_write(target, _write_bytes(b"new\n"))
    assert target.read_bytes() == b"old\n"
    assert backup_path(target).read_bytes() == b"old\n"
    assert _listing(tmp_path) == ["a.csv", "a.csv.bak"]


def test_backup_falls_back_to_copy_without_hard_links(tmp_path, monkeypatch):
    target = tmp_path / "a.csv"
    target.write_bytes(b"old\n")

    def no_links(src, dst):
        raise OSError("no hard links on this file system")

    monkeypatch.setattr(atomic.os, "link", no_links)
    atomic_write(target, _write_bytes(b"new\n"))
    assert backup_path(target).read_bytes() == b"old\n"
    assert target.read_bytes() == b"new\n"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_of_replaced_file_are_kept(tmp_path):
    target = tmp_path / "a.csv"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    atomic_write(target, _write_bytes(b"new\n"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_missing_folder(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        atomic_write(tmp_path / "nope" / "a.csv", _write_bytes(b"x"))


def test_text_is_written_verbatim(tmp_path):
    target = tmp_path / "config.yaml"
    text = "a: 1\r\nb: é\n"
    atomic_write_text(target, text)
    assert target.read_bytes() == text.encode("utf-8")
