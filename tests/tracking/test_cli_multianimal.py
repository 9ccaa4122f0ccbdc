"""The multi-animal CLI verbs wire to the API: SLEAP in/out, tracking, stitching, scoring."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tracking_helpers import crossing_truth

from markerless.cli import main, verbs
from markerless.io.config import default_config, write_config
from markerless.tracking.detections import write_assemblies_pickle
from markerless.tracking.simulate import noisy_assemblies
from markerless.tracking.stitch import StitchWarning

SCORER = "DLC_resnet50_miceDec4shuffle1_500"


def test_verbs_are_registered():
    names = verbs()
    for v in ("import-slp", "export-slp", "convert-detections2tracklets", "stitch-tracklets",
              "evaluate-tracking"):
        assert v in names


def test_track_stitch_score_and_export_from_the_command_line(tmp_path, capsys):
    pytest.importorskip("motmetrics")
    gt = crossing_truth(2, 150, seed=6, k=4)
    cfg = default_config("mice", "me", "Dec4", multianimal=True, bodyparts=gt.bodyparts,
                         individuals=["a", "b"], project_path=str(tmp_path))
    write_config(cfg, tmp_path / "config.yaml")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    det = noisy_assemblies(gt, noise_px=0.5, seed=1)
    write_assemblies_pickle(tmp_path / f"v{SCORER}_assemblies.pickle", det.assemblies)
    config = str(tmp_path / "config.yaml")
    assert main(["convert-detections2tracklets", config, str(video), "--track-method", "box"]) == 0
    assert capsys.readouterr().out.strip().endswith("_bx.pickle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        assert main(["stitch-tracklets", config, str(video), "--track-method", "box",
                     "--n-tracks", "2", "--save-as-csv"]) == 0
    h5 = capsys.readouterr().out.strip()
    assert h5.endswith(f"v{SCORER}_bx.h5")

    from markerless.io.slp import write_slp

    truth = write_slp([(gt, video)], tmp_path / "truth.slp")
    assert main(["evaluate-tracking", h5, str(truth), "--sigma", "0.025",
                 "-o", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "ID switches 0" in out and "sigma=0.025" in out
    assert main(["export-slp", h5, "-o", str(tmp_path / "tracks.slp"), "--video", str(video),
                 "--config", config]) == 0
    import sleap_io as sio

    labels = sio.load_slp(str(tmp_path / "tracks.slp"), open_videos=False)
    assert len(labels.labeled_frames) == 150 and [t.name for t in labels.tracks] == ["a", "b"]


def test_bad_arguments_fail_cleanly(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["import-slp", str(tmp_path / "missing.slp")])
    bad = tmp_path / "bad.slp"
    bad.write_bytes(b"not hdf5")
    assert main(["import-slp", str(bad)]) == 2
    assert "not a readable SLEAP file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["import-slp", str(bad), "--frames", "a:b"])


def test_frames_argument():
    from markerless.cli.multianimal import _frames

    assert list(_frames("0:10:4")) == [0, 4, 8]
    assert _frames("3,5") == [3, 5]
    assert np.array_equal(list(_frames(":6")), np.arange(6))
