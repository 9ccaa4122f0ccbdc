"""Streaming, atomic video writing through ffmpeg (labeled videos, synthetic clips).

Frames are piped as raw RGB into the ffmpeg binary that imageio-ffmpeg ships,
so memory stays flat for hour-long videos. We start ffmpeg ourselves rather
than through ``imageio_ffmpeg.write_frames`` (which builds the same command)
because that generator neither reports ffmpeg's exit status nor keeps its error
output: a failed encode must raise :class:`~markerless.errors.VideoError` with
ffmpeg's own message, not leave a broken file behind.

The video is written to a hidden temporary sibling and renamed over ``path``
only when ffmpeg succeeded, so readers never see a half-written file; on any
error (or an exception inside the ``with`` block) the temporary file is deleted.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import weakref
from fractions import Fraction
from pathlib import Path

import numpy as np

from markerless.errors import VideoError
from markerless.io.atomic import temporary_path

#: codecs that understand ``-crf`` / ``-preset``.
_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}
_PRESET_CODECS = {"libx264", "libx264rgb", "libx265", "libsvtav1"}
_X26X = {"libx264", "libx264rgb", "libx265"}


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _cleanup(proc: subprocess.Popen, tmp: Path) -> None:
    """Kill a still-running ffmpeg and delete its temporary output."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with contextlib.suppress(OSError):
        tmp.unlink()


class VideoWriter:
    """Write uint8 RGB frames to a video file, streaming and atomically.

    Parameters
    ----------
    path
        Destination; the container follows its suffix (``.mp4``, ``.avi``, ``.mkv``...).
    fps
        Frame rate (exact rationals such as 30000/1001 are kept).
    size
        ``(width, height)``; ``None`` takes it from the first frame.
    codec
        ffmpeg encoder name.
    crf
        Constant rate factor for codecs that have one (x264: 0 lossless, 18
        visually lossless, 23 default); ``None`` leaves the encoder's default.
    gop
        Keyframe interval in frames: sets ``-g`` and ``-keyint_min`` (and turns
        off x264/x265 scene-cut keyframes) so keyframes fall exactly every ``gop``
        frames; ``None`` leaves the encoder's default (250 for x264).
    pix_fmt
        Output pixel format; ``yuv420p`` (the default, playable everywhere)
        needs even width and height.
    preset
        x264/x265 speed preset (``"ultrafast"`` ... ``"veryslow"``); ``None``: encoder default.
    extra_args
        More ffmpeg output options, inserted before the output path.

    Examples
    --------
    >>> with VideoWriter("out.mp4", fps=30, crf=18, gop=10) as w:  # doctest: +SKIP
    ...     for chunk in chunks:          # (n, H, W, 3) or (H, W, 3) uint8
    ...         w.write(chunk)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float | Fraction,
        size: tuple[int, int] | None = None,
        codec: str = "libx264",
        crf: float | None = 18,
        gop: int | None = None,
        pix_fmt: str = "yuv420p",
        preset: str | None = None,
        extra_args: tuple[str, ...] | list[str] = (),
    ) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"Folder {str(self.path.parent)!r} does not exist")
        fps = Fraction(fps).limit_denominator(1_000_000)
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if gop is not None and gop < 1:
            raise ValueError(f"gop must be >= 1, got {gop}")
        self.fps = fps
        self.codec, self.crf, self.gop, self.pix_fmt = codec, crf, gop, pix_fmt
        self.preset, self.extra_args = preset, list(extra_args)
        self.size: tuple[int, int] | None = None
        self.n_frames = 0
        self._proc: subprocess.Popen | None = None
        self._tmp: Path | None = None
        self._log = None
        self._finalizer = None
        self._closed = False
        if size is not None:
            self._start(size)

    # --- process management --------------------------------------------
    def command(self, size: tuple[int, int], output: str | os.PathLike) -> list[str]:
        """The ffmpeg command line (for logs and tests)."""
        w, h = size
        cmd = [
            _ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-vcodec", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-r", str(self.fps), "-i", "-", "-an",
            "-vcodec", self.codec, "-pix_fmt", self.pix_fmt,
        ]  # fmt: skip
        if self.crf is not None and self.codec in _CRF_CODECS:
            cmd += ["-crf", f"{self.crf:g}"]
            if self.codec == "libvpx-vp9":
                cmd += ["-b:v", "0"]
        if self.preset is not None and self.codec in _PRESET_CODECS:
            cmd += ["-preset", self.preset]
        if self.gop is not None:
            cmd += ["-g", str(self.gop), "-keyint_min", str(self.gop)]
            if self.codec in _X26X:
                cmd += ["-sc_threshold", "0"]
                if self.codec == "libx265":
                    cmd += ["-x265-params", f"min-keyint={self.gop}:scenecut=0:log-level=error"]
        return [*cmd, *self.extra_args, str(output)]

    def _start(self, size: tuple[int, int]) -> None:
        w, h = (int(v) for v in size)
        if w < 1 or h < 1:
            raise ValueError(f"size must be (width, height) >= 1, got {size}")
        if self.pix_fmt.startswith(("yuv420", "yuvj420", "nv12")) and (w % 2 or h % 2):
            raise ValueError(
                f"pix_fmt {self.pix_fmt!r} needs even width and height, got {w}x{h}; "
                "use pix_fmt='yuv444p' or crop the frames"
            )
        self.size = (w, h)
        self._tmp = temporary_path(self.path)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as ffmpeg
        try:
            self._proc = subprocess.Popen(
                self.command(self.size, self._tmp),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
            )
        except OSError as err:
            self._log.close()
            raise VideoError(f"Cannot start ffmpeg: {err}", self.path) from err
        self._finalizer = weakref.finalize(self, _cleanup, self._proc, self._tmp)

    def _stderr(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace").strip()

    # --- public API -------------------------------------------------------
    def write(self, frames: np.ndarray) -> None:
        """Append one frame (H, W, 3) or a batch (N, H, W, 3) of uint8 RGB."""
        if self._closed:
            raise ValueError(f"VideoWriter for {str(self.path)!r} is closed")
        frames = np.asarray(frames)
        if frames.dtype != np.uint8:
            raise ValueError(
                f"Frames must be uint8, got {frames.dtype} (writing {self.path.name})"
            )
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                f"Frames must be (H, W, 3) or (N, H, W, 3), got {frames.shape} "
                f"(writing {self.path.name}, frame {self.n_frames})"
            )
        if self._proc is None:
            self._start((frames.shape[2], frames.shape[1]))
        w, h = self.size
        if frames.shape[1:3] != (h, w):
            raise ValueError(
                f"Frame {self.n_frames} is {frames.shape[2]}x{frames.shape[1]}, "
                f"the video is {w}x{h} (writing {self.path.name})"
            )
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
        except (BrokenPipeError, OSError) as err:
            self._proc.wait()
            msg = self._stderr() or str(err)
            self.abort()
            raise VideoError(
                f"ffmpeg stopped while encoding: {msg}", self.path, self.n_frames
            ) from err
        self.n_frames += len(frames)

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        if self._closed:
            return self.path
        if self._proc is None or self.n_frames == 0:
            self.abort()
            raise VideoError("No frames were written", self.path)
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        if rc != 0 or not self._tmp.is_file() or self._tmp.stat().st_size == 0:
            msg = self._stderr() or f"exit status {rc}"
            self.abort()
            raise VideoError(f"ffmpeg failed: {msg}", self.path)
        os.replace(self._tmp, self.path)
        self._closed = True
        self._finalizer.detach()
        self._log.close()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file; ``path`` is left untouched."""
        self._closed = True
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            _cleanup(self._proc, self._tmp)
            self._finalizer.detach()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return (
            f"VideoWriter({str(self.path)!r}, fps={self.fps}, size={self.size}, "
            f"codec={self.codec!r}, frames={self.n_frames})"
        )
