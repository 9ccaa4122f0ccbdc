"""Benchmark: tracking + stitching throughput on one core (goal: assembly + tracking +
stitching >= 1000 frames/s for 2 animals x 13 bodyparts), and memory vs video length.

Run: ``.venv/bin/python benchmarks/bench_tracking.py [--frames 20000]`` (about a minute).

* Detections: a synthetic shared-arena clip (two animals that meet, touch and cross) made
  into assemblies as a network would give them (:func:`markerless.tracking.simulate.
  noisy_assemblies`: rows shuffled every frame, 1 px noise, 5 % of keypoints and 1 % of
  animals missing, 0.05 false positives per frame), 13 bodyparts per animal (the 9
  synthetic keypoints and 4 points between them).
* One core: BLAS/OpenMP pools are limited to one thread before NumPy loads. Times are the
  best of 3 repeats (the machine is shared); "tracking" is :func:`make_tracklets` (tracker
  over chunks of 10 000 frames), "stitching" :func:`stitch` (min-cost flow + residuals),
  "files" writing the DLC ``_el.pickle`` and ``_el.h5`` (not part of the goal).
* Swaps are counted against the ground truth (they must be 0 here).
* Memory: peak traced allocations (tracemalloc) for 1/6 and all of the frames, in memory
  (``track_and_stitch`` on the whole video's assemblies: grows with the video) and streamed
  (``track_video`` over 2000-frame chunks, writing ``_el.h5`` and ``_el.pickle``: only the
  ~32-byte row summaries grow).
* With ``../shared/data/sleap-fly-pair-clip`` present: the fly clip's labeled instances
  with identities removed, tracked by motion alone, scored by IDF1/MOTA/HOTA.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "tracking"))

from tracking_helpers import switches  # noqa: E402

from markerless.poses import Poses  # noqa: E402
from markerless.synthetic import SyntheticConfig, ground_truth  # noqa: E402
from markerless.tracking.api import make_tracklets  # noqa: E402
from markerless.tracking.detections import Assemblies  # noqa: E402
from markerless.tracking.simulate import noisy_assemblies  # noqa: E402
from markerless.tracking.stitch import StitchWarning, stitch  # noqa: E402
from markerless.tracking.tracklets import write_tracklets_pickle  # noqa: E402
from markerless.tracking.tracks_io import write_tracks  # noqa: E402

GOAL_FPS = 1000.0


def thirteen_parts(n_frames: int, seed: int = 1) -> Poses:
    gt = ground_truth(SyntheticConfig(n_frames=n_frames, n_animals=2, arena="shared",
                                      bodyparts=9, seed=seed))
    extra = 0.5 * (gt.xy[:, :, [0, 3, 4, 6]] + gt.xy[:, :, [3, 4, 5, 7]])
    xy = np.concatenate([gt.xy, extra], axis=2)
    return Poses(xy, gt.bodyparts + ["p1", "p2", "p3", "p4"], gt.individuals)


def best_of(fn, repeats=3):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run(n_frames: int, method: str, det) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        t_track, tl = best_of(lambda: make_tracklets(det.assemblies, method))
        t_stitch, res = best_of(lambda: stitch(tl, 2))
    return {"track": t_track, "stitch": t_stitch, "tl": tl, "res": res}


def _chunks(gt: Poses, chunk: int = 2000):
    """A video's assemblies made chunk by chunk (as analysis produces them)."""
    n_frames = gt.n_frames
    for start in range(0, n_frames, chunk):
        part = gt.select_frames(np.arange(start, min(start + chunk, n_frames)))
        a = noisy_assemblies(part, keypoint_dropout=0.05, animal_dropout=0.01,
                             false_positives=0.05, seed=start).assemblies
        a.first_frame = start
        yield a


def memory(n_frames: int) -> tuple[float, float]:
    """Peak traced MiB of (in-memory track_and_stitch, streamed track_video writing files);
    the streamed input is made chunk by chunk (from a ground truth made beforehand)."""
    from markerless.tracking.api import track_and_stitch
    from markerless.tracking.stream import track_video

    gt = thirteen_parts(n_frames)  # the input, made before tracing starts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        whole = Assemblies.concatenate(list(_chunks(gt)))
        tracemalloc.start()
        track_and_stitch(whole, 2, "ellipse")
        in_memory = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del whole
        with tempfile.TemporaryDirectory() as tmp:
            tracemalloc.start()
            track_video(_chunks(gt), Path(tmp) / "v_el.h5", 2, "ellipse",
                        tracklets_pickle=Path(tmp) / "v_el.pickle")
            streamed = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return in_memory, streamed


def fly_clip() -> None:
    fly = REPO.parent / "shared" / "data" / "sleap-fly-pair-clip" / "clip.slp"
    if not fly.exists():
        print("fly clip: not found, skipped")
        return
    from markerless.evaluation.tracking import tracking_scores
    from markerless.io.slp import read_slp
    from markerless.tracking.api import track_and_stitch

    (v,) = read_slp(fly)
    det = noisy_assemblies(v.poses, noise_px=0.0, keypoint_dropout=0.0, seed=0)
    for method in ("ellipse", "box", "skeleton"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StitchWarning)
            t, res = best_of(lambda m=method: track_and_stitch(det.assemblies, 2, m))
        s = tracking_scores(res.poses, v.poses)
        print(f"fly clip (1500 frames, labeled instances, identities removed), {method:8s}: "
              f"{1500 / t:7.0f} frames/s  {s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--memory-only", action="store_true")
    args = ap.parse_args()
    n = args.frames
    if args.memory_only:
        report_memory(n)
        return
    gt = thirteen_parts(n)
    det = noisy_assemblies(gt, noise_px=1.0, keypoint_dropout=0.05, animal_dropout=0.01,
                           false_positives=0.05, seed=2)
    print(f"{n} frames, 2 animals x 13 bodyparts, one core "
          f"(OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})")
    for method in ("ellipse", "box", "skeleton"):
        r = run(n, method, det)
        total = r["track"] + r["stitch"]
        n_sw, cover = switches(r["res"].poses.xy, gt.xy)
        with tempfile.TemporaryDirectory() as tmp:
            t_files, _ = best_of(lambda r=r, tmp=tmp: (
                write_tracklets_pickle(Path(tmp) / "v_el.pickle", r["tl"], "s", n),
                write_tracks(r["res"].poses, Path(tmp) / "v_el.h5", backup=False)), 1)
        print(f"  {method:8s} tracking {n / r['track']:8.0f} fr/s  stitching "
              f"{n / r['stitch']:8.0f} fr/s  together {n / total:7.0f} fr/s "
              f"= {n / total / GOAL_FPS:5.1f}x the 1000 fr/s goal  (files {n / t_files:6.0f} "
              f"fr/s; {len(r['res'].table)} tracklets; switches {n_sw}; coverage {cover:.3f})")
    report_memory(n)
    fly_clip()


def report_memory(n: int) -> None:
    small, big = memory(n // 6), memory(n)
    for name, i in (("in memory (track_and_stitch)", 0), ("streamed (track_video + files)", 1)):
        print(f"  peak traced memory, {name}: {small[i]:.1f} MiB for {n // 6} frames, "
              f"{big[i]:.1f} MiB for {n} frames "
              f"({(big[i] - small[i]) / (n - n // 6) * 2**20:.0f} bytes per extra frame)")


if __name__ == "__main__":
    main()
