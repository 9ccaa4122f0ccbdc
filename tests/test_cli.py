"""The ``markerless`` command line: verbs wire to the API, errors are clear, exit codes honest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from markerless.cli import main


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> tuple[Path, object]:
    from markerless import synthetic

    path = tmp_path_factory.mktemp("vid") / "mouse.mp4"
    poses = synthetic.write_clip(path, synthetic.SyntheticConfig(n_frames=40, seed=3), gop=15)
    return path, poses


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for verb in ["demo", "create-project", "add-videos", "probe", "reencode", "extract-frames",
                 "create-training-dataset", "train", "evaluate", "analyze", "filter",
                 "extract-outliers", "merge", "labeled-video", "plot"]:
        assert verb in out


def test_console_script_is_installed():
    exe = shutil.which("markerless") or str(Path(sys.executable).parent / "markerless")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("markerless ")


def test_probe_reports_exact_count_and_keyframes(small_video, capsys):
    path, _ = small_video
    assert main(["probe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "40 frames" in out and "3 keyframes" in out and "longest GOP 15" in out


def test_missing_video_is_a_clear_error_with_exit_code_2(tmp_path, capsys):
    missing = tmp_path / "nope.mp4"
    assert main(["probe", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "nope.mp4" in err and "error" in err


def test_create_project_then_extract_frames(small_video, tmp_path, capsys):
    from markerless.io.config import read_config

    path, _ = small_video
    assert main(["create-project", "mice", "ann", str(path), "--working-directory",
                 str(tmp_path), "--bodyparts", "snout", "tailbase"]) == 0
    config = Path(capsys.readouterr().out.strip())
    cfg = read_config(config)
    assert cfg["Task"] == "mice" and cfg["scorer"] == "ann"
    assert list(cfg["bodyparts"]) == ["snout", "tailbase"]
    (entry,) = cfg["video_sets"].values()
    assert entry["crop"] == "0, 256, 0, 256"
    assert main(["extract-frames", str(config), "--numframes2pick", "5", "--algo",
                 "uniform"]) == 0
    pngs = sorted((config.parent / "labeled-data" / "mouse").glob("img*.png"))
    assert [p.name for p in pngs] == ["img00.png", "img10.png", "img20.png", "img29.png",
                                      "img39.png"]


def test_reencode_keeps_frames_and_shortens_gops(small_video, tmp_path, capsys):
    from markerless.io.video import probe_video

    path, _ = small_video
    out = tmp_path / "short-gop.mp4"
    assert main(["reencode", str(path), "-o", str(out), "--gop", "5"]) == 0
    info = probe_video(out)
    assert info.n_frames == 40
    assert np.diff(info.keyframes).max() <= 5
