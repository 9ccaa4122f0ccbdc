"""Damaged input is never silently truncated (DeepLabCut issue #2397)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from analysis_helpers import make_video, output_files, smash_frame

from markerless.analysis import analyze_video_file
from markerless.errors import VideoError
from markerless.io.dlc_analysis import read_analysis
from markerless.io.video import probe_video

KW = {"batch_size": 8, "chunk_frames": 16}


def test_text_file_named_mp4_is_a_video_error(tmp_path, tiny_model):
    model, info = tiny_model
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match="notes.mp4") as err:
        analyze_video_file(fake, model, info, destfolder=tmp_path / "out", **KW)
    assert err.value.path == fake
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_truncated_without_index_is_a_video_error(tmp_path, tiny_model):
    """An mp4 cut before its index (moov atom at the end) cannot be read at all."""
    model, info = tiny_model
    path = tmp_path / "cut.mp4"
    make_video(path, 30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        analyze_video_file(path, model, info, destfolder=tmp_path, **KW)


def test_truncated_video_has_probed_rows_and_warns(tmp_path, tiny_model):
    """Index first (faststart), data cut: the header says 40 frames, fewer exist."""
    model, info = tiny_model
    path = tmp_path / "short.mp4"
    make_video(path, 40, extra_args=("-movflags", "+faststart"))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    probed = probe_video(path)
    assert probed.truncated and probed.header_frames == 40 and 0 < probed.n_frames < 40

    with pytest.warns(UserWarning, match=r"truncated.*announces 40 frames but only") as rec:
        h5 = analyze_video_file(path, model, info, destfolder=tmp_path, **KW)
    assert f"only {probed.n_frames} can be decoded" in str(rec[0].message)
    poses = read_analysis(h5)
    assert poses.n_frames == probed.n_frames and np.isfinite(poses.xy).all()
    meta = pickle.loads(output_files(tmp_path, "short")["pickle"].read_bytes())["data"]
    assert meta["truncated"] is True and meta["header_frames"] == 40
    assert meta["nframes"] == probed.n_frames


def test_corrupt_frame_becomes_nan_row_with_warning(tmp_path, tiny_model):
    model, info = tiny_model
    path = tmp_path / "damaged.mp4"
    make_video(path, 40, seed=5)
    smash_frame(path, 22)
    assert probe_video(path).n_frames == 40

    with pytest.warns(UserWarning, match=r"1 frame\(s\) of .*damaged.mp4.* NaN .*: 22$"):
        h5 = analyze_video_file(path, model, info, destfolder=tmp_path, **KW)
    poses = read_analysis(h5)
    assert poses.n_frames == 40
    missing = np.flatnonzero(np.isnan(poses.xy).any(axis=(1, 2, 3)))
    assert missing.tolist() == [22]
    assert np.isnan(poses.likelihood[22]).all()
    meta = pickle.loads(output_files(tmp_path, "damaged")["pickle"].read_bytes())["data"]
    assert meta["bad_frames"] == [[22, 22]]
