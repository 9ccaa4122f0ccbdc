"""Two-stage inference (find the animal, then a crop at full resolution): the same answer as
whole-frame inference where the crop holds the animal, recovery when the animal leaves and
comes back, and the stage of every frame recorded."""

from __future__ import annotations

import numpy as np
from analysis_helpers import PeakModel

from markerless.analysis.inference import FusedPredictor, Geometry
from markerless.analysis.two_stage import (
    CROP,
    FOUND,
    RECENTRED,
    WHOLE_FRAME,
    TwoStageGeometry,
    TwoStagePredictor,
    crop_size_for,
)

H, W = 192, 256


def _blob_video(xs: np.ndarray, ys: np.ndarray, half: int = 3) -> np.ndarray:
    """Frames with a white square of side ``2 half`` at (x, y) (NaN: none), on black."""
    frames = np.zeros((len(xs), H, W, 3), np.uint8)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if np.isfinite(x):
            frames[i, int(y) - half:int(y) + half, int(x) - half:int(x) + half] = 255
    return frames


def _geometries(crop_hw=(64, 64)):
    base = Geometry(frame_hw=(H, W), stride=4, net_type="resnet18")
    # the blob's likelihood is sigmoid(normalised white) ~0.9, black ~0.1
    return base, TwoStageGeometry(base, crop_hw, finder_scale=0.5, pcutoff=0.5, margin=8)


def _run(pred, frames, batch):
    coords, codes = [], []
    for start in range(0, len(frames), batch):
        coords.append(np.asarray(pred(frames[start:start + batch])))
        codes.append(np.asarray(pred.last_codes))
    return np.concatenate(coords), np.concatenate(codes)


def test_crop_size_covers_training_crop_animal_and_margin():
    assert crop_size_for((480, 640), (192, 192), extent_px=80, margin=10) == (192, 192)
    assert crop_size_for((480, 640), (192, 192), extent_px=230, margin=10) == (256, 256)
    assert crop_size_for((480, 640), (192, 192), extent_px=80, margin=10, scale=0.5) == (
        384, 384)  # 192 network pixels at half scale
    assert crop_size_for((200, 640), (192, 192), extent_px=300, margin=10) == (200, 320)


def test_same_coordinates_as_whole_frame_while_the_crop_holds_the_animal():
    t = np.arange(40)
    xs, ys = 60 + 3.0 * t, 50 + 2.0 * t  # a steady walk across the frame
    frames = _blob_video(xs, ys)
    base, geom = _geometries()
    whole = np.asarray(FusedPredictor(PeakModel(), base)(frames))
    for batch in (1, 4):
        pred = TwoStagePredictor(PeakModel(), geom)
        coords, codes = _run(pred, frames, batch)
        np.testing.assert_array_equal(coords, whole)
        assert (codes[:batch] == FOUND).all()  # the first batch has no previous box
        later = codes[batch:]
        assert set(later) <= {CROP, RECENTRED} and (later == CROP).mean() > 0.5


def test_recovers_after_the_animal_leaves_and_comes_back():
    t = np.arange(36, dtype=float)
    xs, ys = 40 + 2.0 * t, 60 + 1.0 * t
    xs[12:20] = np.nan  # out of the frame for 8 frames
    xs[20:] = 220 - 2.0 * (t[20:] - 20)  # comes back elsewhere
    ys[20:] = 150.0
    frames = _blob_video(xs, ys)
    base, geom = _geometries()
    whole = np.asarray(FusedPredictor(PeakModel(), base)(frames))
    pred = TwoStagePredictor(PeakModel(), geom)
    coords, codes = _run(pred, frames, 1)
    assert (codes[12:20] == WHOLE_FRAME).all()  # nothing found: whole-frame fallback
    assert (coords[12:20, :, 2] < 0.5).all()  # ... and reported as not visible
    assert codes[20] == FOUND  # found again by the finder
    np.testing.assert_array_equal(coords[20:], whole[20:])
    assert (codes[21:] != WHOLE_FRAME).all()
    pred.reset()  # a chunk start forgets the box
    _, codes = _run(pred, frames[30:31], 1)
    assert codes[0] == FOUND


def _blob_file(path, xs, ys):
    from markerless.io.video import VideoReader
    from markerless.io.video_write import VideoWriter

    with VideoWriter(path, 30, gop=10) as writer:
        # a larger square: the finder sees the frame at half size
        writer.write(_blob_video(xs, ys, half=6))
    with VideoReader(path) as reader:
        return reader.read_range(0, len(reader))


INFO = {"net_type": "resnet18", "stride": 4, "bodyparts": ["a", "b"], "individuals": [""],
        "scorer": "DLC_peak_twoStageJan1shuffle1_0"}


def test_analyze_videos_path_records_the_stages_and_agrees_with_whole_frames(tmp_path):
    import json

    from markerless.analysis import analyze_video_file
    from markerless.io.dlc_analysis import read_analysis

    t = np.arange(50, dtype=float)
    xs, ys = 40 + 3.0 * t, 50 + 1.5 * t
    xs[20:26] = np.nan  # gone for 6 frames
    video = tmp_path / "blob.mp4"
    frames = _blob_file(video, xs, ys)
    info = {**INFO, "train_crop_size": (64, 64), "keypoint_extent": 10.0}
    kw = {"batch_size": 1, "chunk_frames": 20}
    two = analyze_video_file(video, PeakModel(), info, destfolder=tmp_path / "two",
                             dynamic=(True, 0.5, 8), **kw)
    whole = analyze_video_file(video, PeakModel(), info, destfolder=tmp_path / "whole",
                               dynamic=(False, 0.5, 8), **kw)
    a, b = read_analysis(two), read_analysis(whole)
    seen = np.isfinite(xs)
    np.testing.assert_array_equal(a.xy[seen], b.xy[seen])
    assert (a.likelihood[~seen] < 0.5).all()
    meta = json.loads(two.with_name(two.name.replace(".h5", "_meta.json")).read_text())
    inf = meta["data"]["inference"]
    assert inf["two_stage"] and inf["crop_size"] == [64, 64]
    assert inf["whole_frame_fallback"] == [[20, 25]]
    assert sum(inf["frames_by_stage"].values()) == len(frames)
    assert inf["frames_by_stage"]["finder"] >= 3  # each of the 3 chunks starts with the finder
    meta_whole = json.loads(whole.with_name(whole.name.replace(".h5", "_meta.json")).read_text())
    assert meta_whole["data"]["inference"] == {"two_stage": False}
    # the default: a model trained on crops much smaller than the frame analyses two-stage
    auto = analyze_video_file(video, PeakModel(), info, destfolder=tmp_path / "auto", **kw)
    meta_auto = json.loads(auto.with_name(auto.name.replace(".h5", "_meta.json")).read_text())
    assert meta_auto["data"]["inference"]["two_stage"]
    np.testing.assert_array_equal(read_analysis(auto).xy, a.xy)
    # ... and one that does not say it was trained on crops analyses whole frames
    plain = analyze_video_file(video, PeakModel(), INFO, destfolder=tmp_path / "plain", **kw)
    meta_plain = json.loads(plain.with_name(plain.name.replace(".h5", "_meta.json")).read_text())
    assert meta_plain["data"]["inference"] == {"two_stage": False}


def test_the_cli_and_batch_size_auto(tmp_path, monkeypatch, capsys):
    """``markerless analyze --dynamic on --batch-size auto`` on a project (model loading
    stubbed with the blob model): two-stage results, and the chosen batch size is told."""
    import json

    import markerless.training.snapshots as snapshots
    from markerless.cli import main
    from markerless.io.config import write_config

    info = {**INFO, "train_crop_size": (64, 64), "keypoint_extent": 10.0}
    monkeypatch.setattr(snapshots, "load_model_for_inference",
                        lambda *a, **k: (PeakModel(), info))
    t = np.arange(24, dtype=float)
    video = tmp_path / "blob.mp4"
    _blob_file(video, 50 + 4.0 * t, 60 + 2.0 * t)
    config = tmp_path / "config.yaml"
    write_config({"Task": "test", "scorer": "me", "date": "Mar1", "batch_size": 8,
                  "bodyparts": ["a", "b"]}, config)
    assert main(["analyze", str(config), str(video), "--dynamic", "on", "--batch-size",
                 "auto", "--destfolder", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "chose batch size" in out and "measured frames/s by batch size" in out
    (meta_file,) = (tmp_path / "out").glob("*_meta.json")
    meta = json.loads(meta_file.read_text())["data"]
    assert meta["inference"]["two_stage"] and meta["batch_size"] in (1, 2, 4, 8, 16)
