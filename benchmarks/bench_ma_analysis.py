"""Benchmark: multi-animal analysis speed against single-animal, same backbone and input size.

Run: ``.venv/bin/python benchmarks/bench_ma_analysis.py [--net-type efficientnet_lite0]
[--size 512] [--frames 256] [--batch-size 8] [--edges 25] [--identity]``
(on a GPU add ``--size 1024``; ``JAX_PLATFORMS`` is left as set).

Goal: multi-animal fps >= 0.7 x single-animal fps. Both models have the same backbone and
head width, 13 bodyparts (the fly skeleton), untrained weights (speed only):

* single: `HeatmapModel` + argmax decoding (`FusedPredictor`, today's analysis function);
* multi: `MultiAnimalModel` with 78 trained PAF edges of which ``--edges`` are assembled,
  peak NMS, locref, PAF line integrals (and identity with ``--identity``) in the same jit
  (`MultiAnimalPredictor`).

Measured twice: the compiled functions alone on frames in memory (alternating, best of
three), and end to end on a synthetic ``--size``x``--size`` video: ``analyze_video_file``
against the multi-animal ``iter_analyze_video_ma`` (decoding thread, batches, device
function, host assembly in its worker thread, per-chunk saves, DLC pickles).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from markerless.analysis.inference import FusedPredictor, Geometry  # noqa: E402
from markerless.analysis.ma_inference import MultiAnimalPredictor  # noqa: E402
from markerless.assembly.graph import complete_graph  # noqa: E402
from markerless.assembly.spec import MultiAnimalSpec  # noqa: E402
from markerless.decoding.ma_peaks import PeakConfig  # noqa: E402
from markerless.model import ModelConfig, build_model  # noqa: E402

GOAL = 0.7
NAMES = ["head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4", "midlegL4",
         "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR"]


def models(net: str, identity: bool):
    k = len(NAMES)
    single = build_model(ModelConfig(net_type=net, num_keypoints=k, pretrained=False),
                         nnx.Rngs(0))
    multi = build_model(ModelConfig(net_type=net, num_keypoints=k, pretrained=False,
                                    multianimal=True, num_pafs=78,
                                    num_identities=2 if identity else 0), nnx.Rngs(0))
    return single, multi


def rate(fn, frames, n_batches: int) -> float:
    jax.block_until_ready(fn(frames))  # compile + warm up
    t = time.perf_counter()
    outs = [fn(frames) for _ in range(n_batches)]
    jax.block_until_ready(outs)
    return n_batches * len(frames) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net-type", default="efficientnet_lite0")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--edges", type=int, default=25)
    ap.add_argument("--identity", action="store_true")
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--device-only", action="store_true",
                    help="time the compiled functions only (no video, no PyAV needed)")
    args = ap.parse_args()
    single, multi = models(args.net_type, args.identity)
    geom = Geometry(frame_hw=(args.size, args.size), stride=8, net_type=args.net_type)
    edges = complete_graph(len(NAMES))
    chosen = list(np.random.default_rng(0).permutation(78)[: args.edges])
    pcfg = PeakConfig(max_peaks=4, edges=tuple(edges[e] for e in chosen),
                      edge_channels=tuple(int(e) for e in chosen), stride=8)
    sp, mp = FusedPredictor(single, geom), MultiAnimalPredictor(multi, geom, pcfg)
    frames = np.random.default_rng(0).integers(0, 255, (args.batch_size, args.size, args.size, 3),
                                               dtype=np.uint8)
    print(f"backend {jax.default_backend()}, {args.net_type}, {args.size}x{args.size}, batch "
          f"{args.batch_size}, 13 bodyparts, {args.edges}/78 edges assembled"
          f"{', identity' if args.identity else ''}")
    r_single, r_multi = [], []
    for _ in range(3):  # alternate, so both see the same machine load
        r_single.append(rate(sp, frames, args.batches))
        r_multi.append(rate(mp, frames, args.batches))
    s, m = max(r_single), max(r_multi)
    print(f"device function: single {s:.1f} fps, multi {m:.1f} fps, ratio {m / s:.2f}")
    if args.device_only:
        print(f"goal: multi >= {GOAL} x single: {'met' if m / s >= GOAL else 'NOT met'}")
        return 0 if m / s >= GOAL else 1

    from markerless.analysis import analyze_video_file
    from markerless.analysis.ma_analyze import iter_analyze_video_ma
    from markerless.synthetic import SyntheticConfig, write_clip

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        write_clip(video, SyntheticConfig(height=args.size, width=args.size,
                                          n_frames=args.frames, n_animals=2, seed=1), gop=64)
        info_s = {"net_type": args.net_type, "stride": 8, "bodyparts": NAMES,
                  "scorer": "DLC_single"}
        spec = MultiAnimalSpec(("a", "b"), tuple(NAMES), (), edges, tuple(chosen),
                               args.identity, "pruned")
        info_m = {"net_type": args.net_type, "stride": 8, "bodyparts": NAMES,
                  "scorer": "DLC_multi", "meta": {"multianimal": spec.to_meta()}}
        ends = {"single": [], "multi": []}
        for rep in range(2):
            t = time.perf_counter()
            analyze_video_file(video, single, info_s, batch_size=args.batch_size,
                               destfolder=Path(tmp) / f"s{rep}")
            ends["single"].append(args.frames / (time.perf_counter() - t))
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in iter_analyze_video_ma(video, multi, info_m, batch_size=args.batch_size,
                                               destfolder=Path(tmp) / f"m{rep}"):
                    pass
            ends["multi"].append(args.frames / (time.perf_counter() - t))
    es, em = max(ends["single"]), max(ends["multi"])
    print(f"end to end ({args.frames} frames, best of 2 runs, the 2nd compiled already): "
          f"single {es:.1f} fps, multi {em:.1f} fps, ratio {em / es:.2f}")
    ok = m / s >= GOAL and em / es >= GOAL
    print(f"goal: multi >= {GOAL} x single: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
