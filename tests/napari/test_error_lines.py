"""What a dock shows when something fails: one line through ``user_message``, never a
traceback (not in the dock, not in napari's notifications), and the dock keeps working."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from markerless.errors import ConfigError, DiskFullError, storage_error

pytestmark = pytest.mark.gui


@pytest.fixture
def notifications(monkeypatch) -> list:
    """The errors napari's notification manager receives (it would show a traceback)."""
    from napari.utils.notifications import notification_manager

    seen: list = []
    monkeypatch.setattr(notification_manager, "receive_error", lambda *a, **k: seen.append(a))
    return seen


def _bare_project(root: Path) -> Path:
    from markerless.io.config import default_config, write_config

    cfg = default_config("t", "tester", "Nov21", bodyparts=["snout", "tail"],
                         project_path=str(root))
    cfg["video_sets"] = {str(root / "videos" / "gone.mp4"): {"crop": "0, 80, 0, 64"}}
    write_config(cfg, root / "config.yaml")
    return root / "config.yaml"


def test_error_line_is_one_line_and_logs_only_bugs(caplog):
    from markerless.napari.forms import error_line

    full = storage_error(OSError(errno.ENOSPC, "No space left on device"), "/data/x.h5")
    assert isinstance(full, DiskFullError)
    assert error_line(full, "Not saved: ").startswith("Not saved: The disk is full: could not "
                                                      "write '/data/x.h5'")
    assert error_line(ConfigError("bad value\n  in config.yaml")) == "bad value in config.yaml"
    assert not caplog.records  # the user's problems are not bugs
    with caplog.at_level(logging.ERROR):
        try:
            {}["boom"]
        except KeyError as err:
            line = error_line(err)
    assert line == "internal error (KeyError: 'boom')"
    assert caplog.records[-1].exc_info[0] is KeyError  # the traceback, for a bug report


def test_job_panel_shows_a_failed_job_and_a_failed_callback(qtbot, notifications):
    from markerless.napari.job_panel import JobPanel

    panel = JobPanel()
    qtbot.addWidget(panel)

    def disk_full():
        yield {"text": "writing"}
        raise storage_error(OSError(errno.ENOSPC, "No space left on device"), "/data/x.h5")

    panel.run(disk_full)
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)
    assert isinstance(panel.last_error, DiskFullError)
    assert panel.status.text().startswith("Error: The disk is full")
    assert "\n" not in panel.status.text()

    def answer():
        return 42

    panel.run(answer, returned=lambda value: [][value])  # the dock's callback has a bug
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)
    assert isinstance(panel.last_error, IndexError)
    assert panel.status.text() == "Error: internal error (IndexError: list index out of range)"
    assert notifications == []


def test_frames_dock_worker_error_is_one_line_and_the_dock_works_again(
        make_napari_viewer, qtbot, tmp_path, notifications):
    from markerless.napari.session import session
    from markerless.napari.workers import busy

    config = _bare_project(tmp_path)
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Extract frames")
    session(viewer).set(config)
    dock.extract()  # the project's only video is missing: the worker fails
    qtbot.waitUntil(lambda: not busy(dock), timeout=10000)
    text = dock.status.text()
    assert "gone.mp4" in text and "\n" not in text and "Traceback" not in text
    assert dock.status.styleSheet()  # shown as an error
    assert dock.extract_button.isEnabled() and dock.add_button.isEnabled()
    assert notifications == []


def test_a_dock_action_that_fails_says_why_instead_of_raising(make_napari_viewer, tmp_path,
                                                              notifications):
    from qtpy.QtCore import Qt

    config = _bare_project(tmp_path)
    video = tmp_path / "videos" / "gone.mp4"
    video.parent.mkdir()
    (video.parent / "goneDLC_resnet50_tNov21shuffle1_100.h5").write_bytes(b"not an hdf5 file")
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("markerless", "Analysis")
    dock.set_config(config)
    dock.add_video(video)
    assert dock.videos.item(0).checkState() == Qt.CheckState.Checked
    dock.show_existing()  # the results file is broken: said in the job panel
    text = dock.job.status.text()
    assert "goneDLC_resnet50_tNov21shuffle1_100.h5" in text and "\n" not in text
    assert not any(ly for ly in viewer.layers)  # nothing half-shown
    assert notifications == []
