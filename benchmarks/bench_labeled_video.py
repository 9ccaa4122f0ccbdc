"""Benchmark: create a labeled video vs just reading the same video, in one run.

Run: ``.venv/bin/python benchmarks/bench_labeled_video.py [VIDEO] [--frames N]``
(default: the openfield example video, 2330 frames 640x480, about a minute).

Predictions are a random walk of 4 keypoints (DeepLabCut's openfield bodyparts) with
random likelihoods, drawn with DeepLabCut's default style (``dotsize`` 12, skeleton,
no trails). Measured in this one run, alternating, so machine load hits all alike:

* **read**: decode every frame chunk by chunk (``VideoReader.read_range`` over the
  GOP-aligned chunks, the reading path the labeled video uses);
* **read + draw**: the same plus the vectorised drawing (no encoding);
* **labeled video**: ``iter_labeled_video`` end to end (decode, draw, x264 encode
  ``preset=veryfast crf=20``, write).

The ratio labeled/read says what drawing and encoding cost on top of decoding.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from markerless.io.video import VideoReader, video_chunks
from markerless.poses import Poses
from markerless.postprocessing.labeled_video import (
    CHUNK_BYTES,
    LabelStyle,
    _draw,
    _Layout,
    iter_labeled_video,
)

DEFAULT_VIDEO = (Path(__file__).resolve().parents[1].parent / "shared" / "data"
                 / "dlc-openfield-pranav" / "videos" / "m3v1mp4.mp4")  # fmt: skip
BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
STYLE = LabelStyle(dotsize=12, alphavalue=0.7, pcutoff=0.4, draw_skeleton=True,
                   skeleton=[("snout", "leftear"), ("snout", "rightear"),
                             ("snout", "tailbase")])  # fmt: skip


def random_predictions(n: int, width: int, height: int, seed: int = 0) -> Poses:
    rng = np.random.default_rng(seed)
    centre = np.array([width / 2, height / 2]) + np.cumsum(rng.normal(0, 2, (n, 2)), axis=0)
    centre = np.clip(centre, 40, [width - 40, height - 40])
    offsets = np.array([[0, -25], [-10, -12], [10, -12], [0, 25]], float)
    xy = centre[:, None, None, :] + offsets[None, None] + rng.normal(0, 1.5, (n, 1, 4, 2))
    return Poses(xy, BODYPARTS, likelihood=rng.uniform(0.2, 1.0, (n, 1, 4)), scorer="DLC_bench")


def time_read(video: Path, n: int, draw: Poses | None = None) -> float:
    t0 = time.perf_counter()
    with VideoReader(video, cache_bytes=0) as reader:
        layout = None if draw is None else _Layout(draw, STYLE, "all", "all")
        for c0, c1 in video_chunks(reader.info, CHUNK_BYTES):
            if c0 >= n:
                break
            chunk = reader.read_range(c0, min(c1, n))
            if layout is not None:
                _draw(chunk, c0, draw, layout, None, STYLE)
    return n / (time.perf_counter() - t0)


def time_labeled(video: Path, poses: Poses, out: Path) -> float:
    t0 = time.perf_counter()
    for _ in iter_labeled_video(video, poses, out, STYLE):
        pass
    return poses.n_frames / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    video = Path(args.video)
    if not video.is_file():
        print(f"video {video} not found (pass a path)")
        return 1
    with VideoReader(video) as reader:
        info = reader.info
    n = min(args.frames or info.n_frames, info.n_frames)
    poses = random_predictions(info.n_frames, info.width, info.height)
    print(f"{video.name}: {info.n_frames} frames {info.width}x{info.height} {info.pix_fmt}, "
          f"{n} used; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(other processes skew all numbers)")
    clip = Path(tempfile.mkdtemp())
    if n < info.n_frames:  # a shorter input: the first n frames, re-encoded once, untimed
        from markerless.io.video_write import VideoWriter

        short = clip / "input.mp4"
        with VideoReader(video, cache_bytes=0) as reader, VideoWriter(short, info.fps) as w:
            for c0, c1 in video_chunks(info, CHUNK_BYTES):
                if c0 >= n:
                    break
                w.write(reader.read_range(c0, min(c1, n)))
        video, poses = short, poses.select_frames(np.arange(n))
    results: dict[str, list[float]] = {"read": [], "read + draw": [], "labeled video": []}
    for r in range(args.repeats):
        results["read"].append(time_read(video, n))
        results["read + draw"].append(time_read(video, n, poses))
        results["labeled video"].append(time_labeled(video, poses, clip / f"out{r}.mp4"))
    best = {k: max(v) for k, v in results.items()}
    for name, fps in best.items():
        print(f"{name:>14}: {fps:7.1f} frames/s (best of {args.repeats})")
    print(f"labeled video / read = {best['labeled video'] / best['read']:.2f}; "
          f"drawing alone costs {100 * (1 - best['read + draw'] / best['read']):.0f}% of the "
          "read rate")
    with VideoReader(clip / "out0.mp4") as check:
        assert len(check) == n, (len(check), n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
