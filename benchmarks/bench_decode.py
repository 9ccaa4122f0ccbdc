"""Benchmark: jitted scoremap decoding vs DeepLabCut's NumPy decode, and vs memory bandwidth.

Run: ``JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_decode.py`` (about 30 s).

Everything is measured in this one run on the same scoremaps: batch 64 of 60x80 maps (a
480x640 frame at stride 8) with K=4 and K=20 keypoints. Timings are medians of repeats after
warm-up, with ``block_until_ready`` on the JAX side; repeats of the two decoders are
interleaved so machine load hits both alike.

* "hot": the same batch every repeat (it stays in CPU cache, as when decode directly follows
  the network). "cold": repeats cycle through distinct batches totalling >= 1 GiB (several
  times the L3 cache), so the maps come from DRAM; this is the number compared with memory
  bandwidth. Jitted calls run in groups of 8 back to back, as batches do in a video loop,
  each call timed and blocked on; the median call is reported.
* DLC baselines (tests/decoding/dlc_reference.py): "DLC" is getposeNP as DeepLabCut runs it
  (scales the whole locref array in place, then a Python loop over frames x keypoints);
  "DLC-lean" skips the full-array scaling (a faster NumPy variant, for information). A fresh
  locref copy is made (untimed) before each DLC call; it leaves locref in cache, favouring DLC.
* Memory bandwidth: ``np.copyto`` of 1 GiB, counted as bytes read + written (STREAM "copy"
  convention), sampled between the decode repeats (median), so a busy machine slows both
  alike. Decoder throughput counts the scoremap bytes it must read.
* "read floor": a jitted max over the same maps and nothing else (the fastest single read
  pass found on XLA CPU: 16-float lanes, one long reduction per frame), timed the same way.
  No decoder that reads every byte can beat it, so it shows how much of the gap to the
  bandwidth goal is the decoder and how much is this machine's per-call cost of a pass.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "decoding"))
from dlc_reference import dlc_decode  # noqa: E402

from markerless.decoding import decode_scoremaps  # noqa: E402

BATCH, H, W, STRIDE = 64, 60, 80, 8
COLD_BYTES = 1024 * 2**20  # well above the largest L3 seen here (260 MiB)
GOAL_SPEEDUP = 2.0
GOAL_BW_FRACTION = 0.5


class CopyBandwidth:
    """GB/s of a 1 GiB NumPy copy, counting read + write bytes; sampled repeatedly so that
    bandwidth and decoding are measured under the same machine load."""

    def __init__(self, nbytes: int = 2**30) -> None:
        self.src = np.ones(nbytes // 4, np.float32)
        self.dst = np.empty_like(self.src)
        np.copyto(self.dst, self.src)  # fault in pages
        self.samples: list[float] = []

    def sample(self) -> float:
        t0 = time.perf_counter()
        np.copyto(self.dst, self.src)
        self.samples.append(2 * self.src.nbytes / (time.perf_counter() - t0) / 1e9)
        return self.samples[-1]

    def median(self, since: int = 0) -> float:
        return float(np.median(self.samples[since:]))


def bench_k(k: int, rng: np.random.Generator, bw: CopyBandwidth,
            repeats_jax: int = 8, repeats_np: int = 15):
    shape = (BATCH, H, W, k)
    n_cold = max(2, -(-COLD_BYTES // (np.prod(shape) * 4)))
    maps_dev = [jnp.asarray(rng.random(shape, dtype=np.float32)) for _ in range(n_cold)]
    maps = [np.asarray(m) for m in maps_dev]  # zero-copy views on CPU: one copy in memory
    locref = rng.normal(size=(*shape, 2)).astype(np.float32)
    work = np.empty_like(locref)
    locref_dev = jnp.asarray(locref)

    # Warm-up (compile) and correctness on the first batch.
    ours = np.asarray(decode_scoremaps(maps_dev[0], locref_dev, STRIDE))
    ref = dlc_decode(maps[0], locref, STRIDE)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-4)

    lanes = 16 if 16 % k == 0 else k
    read_floor = jax.jit(lambda s: s.reshape(BATCH, -1, lanes).max(axis=1))
    read_floor(maps_dev[0]).block_until_ready()

    def time_jax(i: int, fn=lambda m: decode_scoremaps(m, locref_dev, STRIDE)) -> float:
        t0 = time.perf_counter()
        fn(maps_dev[i]).block_until_ready()
        return time.perf_counter() - t0

    def time_dlc(i: int, lean: bool) -> float:
        np.copyto(work, locref)  # DLC scales its fresh network output in place
        t0 = time.perf_counter()
        dlc_decode(maps[i], work, STRIDE, scale_full_locref=not lean, inplace=True)
        return time.perf_counter() - t0

    out = {}
    for mode in ("hot", "cold"):
        pick = (lambda r: 0) if mode == "hot" else (lambda r: r % n_cold)
        t_jax, t_dlc, t_lean, t_floor = [], [], [], []
        for r in range(repeats_np):
            t_dlc.append(time_dlc(pick(r), lean=False))
            t_lean.append(time_dlc(pick(r + 1), lean=True))
            # Jitted calls run back to back, as batches do in a video loop (a lone call after
            # the NumPy work pays thread wake-up on top of the decode); each call is timed.
            t_jax.extend(time_jax(pick(r * repeats_jax + j)) for j in range(repeats_jax))
            t_floor.extend(time_jax(pick(r * repeats_jax + j), read_floor)
                           for j in range(repeats_jax))
            if r % 3 == 0:
                bw.sample()
        out[mode] = tuple(float(np.median(t)) for t in (t_jax, t_dlc, t_lean, t_floor))
    return out, maps[0].nbytes, n_cold


def main() -> int:
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; "
          f"batch {BATCH} x {H}x{W} maps, stride {STRIDE}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (other processes skew all numbers)")
    bw_meter = CopyBandwidth()
    for _ in range(5):
        bw_meter.sample()
    print(f"memory bandwidth (1 GiB np.copyto, read+write), before: {bw_meter.median():.1f} GB/s")
    rng = np.random.default_rng(0)
    ok = True
    for k in (4, 20):
        first = len(bw_meter.samples)
        res, nbytes, n_cold = bench_k(k, rng, bw_meter)
        bw, samples = bw_meter.median(first), bw_meter.samples[first:]
        print(f"\nK={k}: scoremaps {nbytes / 1e6:.1f} MB per batch; cold set {n_cold} batches; "
              f"copy bandwidth sampled in between: median {bw:.1f} GB/s "
              f"(min {min(samples):.1f}, max {max(samples):.1f})")
        for mode, (tj, td, tl, tf) in res.items():
            gbs = nbytes / tj / 1e9
            print(f"  {mode:4s} jitted {tj * 1e3:7.3f} ms | DLC {td * 1e3:7.3f} ms "
                  f"(x{td / tj:5.1f}) | DLC-lean {tl * 1e3:7.3f} ms (x{tl / tj:5.1f}) | "
                  f"{gbs:5.1f} GB/s = {gbs / bw:4.0%} of copy bandwidth")
            print(f"       read floor {tf * 1e3:7.3f} ms = {nbytes / tf / 1e9 / bw:4.0%} of copy "
                  f"bandwidth; the decoder takes {tj / tf:4.2f}x the floor")
        speed_ok = all(td / tj >= GOAL_SPEEDUP for tj, td, _, _ in res.values())
        tj_cold = res["cold"][0]
        bw_frac = nbytes / tj_cold / 1e9 / bw
        bw_ok = bw_frac >= GOAL_BW_FRACTION
        print(f"  goal jitted >= {GOAL_SPEEDUP:.0f}x faster than DLC (hot and cold): "
              f"{'PASS' if speed_ok else 'FAIL'}")
        print(f"  goal cold throughput >= {GOAL_BW_FRACTION:.0%} of memory bandwidth: "
              f"{bw_frac:.0%} {'PASS' if bw_ok else 'FAIL'}")
        ok &= speed_ok and bw_ok
    print(f"\noverall: {'PASS' if ok else 'FAIL'} (load average now {os.getloadavg()[0]:.1f})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
