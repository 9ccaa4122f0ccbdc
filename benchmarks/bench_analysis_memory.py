"""Benchmark: peak memory of video analysis is flat in video length.

Run: ``.venv/bin/python benchmarks/bench_analysis_memory.py [--minutes 2 10]``.
The full check: ``--minutes 10 60`` (writing the 10-minute video takes a few minutes once;
the 60-minute one repeats it six times by stream copy, in seconds; both are cached, see below).

For each length, a synthetic 640x480 30 fps video (``markerless.synthetic.write_clip``) is
written once into the cache folder (``--cache``, default ``$MARKERLESS_CACHE/bench`` or
``/tmp/markerless-bench-cache``) and reused. Each analysis runs in a fresh subprocess
(``iter_analyze_video`` on the whole video) that reports its own peak resident set size
(``ru_maxrss``), the RSS after the model was built and compiled (the fixed cost of
JAX + model) and the RSS when each quarter of the video is done (a leak shows as a rise
from quarter to quarter within one run). To keep the long runs short the model is the
tiniest one (``resnet_tiny``, untrained) on frames downscaled by ``--downscale 0.25``
inside the jitted function; the video is still decoded at full 640x480, which is where
per-frame memory would leak.

Goal: every peak < 2 GiB, and the peaks of all lengths within 10 % of each other.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_BYTES = 2 * 2**30
GOAL_SPREAD = 0.10
FPS = 30
BASE_MINUTES = 10.0  # longer multiples of it are built by repeating it


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cache_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    base = os.environ.get("MARKERLESS_CACHE")
    return Path(base) / "bench" if base else Path(tempfile.gettempdir()) / "markerless-bench-cache"


def ensure_video(folder: Path, minutes: float) -> Path:
    """The cached synthetic video of ``minutes`` minutes (written on first use)."""
    from markerless.io.video import probe_video
    from markerless.synthetic import SyntheticConfig, write_clip

    n = int(round(minutes * 60 * FPS))
    path = folder / f"synthetic-640x480-{n}frames.mp4"
    if path.is_file():
        try:
            if probe_video(path).n_frames == n:
                return path
        except Exception:  # noqa: BLE001 - a damaged cache entry is rewritten
            pass
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    base_n = int(BASE_MINUTES * 60 * FPS)
    if n > base_n and n % base_n == 0:  # repeat the 10-minute clip: a stream copy, seconds
        base = ensure_video(folder, BASE_MINUTES)
        print(f"writing {path.name} ({n} frames) as {n // base_n} copies of {base.name} ...",
              flush=True)
        concat_copies(base, n // base_n, path)
    else:
        print(f"writing {path.name} ({n} frames) ...", flush=True)
        write_clip(path, SyntheticConfig(height=480, width=640, n_frames=n, fps=FPS, seed=0),
                   gop=250)
    if probe_video(path).n_frames != n:
        raise RuntimeError(f"{path} has {probe_video(path).n_frames} frames, expected {n}")
    print(f"  written in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def concat_copies(src: Path, copies: int, dst: Path) -> None:
    """``copies`` times ``src`` back to back, without re-encoding (ffmpeg's concat demuxer)."""
    import imageio_ffmpeg

    listing = dst.with_suffix(".txt")
    listing.write_text(f"file '{src.resolve()}'\n" * copies)
    tmp = dst.with_name(dst.stem + ".part.mp4")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "concat",
                    "-safe", "0", "-i", str(listing), "-c", "copy", str(tmp)], check=True)
    listing.unlink()
    tmp.replace(dst)


def worker(video: Path, net_type: str, downscale: float, batch_size: int) -> None:
    """Analyse ``video`` in this process; print one JSON line with the measurements."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import numpy as np
    from flax import nnx

    from markerless.analysis import iter_analyze_video
    from markerless.analysis.inference import Geometry, cached_predictor
    from markerless.analysis.job import model_spec
    from markerless.model import ModelConfig, build_model

    cfg = ModelConfig(net_type=net_type, num_keypoints=4, pretrained=False)
    model = build_model(cfg, nnx.Rngs(0))
    info = {"net_type": net_type, "stride": cfg.stride,
            "bodyparts": ["snout", "leftear", "rightear", "tailbase"], "scorer": "DLC_mem"}
    geom = Geometry(frame_hw=(480, 640), scale=downscale, stride=float(cfg.stride),
                    net_type=net_type)
    pred = cached_predictor(model_spec(model, info).fingerprint, geom, lambda: model)
    jax.block_until_ready(pred(np.zeros((batch_size, 480, 640, 3), np.uint8)))  # compile
    rss_ready = _rss_now()
    quarters: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        t = time.perf_counter()
        for ev in iter_analyze_video(video, model, info, batch_size=batch_size,
                                     downscale=downscale, destfolder=tmp, redo=True):
            if ev["n_frames"] and ev["frames_done"] >= (len(quarters) + 1) * ev["n_frames"] / 4:
                quarters.append(_rss_now())
        seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak": peak, "ready": rss_ready,
                      "quarters": quarters}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[2.0, 10.0])
    ap.add_argument("--cache", default=None, help="folder for the synthetic videos")
    ap.add_argument("--net-type", default="resnet_tiny")
    ap.add_argument("--downscale", type=float, default=0.25)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.net_type, args.downscale, args.batch_size)
        return 0

    folder = cache_dir(args.cache)
    videos = [(m, ensure_video(folder, m)) for m in args.minutes]
    print(f"model {args.net_type} (untrained), downscale {args.downscale}, batch "
          f"{args.batch_size}; videos 640x480 {FPS} fps in {folder}")
    rows = []
    for minutes, video in videos:
        cmd = [sys.executable, __file__, "--worker", str(video), "--net-type", args.net_type,
               "--downscale", str(args.downscale), "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        n = int(round(minutes * 60 * FPS))
        rows.append(res["peak"])
        print(f"{minutes:6.1f} min {n:7d} frames: {n / res['seconds']:7.1f} fps, "
              f"RSS after model+compile {res['ready'] / 2**20:6.1f} MiB, at 1/4..4/4 "
              f"{' '.join(f'{q / 2**20:.0f}' for q in res['quarters'])} MiB, "
              f"peak {res['peak'] / 2**20:6.1f} MiB", flush=True)
    spread = (max(rows) - min(rows)) / min(rows)
    ok = max(rows) < GOAL_BYTES and spread <= GOAL_SPREAD
    print(f"largest peak {max(rows) / 2**20:.1f} MiB (goal < {GOAL_BYTES / 2**20:.0f} MiB), "
          f"spread {spread * 100:.1f} % (goal <= {GOAL_SPREAD * 100:.0f} %): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
