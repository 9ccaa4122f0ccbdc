"""Per-frame latency of `LivePose` on a video (``dlc-live-benchmark``'s measurement).

Frames are decoded ahead of the timer; each timed call is ``get_pose(frame)`` at batch 1,
from the frame in host memory to the ``(K, 3)`` pose back in host memory (so GPU runs
include the transfers). The first ``warmup`` frames (compilation, first crop sizes) are
not counted. Run once on the whole frame and once with dynamic cropping. ``cpu/f`` is the
process's CPU time per frame summed over its threads: on a machine shared with other jobs
the wall-clock figures grow, this one does not (divided by the cores it uses, it bounds the
latency on an idle machine from below).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LatencyResult", "benchmark_live", "format_table"]


@dataclass
class LatencyResult:
    mode: str
    backend: str
    device: str
    frame_size: tuple[int, int]
    n_frames: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    fps: float
    cpu_ms: float  # this process's CPU time per frame, all threads (contention-free work)
    cropped_fraction: float
    mean_crop_pixels: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _frames(video: str | os.PathLike, start: int, n: int) -> np.ndarray:
    from markerless.io.video import VideoReader

    with VideoReader(video, cache_bytes=0) as reader:
        stop = min(len(reader), start + n)
        return np.stack(list(reader.iter_frames(start, stop)))


def _run(live: Any, frames: np.ndarray, warmup: int, mode: str) -> LatencyResult:
    live.init_inference(frames[0])
    times, cpu, crops, pixels = [], [], 0, []
    for i, frame in enumerate(frames):
        c0, t0 = time.process_time(), time.perf_counter()
        live.get_pose(frame)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if i < warmup:
            continue
        times.append(dt)
        cpu.append(dc)
        box = live.dynamic_cropping
        if box is not None:
            crops += 1
            pixels.append((box[1] - box[0]) * (box[3] - box[2]))
        else:
            pixels.append(frame.shape[0] * frame.shape[1])
    ms = 1e3 * np.asarray(times)
    return LatencyResult(
        mode=mode, backend=live.backend, device=live.model.device,
        frame_size=(int(frames.shape[1]), int(frames.shape[2])), n_frames=len(ms),
        p50_ms=float(np.percentile(ms, 50)), p95_ms=float(np.percentile(ms, 95)),
        p99_ms=float(np.percentile(ms, 99)), max_ms=float(ms.max()), mean_ms=float(ms.mean()),
        fps=float(1e3 / ms.mean()), cpu_ms=float(1e3 * np.mean(cpu)),
        cropped_fraction=crops / max(1, len(ms)), mean_crop_pixels=float(np.mean(pixels)),
    )  # fmt: skip


def benchmark_live(
    model_path: str | os.PathLike,
    video: str | os.PathLike,
    n_frames: int = 300,
    start: int = 0,
    backend: str = "xla",
    dynamic: tuple[bool, float, int] = (True, 0.5, 10),
    resize: float | None = None,
    warmup: int = 10,
    device: str | None = None,
    modes: tuple[str, ...] = ("full frame", "dynamic crop"),
) -> list[LatencyResult]:
    """Latency of ``get_pose`` on ``n_frames`` frames of ``video``, per mode.

    ``modes`` are ``"full frame"`` (no cropping) and ``"dynamic crop"`` (``dynamic``; with
    ``threshold``/``margin`` as given). The ONNX backend has no dynamic cropping.
    """
    from markerless.live.pose import LivePose

    frames = _frames(video, start, n_frames + warmup)
    out = []
    for mode in modes:
        if mode == "dynamic crop" and backend == "onnx":
            continue
        dyn = tuple(dynamic) if mode == "dynamic crop" else (False, 0.5, 10)
        live = LivePose(model_path, backend=backend, dynamic=dyn, resize=resize,
                        device=device)
        out.append(_run(live, frames, warmup, mode))
    return out


def format_table(results: list[LatencyResult], title: str = "") -> str:
    """The results as a plain-text table (milliseconds per frame, batch 1)."""
    head = (f"{'mode':<13} {'backend':<7} {'device':<28} {'frame':>9} {'n':>5} {'p50':>7} "
            f"{'p95':>7} {'p99':>7} {'max':>7} {'fps':>7} {'cpu/f':>7} {'cropped':>8} "
            f"{'px/frame':>9}")
    lines = [title] if title else []
    lines += [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.mode:<13} {r.backend:<7} {r.device[:28]:<28} "
            f"{r.frame_size[1]:>4}x{r.frame_size[0]:<4} {r.n_frames:>5} {r.p50_ms:>7.1f} "
            f"{r.p95_ms:>7.1f} {r.p99_ms:>7.1f} {r.max_ms:>7.0f} {r.fps:>7.1f} {r.cpu_ms:>7.1f} "
            f"{100 * r.cropped_fraction:>7.0f}% "
            f"{r.mean_crop_pixels:>9.0f}")
    return "\n".join(lines)


def write_results(results: list[LatencyResult], path: str | os.PathLike) -> Path:
    """Save the results as JSON (through `atomic_write`)."""
    import json

    from markerless.io.atomic import atomic_write_text

    return atomic_write_text(Path(path), json.dumps([r.to_dict() for r in results], indent=1))
