"""Frame-exact video reading: counts, keyframes, random access, dask chunks, errors."""

from __future__ import annotations

import functools
import pickle
import threading
from pathlib import Path

import av
import dask
import numpy as np
import pytest

from markerless.errors import VideoError
from markerless.io.video import VideoInfo, VideoReader, probe_video, video_chunks
from markerless.io.video_cache import ByteLRU
from markerless.io.video_dask import clear_shared_readers, read_video, shared_reader

OPENFIELD_KEYFRAMES = (0, 182, 366, 548, 797, 985, 1173, 1383, 1588, 1794, 2016, 2219)
OPENFIELD_PROBES = (0, 500, 1000, 2000, 2329)
BITS = 12  # frame number written as 12 black/white 8x8 blocks in the top-left corner


def write_numbered_video(
    path: Path,
    n_frames: int,
    gop: int,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    size: tuple[int, int] = (64, 96),
    grey: bool = False,
    faststart: bool = False,
    rate: int = 25,
) -> Path:
    """A video whose frame i shows i in binary, with B-frames and keyframes every ``gop``."""
    h, w = size
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"
            }
        elif codec == "mpeg4":
            stream.codec_context.max_b_frames = 2
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(n_frames):
            img = np.empty((h, w, 3), np.uint8)
            img[..., 0] = (xx * 4 + i * 3) % 256
            img[..., 1] = (yy * 4 + i * 5) % 256
            img[..., 2] = (xx + yy + i) % 256
            bits = (i >> np.arange(BITS)) & 1
            img[:8, : 8 * BITS] = np.repeat(bits * 255, 8)[None, :, None].astype(np.uint8)
            if grey:
                img[:] = img.mean(axis=-1, keepdims=True).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def frame_number(rgb: np.ndarray) -> int:
    """Read back the number written by :func:`write_numbered_video`."""
    blocks = rgb[:8, : 8 * BITS].reshape(8, BITS, 8, 3).mean(axis=(0, 2, 3)) > 127
    return int((blocks.astype(int) << np.arange(BITS)).sum())


def sequential_frames(path: Path, stop: int | None = None, keep=None) -> dict[int, np.ndarray]:
    """Reference: plain PyAV sequential decode (no seeking), rgb24 like ffmpeg."""
    out = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if stop is not None and i >= stop:
                break
            if keep is None or i in keep:
                out[i] = frame.to_ndarray(format="rgb24")
    return out


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory) -> Path:
    """300 frames, keyframes at 0 and 250 only (x264 -g 250), B-frames, mp4."""
    return write_numbered_video(tmp_path_factory.mktemp("video") / "long_gop.mp4", 300, 250)


@pytest.fixture(scope="module")
def long_gop_frames(long_gop) -> np.ndarray:
    ref = sequential_frames(long_gop)
    return np.stack([ref[i] for i in range(len(ref))])


@functools.cache
def _openfield_reference(path: Path) -> dict[int, np.ndarray]:
    return sequential_frames(path, stop=max(OPENFIELD_PROBES) + 1, keep=set(OPENFIELD_PROBES))


@pytest.fixture
def openfield_reference(openfield_video) -> dict[int, np.ndarray]:
    """The probe frames of a sequential decode, computed once per test session."""
    return _openfield_reference(openfield_video)


# --- openfield (real x264 build 148 yuv444p file) ------------------------------------
@pytest.mark.shared
def test_probe_openfield_exact_count_and_keyframes(openfield_video):
    info = probe_video(openfield_video)
    assert isinstance(info, VideoInfo)
    assert info.n_frames == 2330
    assert info.keyframes == OPENFIELD_KEYFRAMES
    assert (info.width, info.height) == (640, 480)
    assert info.fps == pytest.approx(30.0, abs=1e-3)
    assert info.duration == pytest.approx(2330 / info.fps, rel=1e-4)
    assert info.is_grey  # R = G = B
    assert (info.codec, info.pix_fmt) == ("h264", "yuv444p")
    assert not info.truncated
    assert info.shape == (2330, 480, 640, 3)


@pytest.mark.shared
def test_openfield_random_access_equals_sequential(openfield_video, openfield_reference):
    with VideoReader(openfield_video) as reader:
        for k in (2000, 500, 2329, 0, 1000):  # out of order: forces seeks both ways
            frame = reader[k]
            assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
            np.testing.assert_array_equal(frame, openfield_reference[k], err_msg=f"frame {k}")
        np.testing.assert_array_equal(reader[-1], openfield_reference[2329])
        rgb = reader[500].astype(int)
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


@pytest.mark.shared
def test_openfield_dask_single_frames(openfield_video, openfield_reference):
    darr = read_video(openfield_video)
    assert darr.shape == (2330, 480, 640, 3) and darr.dtype == np.uint8
    starts = np.cumsum((0, *darr.chunks[0]))[:-1]
    assert set(OPENFIELD_KEYFRAMES) <= set(starts.tolist())
    for k in (1000, 2329):
        np.testing.assert_array_equal(darr[k].compute(), openfield_reference[k])


# --- synthetic long-GOP video --------------------------------------------------------
def test_long_gop_probe(long_gop):
    info = probe_video(long_gop)
    assert info.n_frames == 300
    assert info.keyframes == (0, 250)
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == (96, 64)
    assert not info.is_grey
    assert info.header_frames == 300 and not info.truncated


def test_long_gop_every_frame_in_random_order(long_gop, long_gop_frames):
    assert [frame_number(f) for f in long_gop_frames] == list(range(300))
    order = np.random.default_rng(0).permutation(300)
    with VideoReader(long_gop, cache_bytes=2**20) as reader:  # small cache: real seeks
        for k in order.tolist():
            frame = reader[k]
            assert frame_number(frame) == k
            np.testing.assert_array_equal(frame, long_gop_frames[k], err_msg=f"frame {k}")


def test_stepping_next_and_previous(long_gop, long_gop_frames):
    with VideoReader(long_gop) as reader:
        for k in [*range(120, 140), *range(139, 100, -1), *range(245, 255), *range(254, 240, -1)]:
            np.testing.assert_array_equal(reader[k], long_gop_frames[k], err_msg=f"frame {k}")


def test_slices_negative_and_lists(long_gop, long_gop_frames):
    ref = long_gop_frames
    with VideoReader(long_gop) as reader:
        assert len(reader) == 300 and reader.shape == (300, 64, 96, 3)
        np.testing.assert_array_equal(reader[-1], ref[-1])
        np.testing.assert_array_equal(reader[-300], ref[0])
        np.testing.assert_array_equal(reader[245:255], ref[245:255])
        np.testing.assert_array_equal(reader[10:0:-3], ref[10:0:-3])
        np.testing.assert_array_equal(reader[::50], ref[::50])
        np.testing.assert_array_equal(reader[-5:], ref[-5:])
        np.testing.assert_array_equal(reader[[7, 3, 7, 299]], ref[[7, 3, 7, 299]])
        np.testing.assert_array_equal(reader[5, :8, :16], ref[5, :8, :16])
        np.testing.assert_array_equal(reader[2:4, 0, 0], ref[2:4, 0, 0])
        np.testing.assert_array_equal(reader.read_range(240, 260), ref[240:260])
        np.testing.assert_array_equal(reader.read_range(0, 300, 7), ref[::7])
        assert reader[300:400].shape == (0, 64, 96, 3)
        with pytest.raises(IndexError):
            reader[300]
        with pytest.raises(IndexError):
            reader[-301]


def test_iter_frames_equals_sequential(long_gop, long_gop_frames):
    with VideoReader(long_gop) as reader:
        frames = np.stack(list(reader.iter_frames(240, 270)))
        np.testing.assert_array_equal(frames, long_gop_frames[240:270])
        assert sum(1 for _ in reader) == 300
        assert len(reader._cache) == 0  # iteration leaves the random-access cache alone


def test_cache_is_bounded_in_bytes(long_gop):
    frame_yuv420 = 96 * 64 * 3 // 2
    with VideoReader(long_gop, cache_bytes=10 * frame_yuv420) as reader:
        for k in range(0, 300, 13):
            reader[k]
        assert 0 < reader._cache.nbytes <= 10 * frame_yuv420
    with VideoReader(long_gop, cache_bytes=0) as reader:
        assert frame_number(reader[123]) == 123 and len(reader._cache) == 0


def test_read_range_keeps_the_gop_head_it_decoded(long_gop, long_gop_frames):
    """Reading the second half of a split GOP decodes the first half anyway: it is kept,
    so the first half (dask may compute it afterwards) costs no decoding."""
    with VideoReader(long_gop) as reader:
        np.testing.assert_array_equal(reader.read_range(100, 110), long_gop_frames[100:110])
        assert all(k in reader._cache for k in range(100))
        assert 100 not in reader._cache  # returned frames are not cached twice
        np.testing.assert_array_equal(reader.read_range(0, 100), long_gop_frames[:100])


def test_byte_lru_evicts_oldest():
    lru = ByteLRU(10)
    for key in "abc":
        lru.put(key, key.upper(), 4)
    assert lru.get("a") is None and lru.get("b") == "B" and lru.nbytes == 8
    lru.put("d", "D", 4)  # "c" is now the oldest
    assert lru.get("c") is None and lru.get("b") == "B"
    lru.put("big", "X", 11)
    assert lru.get("big") is None and len(lru) == 2


def test_threads_share_one_reader(long_gop, long_gop_frames):
    errors = []
    with VideoReader(long_gop, decoders=2) as reader:

        def work(seed):
            for k in np.random.default_rng(seed).integers(0, 300, 15).tolist():
                if not np.array_equal(reader[k], long_gop_frames[k]):
                    errors.append(k)

        threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


# --- dask ----------------------------------------------------------------------------
def test_dask_chunks_on_keyframes_and_compute(long_gop, long_gop_frames):
    frame_bytes = 96 * 64 * 3
    darr = read_video(long_gop, chunk_bytes=100 * frame_bytes)
    # GOP 0..250 splits into 3 parts of <= 100 frames; GOP 250..300 stays whole
    assert darr.chunks[0] == (83, 84, 83, 50)
    np.testing.assert_array_equal(darr.compute(), long_gop_frames)
    np.testing.assert_array_equal(darr[123].compute(), long_gop_frames[123])
    np.testing.assert_array_equal(darr[-1].compute(), long_gop_frames[-1])
    np.testing.assert_array_equal(darr[5:260:9].compute(), long_gop_frames[5:260:9])


def test_dask_single_frame_does_not_decode_its_chunk(long_gop, long_gop_frames):
    """napari indexes darr[k]: that must reach the shared reader as one frame (decoded
    up to k and cached there), not as a whole-chunk read sliced afterwards."""
    clear_shared_readers()
    darr = read_video(long_gop, chunk_bytes=100 * 96 * 64 * 3)
    assert darr.chunks[0][0] == 83
    np.testing.assert_array_equal(darr[40].compute(), long_gop_frames[40])
    cache = shared_reader(long_gop)._cache
    assert 40 in cache and 39 in cache and 41 not in cache and 82 not in cache
    np.testing.assert_array_equal(darr[41].compute(), long_gop_frames[41])  # next: one step
    assert 41 in cache


def test_dask_array_survives_pickling(long_gop, long_gop_frames):
    darr = pickle.loads(pickle.dumps(read_video(long_gop)))
    clear_shared_readers()  # as in a fresh worker process
    np.testing.assert_array_equal(darr[77].compute(), long_gop_frames[77])
    with dask.config.set(scheduler="processes", num_workers=2):
        np.testing.assert_array_equal(darr[260:262].compute(), long_gop_frames[260:262])


def _info(keyframes, n: int) -> VideoInfo:
    """A 1x1 video (3 bytes a frame) with the given keyframes."""
    return VideoInfo(Path("x.mp4"), n, 25.0, 1, 1, False, tuple(keyframes), "h264", "yuv420p", 1.0)


def test_video_chunks_merge_short_and_split_long_gops():
    # frame_bytes = 3 (1x1 RGB); budget of 30 bytes = 10 frames per chunk
    info = _info([0, 2, 4, 6, 30, 33], 40)
    assert video_chunks(info, chunk_bytes=30) == [(0, 6), (6, 14), (14, 22), (22, 30), (30, 40)]
    every = video_chunks(_info(range(0, 40), 40), chunk_bytes=30)  # all-intra: merges
    assert every == [(0, 10), (10, 20), (20, 30), (30, 40)]
    assert video_chunks(_info([0], 5), chunk_bytes=1) == [(k, k + 1) for k in range(5)]


# --- other containers, grey ----------------------------------------------------------
@pytest.mark.parametrize(
    "name, codec, pix_fmt",
    [("v.mkv", "libx264", "yuv420p"), ("v.mov", "libx264", "yuv444p"),
     ("v.avi", "mpeg4", "yuv420p"), ("v.avi", "mjpeg", "yuvj420p")],
)  # fmt: skip
def test_containers_frame_exact(tmp_path, name, codec, pix_fmt):
    path = write_numbered_video(tmp_path / name, 90, 40, codec=codec, pix_fmt=pix_fmt)
    ref = sequential_frames(path)
    info = probe_video(path)
    assert info.n_frames == 90 == len(ref)
    assert info.keyframes[0] == 0 and len(info.keyframes) >= 3
    with VideoReader(path) as reader:
        for k in (89, *info.keyframes[1:], 0, 39, 60, info.keyframes[1] - 1):
            frame = reader[k]
            assert frame_number(frame) == k
            np.testing.assert_array_equal(frame, ref[k], err_msg=f"{name} {codec} frame {k}")


def test_grey_detection(tmp_path):
    grey = write_numbered_video(tmp_path / "grey.mp4", 10, 5, grey=True)
    assert probe_video(grey).is_grey


# --- errors --------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="not found") as err:
        probe_video(tmp_path / "nope.mp4")
    assert err.value.path == tmp_path / "nope.mp4"


def test_text_file_renamed_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="not a readable video") as err:
        VideoReader(fake)
    assert err.value.path == fake and "notes.mp4" in str(err.value)


def test_truncated_mp4(tmp_path):
    full = write_numbered_video(tmp_path / "full.mp4", 300, 50, faststart=True)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    ref = sequential_frames(full)
    info = probe_video(cut)
    assert info.truncated and info.header_frames == 300
    assert 100 < info.n_frames < 200  # the decodable part, not the header's count
    n = info.n_frames
    with VideoReader(cut) as reader:
        for k in (n - 1, 0, n // 2):  # every decodable frame is the original frame
            assert frame_number(reader[k]) == k
            np.testing.assert_array_equal(reader[k], ref[k])
        frames = list(reader.iter_frames())
        assert len(frames) == n and frame_number(frames[-1]) == n - 1
        reads = (
            lambda: reader[n],
            lambda: reader[n - 5 : n + 5],
            lambda: reader.read_range(n - 5, n + 5),
            lambda: list(reader.iter_frames(0, n + 1)),
        )
        for read in reads:
            with pytest.raises(VideoError, match="past the decodable end") as err:
                read()
            assert err.value.frame == n and err.value.path == cut
    # without the index at the front the container cannot even be opened
    moov_last = write_numbered_video(tmp_path / "plain.mp4", 60, 30)
    half = tmp_path / "plain_half.mp4"
    half.write_bytes(moov_last.read_bytes()[: moov_last.stat().st_size // 2])
    with pytest.raises(VideoError, match="plain_half.mp4"):
        probe_video(half)


@pytest.mark.parametrize(
    "name, codec, fraction",
    [("cut.mkv", "libx264", 0.5), ("cut.mov", "libx264", 0.3), ("cut.avi", "mpeg4", 0.77)],
)
def test_truncated_other_containers(tmp_path, name, codec, fraction):
    """mkv has no frame count and AVI no timestamps: the cut must still be exact."""
    kwargs = {"faststart": True} if name.endswith(".mov") else {}
    full = write_numbered_video(tmp_path / ("full" + name[3:]), 300, 50, codec=codec, **kwargs)
    cut = tmp_path / name
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * fraction)])
    info = probe_video(cut)
    assert info.truncated and 0 < info.n_frames < 300
    with VideoReader(cut) as reader:
        assert [frame_number(f) for f in reader.iter_frames()] == list(range(info.n_frames))
        assert frame_number(reader[info.n_frames - 1]) == info.n_frames - 1
        with pytest.raises(VideoError) as err:
            reader[info.n_frames]
        assert err.value.frame == info.n_frames and err.value.path == cut
