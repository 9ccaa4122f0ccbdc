"""Rewrite a video so that every frame is quick to reach.

Camera and screen-recorder files often have a keyframe every 200-300 frames
(or 4:4:4 chroma, which many decoders reject): reaching one frame then means
decoding up to 300. :func:`reencode_video` writes H.264 yuv420p (decodable
everywhere) with a keyframe every ``gop`` frames, keeping the frame count and
every timestamp, so labels and analyses made on either file line up.

Decoding goes through the same frame-exact decoder as
:class:`~markerless.io.video.VideoReader` (x264-build fix included), encoding
through PyAV's libx264, all in-process.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from markerless.errors import VideoError
from markerless.io.video_cache import _Decoder
from markerless.io.video_index import _index

__all__ = ["reencode_video"]

_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}


def reencode_video(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    gop: int = 15,
    crf: int = 18,
    preset: str = "medium",
    pix_fmt: str = "yuv420p",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Re-encode ``src`` as H.264 with a keyframe at least every ``gop`` frames.

    Parameters
    ----------
    src
        Any video :func:`~markerless.io.video.probe_video` can read.
    dst
        Output path (mp4, mov, mkv or avi); default ``<src stem>_gop<gop>.mp4``
        next to ``src``. Written under a temporary name, renamed when complete.
    gop
        Maximum keyframe interval in frames; random access then decodes at most
        ``gop`` frames. 10-30 keeps seeking instant at a modest size cost.
    crf
        x264 constant rate factor: 18 is visually lossless, 23 x264's default.
    preset
        x264 speed/size trade-off (``ultrafast`` ... ``veryslow``).
    pix_fmt
        ``yuv420p`` (default, plays everywhere; odd sizes are padded by one
        edge pixel on the right/bottom, which leaves coordinates unchanged) or
        ``yuv444p`` (full chroma, fewer decoders).
    overwrite
        Replace an existing ``dst``.
    progress
        Called as ``progress(frames_done, n_frames)`` every 100 frames and at the end.

    Returns
    -------
    Path
        The written file. Audio is not copied.
    """
    from markerless.errors import ArgumentError
    from markerless.validate import positive_int

    gop = positive_int(gop, "gop")
    if not 0 <= int(crf) <= 51:
        raise ArgumentError(f"crf must be between 0 and 51 (x264 quality), got {crf!r}")
    src = Path(src)
    index = _index(src)  # VideoError for missing / unreadable files
    info = index.info
    dst = Path(dst) if dst is not None else src.with_name(f"{src.stem}_gop{gop}.mp4")
    fmt = _FORMATS.get(dst.suffix.lower())
    if fmt is None:
        raise VideoError(
            f"unsupported output extension {dst.suffix!r}: use one of {sorted(_FORMATS)}", dst
        )
    if dst.exists() and dst.resolve() == src.resolve():
        raise VideoError("refusing to overwrite the source video", dst)
    if dst.exists() and not overwrite:
        raise VideoError("output exists; pass overwrite=True to replace it", dst)
    if info.truncated:
        warnings.warn(
            f"{src}: truncated, re-encoding its {info.n_frames} decodable frames", stacklevel=2
        )

    width, height = info.width, info.height
    pad = (width % 2, height % 2) if pix_fmt in {"yuv420p", "yuv422p"} else (0, 0)
    if any(pad):
        warnings.warn(
            f"{src}: {width}x{height} is odd; padding to even for {pix_fmt}", stacklevel=2
        )
    rate = index.rate or Fraction(info.fps).limit_denominator(1001)
    tmp = dst.with_name(dst.name + ".partial")
    decoder = _Decoder(index)
    try:
        options = {"movflags": "+faststart"} if fmt in {"mp4", "mov"} else {}
        with av.open(str(tmp), "w", format=fmt, options=options) as out:
            stream = out.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = width + pad[0], height + pad[1], pix_fmt
            stream.time_base = index.time_base
            stream.codec_context.time_base = index.time_base
            stream.codec_context.gop_size = gop
            stream.codec_context.options = {
                "crf": str(crf),
                "preset": preset,
                "x264-params": f"keyint={gop}:min-keyint={max(1, min(gop, 25) // 2)}",
            }
            sws = VideoReformatter()
            first_pts = int(index.pts[0])
            step = int(np.median(np.diff(index.pts))) if len(index.pts) > 1 else 1
            for k, frame in decoder.frames(0, info.n_frames):
                if any(pad):
                    rgb = sws.reformat(frame, format="rgb24").to_ndarray()
                    rgb = np.pad(rgb, ((0, pad[1]), (0, pad[0]), (0, 0)), mode="edge")
                    new = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
                else:
                    new = sws.reformat(frame, format=pix_fmt)
                pts = int(index.pts[k]) if index.has_pts else first_pts + k * step
                new.pts, new.time_base = pts - first_pts, index.time_base
                out.mux(stream.encode(new))
                if progress is not None and (k + 1) % 100 == 0:
                    progress(k + 1, info.n_frames)
            out.mux(stream.encode(None))
        os.replace(tmp, dst)
    except av.FFmpegError as exc:
        raise VideoError(f"re-encoding failed: {exc}", src) from exc
    finally:
        decoder.close()
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(info.n_frames, info.n_frames)
    return dst
