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
* Memory: peak traced allocations (tracemalloc) of tracking + stitching for 1x and 6x the
  frames; arrays scale with the video (about 0.5 KB per frame for 2 x 13 keypoints), the
  tracker state does not.
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


def memory(n_frames: int) -> float:
    gt = thirteen_parts(n_frames)
    det = noisy_assemblies(gt, keypoint_dropout=0.05, animal_dropout=0.01,
                           false_positives=0.05, seed=2)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        stitch(make_tracklets(det.assemblies, "ellipse"), 2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


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
    args = ap.parse_args()
    n = args.frames
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
    small, big = memory(n // 6), memory(n)
    print(f"  peak traced memory: {small:.1f} MiB for {n // 6} frames, {big:.1f} MiB for {n} "
          f"frames ({(big - small) / (n - n // 6) * 2**20 / 1024:.2f} KiB per extra frame)")
    fly_clip()


if __name__ == "__main__":
    main()
