"""Benchmark: host-side assembly speed on one core (goal >= 1000 frames/s, 2 animals x 13).

Run: ``.venv/bin/python benchmarks/bench_assembly.py [--frames 4096] [--animals 2]``

Input is what the device returns for a chunk (`markerless.decoding.ma_peaks`): peaks
``(F, K, P, 3)`` and affinities ``(F, E, P, P)``, generated here for ``--animals`` flies of
13 bodyparts that wander and cross (so ~5% of frames have a missing bodypart, a spurious
peak or a cross-animal affinity that beats a true one). Three graphs: the 12-edge SLEAP fly
skeleton, a 30-edge pruned graph and DLC 3's complete 78-edge graph. For each, the
vectorised assembler (`markerless.assembly.assemble`) and DeepLabCut's step-by-step
procedure (the same function with ``vectorized=False``, every frame through
`frame_builder`) are timed on the same arrays, which must give identical assemblies.
Threads are pinned to one (``OMP_NUM_THREADS`` etc. = 1, set before NumPy loads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

from markerless.assembly.assembler import AssemblerConfig, assemble  # noqa: E402
from markerless.assembly.graph import complete_graph  # noqa: E402

GOAL_FPS = 1000.0
K = 13
FLY_SKELETON = [(1, 0), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9),
                (1, 10), (0, 11), (0, 12)]


def scene(n_frames: int, n_animals: int, edges: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = n_animals + 2
    t = np.arange(n_frames)[:, None]
    centre = 400 + 150 * np.stack([np.sin(t / 40 + 2 * np.arange(n_animals)),
                                   np.cos(t / 55 + np.arange(n_animals))], -1)  # (F, A, 2)
    body = rng.normal(0, 25, (n_animals, K, 2))
    xy = centre[:, :, None] + body[None] + rng.normal(0, 1.5, (n_frames, n_animals, K, 2))
    peaks = np.full((n_frames, K, p, 3), np.nan, np.float32)
    peaks[..., 2] = 0
    score = rng.uniform(0.6, 1.0, (n_frames, n_animals, K))
    missing = rng.uniform(size=score.shape) < 0.004
    score[missing] = 0.0
    order = np.argsort(-score, axis=1)  # slots best first, as the device sends them
    owner = np.full((n_frames, K, p), -1)
    owner[:, :, :n_animals] = np.moveaxis(order, 1, 2)
    fi, ki = np.arange(n_frames)[:, None, None], np.arange(K)[None, :, None]
    sl = slice(0, n_animals)
    s_sorted = np.take_along_axis(np.moveaxis(score, 1, 2), owner[:, :, sl], axis=2)
    xy_sorted = np.moveaxis(xy, 1, 2)[fi, ki, owner[:, :, sl]]
    keep = s_sorted > 0
    peaks[:, :, sl, 2] = np.where(keep, s_sorted, 0)
    peaks[:, :, sl, :2] = np.where(keep[..., None], xy_sorted, np.nan)
    owner[:, :, sl] = np.where(keep, owner[:, :, sl], -1)
    spurious = rng.uniform(size=(n_frames, K)) < 0.004  # a weak extra peak
    peaks[spurious, n_animals] = np.c_[rng.uniform(0, 800, (spurious.sum(), 2)),
                                       rng.uniform(0.1, 0.3, spurious.sum())]
    os_, ot = owner[:, edges[:, 0]], owner[:, edges[:, 1]]  # (F, E, P)
    same = (os_[..., :, None] == ot[..., None, :]) & (os_[..., :, None] >= 0)
    aff = np.where(same, rng.uniform(0.6, 1.0, same.shape), rng.uniform(0, 0.2, same.shape))
    swap = rng.uniform(size=same.shape) < 0.002  # a cross-animal pair looks like a limb
    aff = np.where(swap & ~same, 0.95, aff)
    valid = np.isfinite(peaks[..., 0])
    aff = np.where(valid[:, edges[:, 0], :, None] & valid[:, edges[:, 1], None, :], aff, np.nan)
    return peaks, aff.astype(np.float32)


def best_rate(fn, n_frames: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n_frames / best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=4096)
    ap.add_argument("--animals", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=1024, help="frames per assemble() call")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    full = complete_graph(K)
    pruned = sorted(set(FLY_SKELETON) | {full[i] for i in rng.permutation(78)[:18]})
    graphs = {"skeleton (12)": FLY_SKELETON, f"pruned ({len(pruned)})": pruned,
              "complete (78)": full}
    print(f"{args.animals} animals x {K} bodyparts, {args.frames} frames, chunks of "
          f"{args.chunk}, one thread")
    print(f"{'graph':<15} {'vectorised fps':>15} {'DLC steps fps':>14} {'ratio':>6} "
          f"{'slow frames':>12} {'animals/frame':>14}")
    ok = True
    for name, edges in graphs.items():
        e = np.array([tuple(sorted(x)) for x in edges])
        peaks, aff = scene(args.frames, args.animals, e)
        cfg = AssemblerConfig(max_n_individuals=args.animals, n_multibodyparts=K,
                              edges=tuple(map(tuple, e)))
        chunks = [(peaks[s:s + args.chunk], aff[s:s + args.chunk])
                  for s in range(0, args.frames, args.chunk)]
        fast = best_rate(lambda c=cfg, ch=chunks: [assemble(p, a, c) for p, a in ch],
                         args.frames)
        slow = best_rate(lambda c=cfg, ch=chunks: [assemble(p, a, c, vectorized=False)
                                                   for p, a in ch], args.frames, repeats=1)
        a = np.concatenate([assemble(p, q, cfg).data for p, q in chunks])
        b = np.concatenate([assemble(p, q, cfg, vectorized=False).data for p, q in chunks])
        same = np.array_equal(a, b, equal_nan=True)
        n_slow = _slow_frames(peaks, aff, cfg)
        print(f"{name:<15} {fast:>15.0f} {slow:>14.0f} {fast / slow:>6.1f} "
              f"{n_slow / args.frames:>12.1%} "
              f"{(~np.isnan(a[..., 0])).any(-1).sum(-1).mean():>14.2f}"
              f"{'' if same else '  MISMATCH'}")
        ok &= same and fast >= GOAL_FPS
    print(f"goal: >= {GOAL_FPS:.0f} frames/s on one core: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def _slow_frames(peaks, aff, cfg) -> int:
    """Frames that take DLC's step-by-step path inside the vectorised assembler."""
    from markerless.assembly import frame_builder

    calls = []
    original = frame_builder.build_frame

    def spy(*a, **kw):
        calls.append(1)
        return original(*a, **kw)

    import markerless.assembly.assembler as asm

    asm.build_frame = spy
    try:
        assemble(peaks, aff, cfg)
    finally:
        asm.build_frame = original
    return len(calls)


if __name__ == "__main__":
    sys.exit(main())
