"""A save never destroys what was there: full disks, writers that lie, read-only folders,
kill -9 leftovers. Label saves, analysis files and the napari writer share one writer, so
each fault is tried on all three."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from markerless.errors import DiskFullError, NotWritableError, StorageError
from markerless.io.atomic import atomic_write_text, remove_stale_temporaries, temporary_path
from markerless.io.dlc_analysis import read_analysis, write_analysis
from markerless.io.dlc_labels import read_labels, write_labels
from markerless.poses import Poses


def _labels(n_frames: int, scorer: str = "me", seed: int = 0) -> Poses:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n_frames, 1, 3, 2))
    frames = [f"labeled-data/v/img{i:03d}.png" for i in range(n_frames)]
    return Poses(xy, ["snout", "leftear", "tailbase"], frames=frames, scorer=scorer)


def _results(n_frames: int, seed: int = 0) -> Poses:
    rng = np.random.default_rng(seed)
    return Poses(rng.uniform(0, 100, (n_frames, 1, 3, 2)), ["snout", "leftear", "tailbase"],
                 likelihood=rng.uniform(0, 1, (n_frames, 1, 3)), scorer="DLC_model")


def _napari_save(poses: Poses, path: Path) -> None:
    from markerless.napari.convert import poses_to_points
    from markerless.napari.layers.writer import write_points

    data, attributes = poses_to_points(poses)
    if not write_points(str(path), data, attributes):
        raise AssertionError("the napari writer declined a markerless layer")


SAVES = {
    "labels": (lambda p, path: write_labels(p, path, overwrite=True), read_labels, _labels),
    "analysis": (lambda p, path: write_analysis(p, path, save_as_csv=True), read_analysis,
                 _results),
    "napari": (_napari_save, read_labels, _labels),
}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def _empty_hdf5(self, path, *args, **kwargs):
    """What pandas left on a full disk: a valid but empty HDF5 file, and no error."""
    import tables

    tables.open_file(str(path), mode="w").close()


@pytest.mark.parametrize("kind", sorted(SAVES))
def test_a_writer_that_returns_an_empty_file_never_replaces_the_old_one(kind, tmp_path,
                                                                       monkeypatch):
    save, read, make = SAVES[kind]
    target = tmp_path / "CollectedData_me.h5"
    old = make(6)
    save(old, target)
    before = target.read_bytes()
    monkeypatch.setattr(pd.DataFrame, "to_hdf", _empty_hdf5)
    for _ in range(2):  # the second save used to "succeed" over the empty file
        with pytest.raises(StorageError, match="CollectedData_me.h5") as err:
            save(make(9, seed=1), target)
        assert "previous version" in str(err.value)
    assert target.read_bytes() == before
    assert read(target).equals(read(target.with_suffix(".csv")))
    assert _hidden(tmp_path) == []


@contextlib.contextmanager
def _tiny_disk(root: Path, size_kb: int):
    """A real tmpfs of ``size_kb`` KiB (root only); skip where mounting is not allowed."""
    mount = root / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of ``folder`` up to ``leave_bytes`` free."""
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "ballast", "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(0, free - leave_bytes))


@pytest.mark.parametrize("kind", sorted(SAVES))
def test_a_full_disk_keeps_the_old_file_and_says_so(kind, tmp_path):
    save, read, make = SAVES[kind]
    with _tiny_disk(tmp_path, 1024) as disk:
        target = disk / "CollectedData_me.h5"
        old = make(5)
        save(old, target)
        before = target.read_bytes()
        _fill(disk, 4096)
        for _ in range(2):
            with pytest.raises(DiskFullError, match="disk is full") as err:
                save(make(400, seed=2), target)
            assert "CollectedData_me.h5" in str(err.value)
        assert target.read_bytes() == before
        assert read(target).equals(old if kind != "napari" else read(target))
        assert _hidden(disk) == []


def test_read_only_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits: a read-only mount is the real thing
        with _tiny_disk(tmp_path, 256) as disk:
            write_labels(_labels(3), disk / "CollectedData_me.h5")
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            with pytest.raises(NotWritableError, match="CollectedData_me.h5"):
                write_labels(_labels(4), disk / "CollectedData_me.h5", overwrite=True)
            assert read_labels(disk / "CollectedData_me.h5").n_frames == 3
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        write_labels(_labels(3), folder / "CollectedData_me.h5")
        folder.chmod(0o555)
        try:
            with pytest.raises(NotWritableError, match="CollectedData_me.h5"):
                write_labels(_labels(4), folder / "CollectedData_me.h5", overwrite=True)
        finally:
            folder.chmod(0o755)


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "config.yaml"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = target.with_name(f".config.tmp-{dead.pid}-{'a' * 12}.yaml")
    live = temporary_path(target)  # this process: a save in progress
    legacy = target.with_name(f".config.tmp-{'b' * 12}.yaml")  # old name without a pid
    for p in (stale, live, legacy):
        p.write_text("half a file")
    os.utime(legacy, (0, 0))  # very old
    assert sorted(p.name for p in remove_stale_temporaries(tmp_path)) == sorted(
        [stale.name, legacy.name])
    assert live.exists()
    atomic_write_text(target, "a: 1\n")  # every save cleans its folder too
    assert target.read_text() == "a: 1\n" and live.exists()


def test_text_that_reads_back_different_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "config.yaml"
    atomic_write_text(target, "task: a\n")
    real_open = open

    def truncating_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if "w" in mode and ".tmp-" in str(path):
            real_write = f.write
            f.write = lambda text: real_write(text[: len(text) // 2])
        return f

    monkeypatch.setattr("builtins.open", truncating_open)
    with pytest.raises(StorageError, match="config.yaml"):
        atomic_write_text(target, "task: a much longer text\n")
    monkeypatch.undo()
    assert target.read_text() == "task: a\n"


def test_the_h5_is_authoritative_and_a_stale_csv_is_repaired_by_the_next_save(tmp_path):
    from markerless.io.config import default_config, write_config
    from markerless.project.label_audit import audit_labels

    root = tmp_path / "p"
    folder = root / "labeled-data" / "v"
    folder.mkdir(parents=True)
    write_config(default_config(task="t", scorer="me", bodyparts=["snout", "leftear",
                                                                  "tailbase"]),
                 root / "config.yaml")
    v1, v2 = _labels(4), _labels(5, seed=3)
    write_labels(v1, folder)
    # a kill between the two files: the new .h5, the old .csv
    write_labels(v2, folder / "CollectedData_me.h5", overwrite=True, save_csv=False)
    assert read_labels(folder).equals(v2)  # the .h5 is read
    problems = [str(i) for i in audit_labels(root, check_images=False).issues]
    assert any("CSV copy differs from the .h5" in p for p in problems), problems
    write_labels(v2, folder)
    assert read_labels(folder / "CollectedData_me.csv").equals(v2)
    assert not any("CSV" in str(i) for i in audit_labels(root, check_images=False).issues)


_SAVER = """
import sys, numpy as np
from markerless.io.dlc_labels import write_labels
from markerless.poses import Poses
folder = sys.argv[1]
print("ready", flush=True)
for n in range(1, 100000):
    xy = np.full((n % 50 + 1, 1, 2, 2), float(n))
    frames = [f"labeled-data/v/img{i:03d}.png" for i in range(len(xy))]
    write_labels(Poses(xy, ["a", "b"], frames=frames, scorer="me"), folder, overwrite=True)
"""


def test_kill_9_during_saves_always_leaves_a_whole_h5(tmp_path):
    import signal
    import sys
    import time

    rng = np.random.default_rng(0)
    folder = tmp_path / "v"
    folder.mkdir()
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(folder)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3 + rng.uniform(0, 0.7))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        h5 = folder / "CollectedData_me.h5"
        if h5.exists():  # killed before the first save finished: nothing to check
            poses = read_labels(h5)  # always whole
            assert (poses.xy == poses.xy[0, 0, 0, 0]).all()  # one save's values, not a mix
    remove_stale_temporaries(folder)
    assert _hidden(folder) == []
