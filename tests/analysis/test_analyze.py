"""End-to-end analysis of synthetic videos: DLC outputs, skip/redo, crop, resume."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import BODYPARTS, CROP, direct_predictions, make_video, output_files

from markerless.analysis import analyze_video_file, iter_analyze_video
from markerless.io.dlc_analysis import read_analysis

KW = {"batch_size": 8, "chunk_frames": 16}  # 40 frames -> chunks of 10 (GOPs), batches 8 + 2


def test_dlc_outputs_match_direct_prediction(tmp_path, tiny_model, clip):
    model, info = tiny_model
    video, frames = clip
    h5 = analyze_video_file(video, model, info, destfolder=tmp_path, save_as_csv=True, **KW)
    out = output_files(tmp_path)
    assert h5 == out["h5"] and out["csv"].is_file() and not out["partial"].exists()

    df = pd.read_hdf(h5, key="df_with_missing")
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
    assert df.columns.get_level_values("bodyparts").unique().tolist() == BODYPARTS
    assert df.columns.get_level_values("coords")[:3].tolist() == ["x", "y", "likelihood"]
    assert df.index.tolist() == list(range(40))

    poses = read_analysis(h5)
    expected = direct_predictions(model, info, frames)  # (40, 4, 3)
    np.testing.assert_allclose(poses.xy[:, 0], expected[..., :2], atol=1e-3)
    np.testing.assert_allclose(poses.likelihood[:, 0], expected[..., 2], atol=1e-5)
    assert np.isfinite(poses.xy).all()
    assert (poses.xy[..., 0] >= 0).all() and (poses.xy[..., 0] < 96).all()

    meta = pickle.loads(out["pickle"].read_bytes())["data"]
    assert meta["nframes"] == 40 and meta["frame_dimensions"] == (64, 96)
    assert meta["Scorer"] == info["scorer"] and meta["batch_size"] == 8
    assert meta["cropping"] is False and meta["cropping_parameters"] == [0, 96, 0, 64]
    assert meta["fps"] == pytest.approx(30.0) and meta["run_duration"] >= 0
    assert json.loads(out["json"].read_text())["data"]["nframes"] == 40


def test_skip_finished_and_redo(tmp_path, tiny_model, clip):
    model, info = tiny_model
    video, _ = clip
    h5 = analyze_video_file(video, model, info, destfolder=tmp_path, **KW)
    stamp = h5.stat().st_mtime_ns
    events = list(iter_analyze_video(video, model, info, destfolder=tmp_path, **KW))
    assert [e["status"] for e in events] == ["skipped"] and h5.stat().st_mtime_ns == stamp
    events = list(iter_analyze_video(video, model, info, destfolder=tmp_path, redo=True, **KW))
    assert events[-1]["status"] == "done" and events[-1]["frames_done"] == 40
    assert h5.stat().st_mtime_ns != stamp


def test_finished_file_of_another_model_is_analysed_again(tmp_path, tiny_model, other_model,
                                                         clip):
    """Same scorer name, other weights (a retrained model, another training fraction): the
    file is not silently kept; a file without our metadata (DeepLabCut's) is."""
    model, info = tiny_model
    video, _ = clip
    h5 = analyze_video_file(video, model, info, destfolder=tmp_path, **KW)
    with pytest.warns(UserWarning, match="written by another model with the same scorer"):
        events = list(iter_analyze_video(video, other_model, info, destfolder=tmp_path, **KW))
    assert events[-1]["status"] == "done" and events[-1]["frames_done"] == 40
    ref = analyze_video_file(video, other_model, info, destfolder=tmp_path / "ref", **KW)
    assert read_analysis(h5).equals(read_analysis(ref))
    events = list(iter_analyze_video(video, other_model, info, destfolder=tmp_path, **KW))
    assert [e["status"] for e in events] == ["skipped"]
    output_files(tmp_path)["json"].unlink()
    events = list(iter_analyze_video(video, model, info, destfolder=tmp_path, **KW))
    assert [e["status"] for e in events] == ["skipped"]


def test_progress_events(tmp_path, tiny_model, clip):
    model, info = tiny_model
    events = list(iter_analyze_video(clip[0], model, info, destfolder=tmp_path, **KW))
    done = [e["frames_done"] for e in events]
    assert done == sorted(done) and done[-1] == 40 and events[-1]["status"] == "done"
    assert {"video", "frames_done", "n_frames", "fps", "eta_s"} <= set(events[1])
    assert all(e["n_frames"] == 40 for e in events)
    assert events[-2]["fps"] > 0 and events[-2]["eta_s"] == pytest.approx(0.0)


def test_crop_maps_back_to_full_frame(tmp_path, tiny_model, clip):
    model, info = tiny_model
    video, frames = clip
    crop = CROP
    h5 = analyze_video_file(video, model, info, destfolder=tmp_path, cropping=list(crop), **KW)
    poses = read_analysis(h5)
    expected = direct_predictions(model, info, frames, crop=crop)
    np.testing.assert_allclose(poses.xy[:, 0], expected[..., :2], atol=1e-3)
    assert (poses.xy[..., 0] >= 16).all() and (poses.xy[..., 0] < 80).all()
    meta = pickle.loads(output_files(tmp_path)["pickle"].read_bytes())["data"]
    assert meta["cropping"] is True and meta["cropping_parameters"] == list(crop)


def test_bad_crop_is_a_config_error(tmp_path, tiny_model, clip):
    from markerless.errors import ConfigError

    model, info = tiny_model
    with pytest.raises(ConfigError, match="does not fit"):
        analyze_video_file(clip[0], model, info, destfolder=tmp_path, cropping=[0, 200, 0, 64])


def _interrupt(video, model, info, folder, after_frames, how):
    gen = iter_analyze_video(video, model, info, destfolder=folder, **KW)
    for ev in gen:
        if ev["frames_done"] >= after_frames:
            if how == "close":
                gen.close()
            else:
                with pytest.raises(KeyboardInterrupt):
                    gen.throw(KeyboardInterrupt)
            return


@pytest.mark.parametrize("how", ["close", "throw"])
def test_resume_gives_identical_output(tmp_path, tiny_model, clip, how):
    model, info = tiny_model
    video, _ = clip
    ref = analyze_video_file(video, model, info, destfolder=tmp_path / "ref", save_as_csv=True,
                             **KW)
    folder = tmp_path / "run"
    _interrupt(video, model, info, folder, 20, how)
    out = output_files(folder)
    assert not out["h5"].exists()
    saved = sorted(p.name for p in out["partial"].glob("*.npy"))
    assert saved[:2] == ["0000000000-0000000010.npy", "0000000010-0000000020.npy"]

    events = list(iter_analyze_video(video, model, info, destfolder=folder, save_as_csv=True,
                                     **KW))
    assert events[0]["frames_done"] == 10 * len(saved)  # resumed, not restarted
    assert read_analysis(out["h5"]).equals(read_analysis(ref))
    assert out["csv"].read_bytes() == ref.with_suffix(".csv").read_bytes()
    assert not out["partial"].exists()


def test_resume_with_other_weights_starts_over(tmp_path, tiny_model, other_model, clip):
    model, info = tiny_model
    video, _ = clip
    _interrupt(video, model, info, tmp_path, 20, "close")
    events = list(iter_analyze_video(video, other_model, info, destfolder=tmp_path, **KW))
    assert events[0]["frames_done"] == 0
    ref = analyze_video_file(video, other_model, info, destfolder=tmp_path / "ref", **KW)
    assert read_analysis(output_files(tmp_path)["h5"]).equals(read_analysis(ref))


def test_analyze_videos_project_api(tmp_path, tiny_model, monkeypatch, capsys):
    """DeepLabCut's call: config + folder of videos; model loading is stubbed."""
    import markerless.training.snapshots as snapshots
    from markerless.analysis import analyze_videos
    from markerless.io.config import write_config

    model, info = tiny_model
    monkeypatch.setattr(snapshots, "load_model_for_inference", lambda *a, **k: (model, info))
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "a.mp4", 12, seed=1)
    make_video(videos / "b.mp4", 9, seed=2)
    (videos / "notes.txt").write_text("not a video")
    config = tmp_path / "config.yaml"
    x1, x2, y1, y2 = CROP
    write_config({"Task": "test", "scorer": "me", "date": "Mar1", "batch_size": 8,
                  "cropping": True, "x1": x1, "x2": x2, "y1": y1, "y2": y2,
                  "bodyparts": BODYPARTS}, config)  # fmt: skip
    scorer = analyze_videos(config, videos, videotype=".mp4", destfolder=tmp_path / "out")
    assert scorer == info["scorer"]
    assert f"a.mp4: {tmp_path / 'out' / f'a{scorer}.h5'}" in capsys.readouterr().out
    for stem, n in (("a", 12), ("b", 9)):
        poses = read_analysis(tmp_path / "out" / f"{stem}{scorer}.h5")
        assert poses.n_frames == n and (poses.xy[..., 0] >= x1).all()


def test_agrees_with_the_evaluation_predictor(tmp_path, tiny_model, clip):
    """Analysis and evaluation (training.snapshots.Predictor) preprocess identically,
    including the model's global_scale resize and padding."""
    from markerless.training.snapshots import ModelInfo, Predictor

    model, info = tiny_model
    video, frames = clip
    minfo = ModelInfo(net_type="resnet_tiny", stride=8, bodyparts=BODYPARTS, individuals=[""],
                      global_scale=0.5, scorer=info["scorer"])
    h5 = analyze_video_file(video, model, minfo, destfolder=tmp_path, **KW)
    expected = Predictor(model, minfo).predict_batches(frames, batch_size=8)
    poses = read_analysis(h5)
    np.testing.assert_allclose(poses.xy[:, 0], expected[..., :2], atol=1e-3)
    np.testing.assert_allclose(poses.likelihood[:, 0], expected[..., 2], atol=1e-5)
    meta = pickle.loads(output_files(tmp_path)["pickle"].read_bytes())["data"]
    assert meta["scale"] == 0.5


@pytest.mark.parametrize("damage", ["empty-hdf5", "truncated", "fewer-rows"])
def test_a_damaged_result_is_not_already_analysed(tmp_path, tiny_model, clip, damage):
    """After a disk-full failure or a damaged file, "already analysed" must not keep it."""
    import tables

    from markerless.io.dlc_analysis import write_analysis

    model, info = tiny_model
    video, _ = clip
    h5 = analyze_video_file(video, model, info, destfolder=tmp_path, **KW)
    good = read_analysis(h5)
    if damage == "empty-hdf5":
        h5.unlink()
        tables.open_file(str(h5), mode="w").close()
    elif damage == "truncated":
        h5.write_bytes(h5.read_bytes()[:2000])
    else:
        write_analysis(good.select_frames(range(25)), h5)
    with pytest.warns(UserWarning, match="is damaged"):
        events = list(iter_analyze_video(video, model, info, destfolder=tmp_path, **KW))
    assert events[-1]["status"] == "done" and events[-1]["frames_done"] == 40
    assert read_analysis(h5).equals(good)


def test_frames_of_another_size_than_the_training_images_are_named(tmp_path, tiny_model,
                                                                  clip):
    model, info = tiny_model
    video, _ = clip
    sized = {**info, "image_sizes": [[480, 640]]}
    with pytest.warns(UserWarning, match=r"has 96x64 frames but the model was trained on "
                                         r"images of 640x480"):
        analyze_video_file(video, model, sized, destfolder=tmp_path, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyze_video_file(video, model, {**info, "image_sizes": [[64, 96]]},
                           destfolder=tmp_path / "same", **KW)
