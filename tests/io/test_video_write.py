"""markerless.io.video_write: exact frame counts, GOP control, quality, atomicity, errors."""

from __future__ import annotations

import av
import imageio_ffmpeg
import numpy as np
import pytest

from markerless.errors import VideoError
from markerless.io.video_write import VideoWriter


def _frames(n: int, h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """Smooth moving gradients plus a bright square: easy to compress, easy to compare."""
    yy, xx = np.mgrid[0:h, 0:w]
    t = np.arange(n)[:, None, None]
    r = 128 + 80 * np.sin((xx + 6 * t) / 20.0)
    g = 128 + 80 * np.cos((yy - t) / 16.0)
    b = np.broadcast_to(96 + xx + yy + 0 * t, r.shape)
    out = np.stack([r, g, b], axis=-1).astype(np.uint8)
    for i in range(n):  # test data only
        out[i, 10:20, 5 + i % 30 : 15 + i % 30] = 250
    return out


def _decode(path) -> tuple[np.ndarray, list[bool], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        frames, keys = [], []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            keys.append(bool(frame.key_frame))
    return np.stack(frames), keys, rate


def test_frames_and_batches_are_all_written_in_order(tmp_path):
    frames = _frames(37)
    path = tmp_path / "v.mp4"
    with VideoWriter(path, fps=25, size=(64, 48), crf=18) as w:
        w.write(frames[0])  # a single frame
        w.write(frames[1:30])  # a batch
        for f in frames[30:]:
            w.write(f)
        assert w.n_frames == 37
    assert imageio_ffmpeg.count_frames_and_secs(str(path)) == (37, 37 / 25)
    decoded, _, rate = _decode(path)
    assert rate == 25 and decoded.shape == frames.shape
    err = np.abs(decoded.astype(int) - frames).mean(axis=(1, 2, 3))
    assert err.max() < 3.0  # crf 18 keeps the content (yuv420p halves chroma) ...
    moved = np.abs(decoded[1:].astype(int) - frames[:-1]).mean(axis=(1, 2, 3))
    assert np.all(moved > err[1:] + 2)  # ... in the right order


def test_size_comes_from_the_first_frame_and_fps_can_be_fractional(tmp_path):
    path = tmp_path / "ntsc.mkv"
    with VideoWriter(path, fps=30000 / 1001) as w:
        w.write(_frames(12, 32, 40))
        assert w.size == (40, 32)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height) == (40, 32)
        assert abs(float(stream.average_rate) - 29.97) < 1e-3


@pytest.mark.parametrize("gop", [1, 5, 250])
def test_gop_sets_the_keyframe_interval(tmp_path, gop):
    path = tmp_path / f"gop{gop}.mp4"
    with VideoWriter(path, fps=30, gop=gop, crf=23) as w:
        w.write(_frames(30))
    _, keys, _ = _decode(path)
    assert len(keys) == 30
    assert [i for i, k in enumerate(keys) if k] == list(range(0, 30, gop))


def test_exception_inside_the_block_leaves_no_file(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(path, fps=30) as w:
        w.write(_frames(5))
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_success_replaces_an_existing_file_atomically(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"previous")
    w = VideoWriter(path, fps=10)
    w.write(_frames(4))
    assert path.read_bytes() == b"previous"  # not visible until closed
    assert w.close() == path
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_bad_frames_are_refused_with_the_frame_index(tmp_path):
    with VideoWriter(tmp_path / "v.mp4", fps=30, size=(64, 48)) as w:
        w.write(_frames(3))
        with pytest.raises(ValueError, match="Frame 3 is 32x48, the video is 64x48"):
            w.write(np.zeros((48, 32, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            w.write(np.zeros((48, 64, 3), np.float32))
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            w.write(np.zeros((48, 64, 4), np.uint8))
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))[0] == 3


def test_odd_sizes_need_a_full_chroma_pixel_format(tmp_path):
    with pytest.raises(ValueError, match="even width and height"):
        VideoWriter(tmp_path / "odd.mp4", fps=30, size=(63, 47))
    frames = _frames(6, 47, 63)
    with VideoWriter(tmp_path / "odd.mp4", fps=30, pix_fmt="yuv444p") as w:
        w.write(frames)
    decoded, _, _ = _decode(tmp_path / "odd.mp4")
    assert decoded.shape == frames.shape


def test_ffmpeg_errors_become_video_errors_and_leave_nothing(tmp_path):
    path = tmp_path / "v.mp4"
    w = VideoWriter(path, fps=30, codec="no-such-encoder", size=(64, 48))
    with pytest.raises(VideoError, match="(?i)encoder") as info:
        for _ in range(50):  # ffmpeg exits at once; a write or the close notices
            w.write(_frames(4))
        w.close()
    assert info.value.path == path
    assert list(tmp_path.iterdir()) == []


def test_closing_without_frames_is_an_error(tmp_path):
    with pytest.raises(VideoError, match="No frames"), VideoWriter(tmp_path / "v.mp4", fps=30):
        pass
    assert list(tmp_path.iterdir()) == []


def test_writing_after_close_is_refused(tmp_path):
    w = VideoWriter(tmp_path / "v.mp4", fps=30)
    w.write(_frames(2))
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.write(_frames(1))
