"""Benchmark: proofreading a long multi-animal video's tracks (what the Tracks dock runs).

Run: ``.venv/bin/python benchmarks/bench_proofread.py [--frames 100000] [--animals 3]``.

* Tracks: a synthetic shared-arena clip's ground truth (animals meet and cross), 13
  bodyparts per animal (the 9 synthetic keypoints and 4 between them), likelihoods
  uniform in [0.3, 1], 2 % of keypoints missing.
* Times are the best of 3 (the machine is shared), one core: a swap from the middle to the
  end (:func:`swap_identities`, a copy and in place), all event kinds at once
  (:func:`find_track_events`), and a jump (:meth:`TrackEvents.next_after` from every 1000th
  frame, the events already found); saving the ``_el.h5`` (no .csv) and reading it back.
* With ``--layers`` (needs a display, Xvfb or ``QT_QPA_PLATFORM=offscreen``): opening the
  tracks as the Tracks dock's napari layers, and showing a swap: the points relabelled in
  place (:func:`~markerless.napari.tracks.layers.swap_points`) and the per-animal
  trajectories rebuilt, against rebuilding both layers (:func:`refresh_prediction_layers`).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--animals", type=int, default=3)
    ap.add_argument("--layers", action="store_true", help="also time the napari layers")
    args = ap.parse_args()

    from markerless.poses import Poses
    from markerless.synthetic import SyntheticConfig, ground_truth
    from markerless.tracking.edit import swap_identities
    from markerless.tracking.events import find_track_events
    from markerless.tracking.proofread import read_tracks_file, save_tracks

    gt = ground_truth(SyntheticConfig(n_frames=args.frames, n_animals=args.animals,
                                      arena="shared", bodyparts=9, seed=3))
    mids = (gt.xy[:, :, :4] + gt.xy[:, :, 1:5]) / 2  # 9 keypoints + 4 between them
    poses = Poses(np.concatenate([gt.xy, mids], 2), gt.bodyparts + [f"mid{i}" for i in range(4)],
                  gt.individuals)
    rng = np.random.default_rng(0)
    poses.likelihood = rng.uniform(0.3, 1.0, poses.xy.shape[:3])
    poses.xy[rng.random(poses.xy.shape[:3]) < 0.02] = np.nan
    n = poses.n_frames
    print(f"{n} frames x {args.animals} animals x 13 bodyparts")
    mid = n // 2
    t_copy = _best(lambda: swap_identities(poses, 0, 1, mid))
    t_inplace = _best(lambda: swap_identities(poses, 0, 1, mid, inplace=True))
    print(f"swap from frame {mid} on: {t_copy * 1e3:.1f} ms (copy), {t_inplace * 1e3:.1f} ms "
          f"(in place) = {n / 2 / t_inplace / 1e6:.1f} M frames/s")
    t_events = _best(lambda: find_track_events(poses, distance=0.5, pcutoff=0.6))
    events = find_track_events(poses, distance=0.5, pcutoff=0.6)
    counts = ", ".join(f"{k} {len(e.starts())} starts / {e.n_frames} frames"
                       for k, e in events.items())
    print(f"all events: {t_events * 1e3:.0f} ms = {n / t_events / 1e6:.2f} M frames/s ({counts})")
    probes = range(0, n, 1000)
    t_jump = _best(lambda: [events["close"].next_after(f) for f in probes])
    print(f"jump (events found): {t_jump / len(probes) * 1e6:.0f} us")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "videoDLC_bench_el.h5"
        poses.scorer = "DLC_bench"
        t_save = _best(lambda: save_tracks(poses, path, save_as_csv=False), 2)
        t_read = _best(lambda: read_tracks_file(path), 2)
        print(f"save _el.h5 (+ .bak): {t_save:.2f} s; read: {t_read:.2f} s")
        if args.layers:
            _layers(poses, path)


def _layers(poses, path: Path) -> None:
    import napari  # noqa: TID251 - this part times the napari layers themselves
    from markerless.napari.layers.predictions import (
        add_prediction_layers,
        refresh_prediction_layers,
    )
    from markerless.napari.tracks.layers import swap_points
    from markerless.tracking.edit import swap_identities

    viewer = napari.Viewer(show=False)
    t = time.perf_counter()
    layers = add_prediction_layers(viewer, None, path, 0.6, poses=poses, color_by="individual")
    t_open = time.perf_counter() - t
    mid = poses.n_frames // 2
    a, b = poses.individuals[:2]

    def shown_swap() -> None:
        swap_identities(poses, a, b, mid, inplace=True)
        swap_points(layers.points, a, b, mid)
        refresh_prediction_layers(layers, poses, points=False)

    t_swap = _best(shown_swap)
    t_full = _best(lambda: refresh_prediction_layers(layers, poses), 2)
    print(f"napari ({len(layers.points.data)} points): open {t_open:.2f} s; a swap shown "
          f"{t_swap:.2f} s (rebuilding both layers instead: {t_full:.2f} s)")
    viewer.close()


if __name__ == "__main__":
    main()
