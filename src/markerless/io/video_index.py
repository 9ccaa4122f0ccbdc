"""Packet index of a video file: exact frame count, timestamps and keyframes.

Container headers lie about frame counts (and truncated files end early), so every
packet is scanned once per process per file version; the result tells the decoders in
:mod:`markerless.io.video_cache` where each frame is and where decoding can start.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from markerless.errors import VideoError

__all__ = ["VideoInfo"]


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video after a packet scan.

    ``n_frames`` is the exact number of decodable frames; ``header_frames`` what
    the container claims (0 if it does not say). ``keyframes`` are frame indices
    where decoding can start. ``truncated`` is True when the file ends early.
    """

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int
    is_grey: bool
    keyframes: tuple[int, ...]
    codec: str
    pix_fmt: str
    duration: float
    header_frames: int = 0
    truncated: bool = False

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.n_frames, self.height, self.width, 3)

    @property
    def frame_bytes(self) -> int:
        """Size of one decoded RGB frame."""
        return self.height * self.width * 3


@dataclass(eq=False)
class _Index:
    """Packet scan result: the display-order timestamp of every frame."""

    info: VideoInfo
    pts: np.ndarray  # int64, sorted; frame k has timestamp pts[k]
    has_pts: bool  # False: frames carry no usable timestamps, count instead
    x264_build: int | None
    time_base: Fraction  # of pts
    rate: Fraction | None  # the container's frame rate, exact
    grey: bool | None = None  # filled by the first reader (needs decoding)

    def frame_of(self, pts: int | None) -> int | None:
        if pts is None or not self.has_pts:
            return None
        k = int(np.searchsorted(self.pts, pts))
        return k if k < len(self.pts) and self.pts[k] == pts else None

    def keyframe_before(self, k: int) -> int | None:
        if not self.has_pts:
            return None  # without timestamps, only a read from the start is exact
        keys = self.info.keyframes
        i = bisect.bisect_right(keys, k) - 1
        return keys[i] if i >= 0 else None


def _open(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise VideoError("video file not found", path)
    if path.is_dir():
        raise VideoError("expected a video file, got a directory", path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"not a readable video (truncated or not a video?): {exc}", path) from exc
    if not container.streams.video:
        container.close()
        raise VideoError("file contains no video stream", path)
    return container


_X264 = re.compile(rb"x264 - core (\d+)")
_SCANS: dict[tuple[str, int, int], _Index] = {}
_SCANS_LOCK = threading.Lock()


def _index(path: str | Path) -> _Index:
    """Scan ``path`` once per process per file version (the scan is O(packets))."""
    path = Path(path)
    if not path.exists():
        raise VideoError("video file not found", path)
    stat = path.stat()
    key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    with _SCANS_LOCK:
        hit = _SCANS.get(key)
    if hit is not None:
        return hit
    index = _scan(path, stat.st_size)
    with _SCANS_LOCK:
        if len(_SCANS) > 64:
            _SCANS.clear()
        _SCANS[key] = index
    return index


def _scan(path: Path, file_size: int) -> _Index:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        pts, key, bad = [], [], []
        n_skipped = 0
        head = b""
        error = None
        try:
            for pkt in container.demux(stream):
                if pkt.size == 0 or pkt.is_discard:  # flush packets, dropped-frame markers
                    n_skipped += pkt.dts is not None
                    continue
                if len(pts) < 3:
                    head += bytes(pkt)
                pts.append(pkt.pts if pkt.pts is not None else pkt.dts)
                key.append(pkt.is_keyframe)
                pos = pkt.pos if pkt.pos is not None else -1
                bad.append(pkt.is_corrupt or (pos >= 0 and pos + pkt.size > file_size))
        except (av.FFmpegError, EOFError) as exc:  # damaged tail
            error = exc
        cc = stream.codec_context
        width, height, codec, pix_fmt = cc.width, cc.height, cc.name, cc.pix_fmt or "?"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        time_base = stream.time_base or Fraction(1, 1)
        stream_dur = stream.duration
        if stream_dur is None and len(container.streams) == 1 and container.duration:
            stream_dur = int(container.duration / 1e6 / time_base)
        header = stream.frames or 0
        margin = 0 if header else 2  # a count derived from a duration is approximate
        real_pts = "avi" not in container.format.name  # AVI stores no pts: FFmpeg guesses
        head += bytes(cc.extradata or b"")
    finally:
        container.close()

    if not (width and height):  # codec parameters only known after decoding
        width, height, pix_fmt = _first_frame_geometry(path)
    n_packets = len(pts)
    while n_packets and bad[n_packets - 1]:  # partial / missing packets at the cut
        n_packets -= 1
    has_pts = None not in pts[:n_packets] and len(set(pts[:n_packets])) == n_packets
    if not has_pts:
        pts_arr = np.arange(n_packets, dtype=np.int64)
    else:
        pts_arr = np.asarray(pts[:n_packets], dtype=np.int64)
    order = np.argsort(pts_arr, kind="stable")
    sorted_pts = pts_arr[order]
    steps = np.diff(sorted_pts)
    step = float(np.median(steps)) if len(steps) else 1.0
    if not header and stream_dur and step > 0:
        header = int(round(stream_dur / step))
    truncated = error is not None or n_packets < len(pts) or header > len(pts) + n_skipped + margin
    n_frames = n_packets
    if truncated and has_pts and n_packets:
        # A frame is displayed at most `delay` places before it is decoded
        # (B-frames), so the missing packets (decoded after every present one)
        # are displayed at place >= n_packets - delay: the frames before are all
        # here. Beyond that, trust real timestamps (not AVI's guesses) while they
        # stay contiguous, i.e. while no hidden B-frame can sit in between.
        rank = np.empty(n_packets, np.int64)
        rank[order] = np.arange(n_packets)
        n_frames = n_packets - max(0, int((np.arange(n_packets) - rank).max()))
        while real_pts and n_frames < n_packets and steps[n_frames - 1] < 1.5 * step:
            n_frames += 1
    if n_frames == 0:
        raise VideoError("no decodable frames", path)
    sorted_pts = sorted_pts[:n_frames]
    keyframes = tuple(int(i) for i in np.flatnonzero(np.asarray(key)[order][:n_frames]))
    fps = float(rate) if rate else (1.0 / float(step * time_base) if has_pts else 30.0)
    if has_pts and n_frames > 1:
        duration = float((int(sorted_pts[-1] - sorted_pts[0]) + step) * time_base)
    else:
        duration = n_frames / fps
    match = _X264.search(head) if codec == "h264" else None
    info = VideoInfo(
        path=path,
        n_frames=n_frames,
        fps=fps,
        width=width,
        height=height,
        is_grey=False,
        keyframes=keyframes,
        codec=codec,
        pix_fmt=pix_fmt,
        duration=duration,
        header_frames=max(header, 0),
        truncated=truncated or n_frames < n_packets,
    )
    build = int(match.group(1)) if match else None
    return _Index(info, sorted_pts, has_pts, build, time_base, Fraction(rate) if rate else None)


def _first_frame_geometry(path: Path) -> tuple[int, int, str]:
    container = _open(path)
    try:
        for frame in container.decode(video=0):
            return frame.width, frame.height, frame.format.name
    except av.FFmpegError:
        pass
    finally:
        container.close()
    raise VideoError("cannot decode any frame to learn the frame size", path)
