"""Forward and train-step throughput of each backbone (CPU by default).

Usage::

    JAX_PLATFORMS=cpu python benchmarks/bench_model.py [--batch 8] [--size 256]
        [--nets resnet18,resnet_tiny,efficientnet_lite0,mobilenet_v2] [--repeats 3]

Prints one row per backbone: images/s for inference (jitted forward) and for
training (jitted forward + backward + Adam update, frozen BatchNorm, DLC-style
loss: sigmoid cross-entropy on score maps + Huber on location refinement),
plus each rate relative to the first net in the run. Weights are random
(``pretrained=False``): speed does not depend on them. Compile time is shown
separately and excluded from the rates.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

from markerless.model import ModelConfig, build_model, layers, normalize_images  # noqa: E402

NUM_KEYPOINTS = 4


def _loss(model, x, scores_t, locref_t):
    scores, locref = model(x)
    ce = optax.sigmoid_binary_cross_entropy(scores, scores_t).mean()
    hub = optax.huber_loss(locref, locref_t).mean()
    return ce + 0.05 * hub


@nnx.jit
def _train_step(model, optimizer, x, scores_t, locref_t):
    loss, grads = nnx.value_and_grad(_loss)(model, x, scores_t, locref_t)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def _forward(model, x):
    return model(x)


def _time(fn, repeats: int) -> tuple[float, float]:
    """(first-call seconds incl. compile, best of ``repeats`` later calls)."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return first, best


def bench(net: str, batch: int, size: int, stride: int, repeats: int) -> dict[str, float]:
    cfg = ModelConfig(net_type=net, num_keypoints=NUM_KEYPOINTS, stride=stride, pretrained=False)
    model = build_model(cfg, nnx.Rngs(0))
    rng = np.random.default_rng(0)
    x = normalize_images(rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8), net)
    h, w = model.output_shape(size, size)
    scores_t = jnp.asarray(rng.random((batch, h, w, NUM_KEYPOINTS)) > 0.99, jnp.float32)
    locref_t = jnp.asarray(rng.normal(size=(batch, h, w, NUM_KEYPOINTS, 2)), jnp.float32)
    n_params = sum(v.size for v in jax.tree.leaves(nnx.state(model, nnx.Param)))

    model.eval()
    fwd_compile, fwd = _time(lambda: _forward(model, x), repeats)
    model.train()
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    train_compile, step = _time(
        lambda: _train_step(model, optimizer, x, scores_t, locref_t), repeats
    )
    return {
        "params_m": n_params / 1e6,
        "fwd": batch / fwd,
        "train": batch / step,
        "compile": fwd_compile - fwd + train_compile - step,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", default="resnet18,resnet_tiny,efficientnet_lite0,mobilenet_v2")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--native-depthwise",
        action="store_true",
        help="XLA grouped convolutions instead of shifted multiply-adds",
    )
    args = parser.parse_args()
    layers.SHIFT_DEPTHWISE_ON_CPU = not args.native_depthwise

    print(
        f"backend={jax.default_backend()} devices={jax.device_count()} cpus={os.cpu_count()} "
        f"batch={args.batch} size={args.size}x{args.size} stride={args.stride} "
        f"depthwise={'native' if args.native_depthwise else 'shift'} "
        f"load avg={os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'net':<20}{'params(M)':>10}{'fwd img/s':>11}{'train img/s':>13}"
        f"{'fwd x':>8}{'train x':>9}{'compile s':>11}"
    )
    print(header)
    print("-" * len(header))
    ref = None
    for net in args.nets.split(","):
        r = bench(net, args.batch, args.size, args.stride, args.repeats)
        ref = ref or r
        print(
            f"{net:<20}{r['params_m']:>10.2f}{r['fwd']:>11.1f}{r['train']:>13.1f}"
            f"{r['fwd'] / ref['fwd']:>8.2f}{r['train'] / ref['train']:>9.2f}"
            f"{r['compile']:>11.1f}",
            flush=True,
        )
    print(f"load avg at end={os.getloadavg()[0]:.1f} (other processes slow every rate alike)")


if __name__ == "__main__":
    main()
