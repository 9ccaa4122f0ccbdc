"""reencode_video: short GOPs, same frame count and timing, frames close to the source."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from markerless.errors import VideoError
from markerless.io.reencode import reencode_video
from markerless.io.video import VideoReader, probe_video


def write_video(path: Path, n: int, gop: int, size=(48, 64), pix_fmt="yuv444p", rate=30) -> Path:
    """Smooth moving colour waves (so differences measure the codec, not aliasing)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / 6.0
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.options = {"x264-params": f"keyint={gop}:scenecut=0"}
        for i in range(n):
            waves = [np.sin(xx + i / 5), np.cos(yy - i / 7), np.sin(xx + yy + i / 3)]
            img = (128 + 90 * np.stack(waves, -1)).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def packet_times(path: Path) -> np.ndarray:
    """Display timestamps in seconds, from the container."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(s) if p.size)
        return np.asarray(pts, dtype=float) * float(s.time_base)


def test_reencode_short_gop_same_count_timing_and_frames(tmp_path):
    src = write_video(tmp_path / "long.mp4", 90, 250)  # yuv444p, keyframe only at 0
    dst = reencode_video(src, gop=10)
    assert dst == tmp_path / "long_gop10.mp4" and dst.exists()
    a, b = probe_video(src), probe_video(dst)
    assert a.keyframes == (0,)
    assert b.n_frames == a.n_frames == 90
    assert b.fps == pytest.approx(a.fps) and b.duration == pytest.approx(a.duration)
    assert b.pix_fmt == "yuv420p" and b.codec == "h264"
    assert max(np.diff((*b.keyframes, b.n_frames))) <= 10
    ta, tb = packet_times(src), packet_times(dst)
    np.testing.assert_allclose(tb - tb[0], ta - ta[0], atol=1e-3)
    with VideoReader(src) as ra, VideoReader(dst) as rb:
        for k in (0, 45, 89):
            # 4:2:0 alone limits these saturated colour waves to ~32 dB; crf 18 costs ~1 dB
            assert psnr(ra[k], rb[k]) > 28, k
    with pytest.raises(VideoError, match="exists"):
        reencode_video(src, gop=10)
    assert reencode_video(src, dst, gop=10, overwrite=True, preset="ultrafast") == dst


def test_reencode_odd_size_pads_and_reports_progress(tmp_path):
    src = write_video(tmp_path / "odd.mkv", 12, 250, size=(33, 47))
    calls = []
    with pytest.warns(UserWarning, match="odd"):
        out = reencode_video(src, tmp_path / "odd.mp4", gop=5, progress=lambda *a: calls.append(a))
    info = probe_video(out)
    assert (info.width, info.height, info.n_frames) == (48, 34, 12)
    assert calls[-1] == (12, 12)
    with VideoReader(src) as ra, VideoReader(out) as rb:
        assert psnr(ra[6], rb[6][:33, :47]) > 28


def test_reencode_errors(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        reencode_video(tmp_path / "missing.mp4")
    src = write_video(tmp_path / "a.mp4", 3, 250)
    with pytest.raises(VideoError, match="extension"):
        reencode_video(src, tmp_path / "a.gif")
    with pytest.raises(VideoError, match="source"):
        reencode_video(src, src, overwrite=True)
