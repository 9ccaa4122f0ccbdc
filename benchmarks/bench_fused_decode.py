"""Benchmark: cost of scoremap decoding fused into the network's jitted function.

Run: ``.venv/bin/python benchmarks/bench_fused_decode.py [--net-type resnet18]
[--batch-size 8] [--height 480 --width 640] [--repeats 7]``.

Times, on the same uint8 batch and in one run, two jitted functions built from the same
model by :class:`markerless.analysis.inference.FusedPredictor`:

* network alone: uint8 -> normalise -> network -> (score logits, locref) on the device;
* fused: the same plus ``decode_logits`` (argmax + locref + mapping to frame pixels) ->
  ``(B, K, 3)`` coordinates.

Both are compiled before timing; calls alternate (network, fused, network, ...) so machine
load hits both alike; each call is waited for with ``block_until_ready`` (no host transfer
in either). Wall time of the fastest calls (as ``timeit`` advises: slower calls measure
machine load) and, on a CPU backend, the process CPU time per call (all XLA threads; what
the work costs, robust to other processes on a shared machine) are printed. The verdict uses
CPU time on a CPU backend and the fastest wall time on an accelerator.
Goal: fused / network < 1.05.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from markerless.analysis.inference import FusedPredictor, Geometry  # noqa: E402
from markerless.model import ModelConfig, build_model  # noqa: E402

GOAL = 1.05


def _timed(fn, x) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    t, c = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn(x))
    return time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net-type", default="resnet18")
    ap.add_argument("--keypoints", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    cfg = ModelConfig(net_type=args.net_type, num_keypoints=args.keypoints, pretrained=False)
    model = build_model(cfg, nnx.Rngs(0))
    geom = Geometry(frame_hw=(args.height, args.width), stride=cfg.stride, net_type=args.net_type)
    pred = FusedPredictor(model, geom)
    x = jax.device_put(np.random.default_rng(0).integers(
        0, 256, (args.batch_size, args.height, args.width, 3), dtype=np.uint8))
    compile_net, compile_fused = _timed(pred.network, x)[0], _timed(pred, x)[0]

    net_t, fused_t = [], []
    for _ in range(args.repeats):
        net_t.append(_timed(pred.network, x))
        fused_t.append(_timed(pred, x))
    wall = {"network alone ": [t for t, _ in net_t], "fused + decode": [t for t, _ in fused_t]}
    cpu = {"network alone ": [c for _, c in net_t], "fused + decode": [c for _, c in fused_t]}
    on_cpu = jax.default_backend() == "cpu"
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
          f"{args.net_type}, batch {args.batch_size} x {args.height}x{args.width}, "
          f"{args.keypoints} keypoints, {args.repeats} interleaved repeats")
    print(f"first call (compile + run): network {compile_net:.2f} s, fused {compile_fused:.2f} s")
    for name, times in wall.items():
        med, best = statistics.median(times), min(times)
        print(f"{name}: wall min {best * 1e3:8.1f} ms/batch ({args.batch_size / best:6.1f} fps)"
              f", median {med * 1e3:.1f}, max {max(times) * 1e3:.1f}"
              + (f"; CPU median {statistics.median(cpu[name]) * 1e3:.1f} ms" if on_cpu else ""))
    wall_ratio = min(wall["fused + decode"]) / min(wall["network alone "])
    cpu_ratio = statistics.median(cpu["fused + decode"]) / statistics.median(cpu["network alone "])
    ratio = cpu_ratio if on_cpu else wall_ratio
    ok = ratio < GOAL
    print(f"ratio fused / network: wall (fastest calls) {wall_ratio:.3f}"
          + (f", CPU time (medians) {cpu_ratio:.3f}" if on_cpu else "")
          + f"; verdict on {'CPU time' if on_cpu else 'wall time'} {ratio:.3f} "
          f"(goal < {GOAL}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
