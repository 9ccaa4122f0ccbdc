"""Benchmark: training throughput (images/s) of the full jitted train step per backbone.

Run: ``JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_train_throughput.py [--steps 20]
[--nets resnet18,efficientnet_lite0] [--crop 256] [--batch 8]`` (a few minutes on 2 cores).

What is timed is `Trainer.train_step`: batch sampling from frames held in memory, on-device
augmentation (the default recipe's preset), target generation, forward + backward pass and the
AdamW update, all one XLA program. Frames are synthetic 480x640 (the size of DeepLabCut's
openfield example). Compile time is reported separately; the rate is the median of
``--repeats`` timed blocks of ``--steps`` steps each, after one warm-up block.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))
from project_factory import make_project  # noqa: E402

from markerless.model import NET_TYPES  # noqa: E402
from markerless.training.dataset import create_training_dataset  # noqa: E402
from markerless.training.recipes import get_recipe  # noqa: E402
from markerless.training.trainer import Trainer  # noqa: E402

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main() -> None:
    default = get_recipe("default")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=",".join(n for n in NET_TYPES if n != "resnet_tiny"))
    parser.add_argument("--crop", type=int, default=default.crop_size[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs; "
          f"crop {args.crop}x{args.crop}, batch {args.batch}, augment {default.augment!r}")
    with tempfile.TemporaryDirectory() as tmp:
        config = make_project(tmp, n_frames=24, height=480, width=640)
        create_training_dataset(config)
        rows = []
        for net in args.nets.split(","):
            t0 = time.perf_counter()
            trainer = Trainer(config, net_type=net, pretrained=False, batch_size=args.batch,
                              crop_size=(args.crop, args.crop), resume=False)
            t_build = time.perf_counter() - t0
            t0 = time.perf_counter()
            jax.block_until_ready(trainer.train_step())
            t_compile = time.perf_counter() - t0
            rates, cpu_rates = [], []
            for r in range(args.repeats + 1):
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(args.steps):
                    out = trainer.train_step()
                jax.block_until_ready(out)
                if r:  # the first block is warm-up
                    rates.append(args.steps * args.batch / (time.perf_counter() - t0))
                    cpu_rates.append(args.steps * args.batch * CORES / (time.process_time() - c0))
            rows.append((net, t_build, t_compile, float(np.median(rates)), min(rates), max(rates),
                         float(np.median(cpu_rates))))
            print(f"  {net}: {rows[-1][3]:.1f} images/s", flush=True)
    print()
    print(f"{'backbone':<20}{'build s':>9}{'compile s':>11}{'images/s':>10}{'min':>8}{'max':>8}"
          f"{'s/step':>8}{'cpu img/s':>11}")
    for net, tb, tc, med, lo, hi, cpu in rows:
        print(f"{net:<20}{tb:>9.1f}{tc:>11.1f}{med:>10.1f}{lo:>8.1f}{hi:>8.1f}"
              f"{args.batch / med:>8.2f}{cpu:>11.1f}")
    print(f"cpu img/s = images per (process CPU seconds / {CORES} cores): the rate on a machine "
          "not shared with other jobs, assuming all cores busy")
    base = rows[0]
    for row in rows[1:]:
        print(f"{row[0]} / {base[0]} throughput ratio: {row[3] / base[3]:.2f} "
              f"(cpu-time based {row[6] / base[6]:.2f})")


if __name__ == "__main__":
    main()
