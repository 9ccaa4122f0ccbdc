"""Benchmark: cost of a multi-animal training step against a single-animal one.

Run: ``.venv/bin/python benchmarks/bench_ma_train_step.py [--net-type efficientnet_lite0]
[--crop 192] [--batch-size 8] [--steps 10]`` (``JAX_PLATFORMS`` as set: CPU or GPU).

Same backbone, crop and batch on 2-animal synthetic frames (13 keypoints): the single-animal
step (`make_train_step`, one animal's keypoints), and the multi-animal step
(`make_ma_train_step`) with the 12-edge skeleton graph and with DLC 3's complete 78-edge
graph, with and without the identity head. Prints compile time and ms per step (best of
three runs of ``--steps`` steps, alternating so all see the same machine load).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from markerless.assembly.graph import complete_graph  # noqa: E402
from markerless.model import ModelConfig, build_model  # noqa: E402
from markerless.synthetic import SyntheticConfig, generate  # noqa: E402
from markerless.training.ma_targets import MultiLayout  # noqa: E402
from markerless.training.ma_train_step import make_ma_train_step  # noqa: E402
from markerless.training.recipes import get_recipe  # noqa: E402
from markerless.training.train_step import make_optimizer, make_train_step  # noqa: E402

SKELETON = [(0, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9), (1, 10),
            (0, 11), (0, 12)]


def data(size: int):
    frames, poses = generate(SyntheticConfig(height=size, width=size, n_frames=32, n_animals=2,
                                             bodyparts=9, seed=0))
    xy = np.concatenate([poses.xy, poses.xy[:, :, :4] + 3.0], axis=2)  # 13 keypoints
    return jnp.asarray(frames), xy.astype(np.float32)


def step_fn(kind: str, tc, images, xy):
    n, i, k, _ = xy.shape
    multi = kind != "single"
    edges = () if not multi else tuple(SKELETON if "skeleton" in kind else complete_graph(k))
    ident = "identity" in kind
    cfg = ModelConfig(net_type=tc.net_type, num_keypoints=k, pretrained=False,
                      multianimal=multi, num_pafs=len(edges), num_identities=i if ident else 0)
    model = build_model(cfg, nnx.Rngs(0))
    model.train()
    opt = nnx.Optimizer(model, make_optimizer(tc), wrt=nnx.Param)
    graphdef, state = nnx.split((model, opt))
    if multi:
        layout = MultiLayout(i, k, 0, edges, ident)
        fn = make_ma_train_step(graphdef, tc, n, images.shape[1:3], layout)
        kp = jnp.asarray(xy.reshape(n, i * k, 2))
    else:
        fn = make_train_step(graphdef, tc, n, images.shape[1:3], ())
        kp = jnp.asarray(xy[:, 0])
    return fn, state, kp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net-type", default="efficientnet_lite0")
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    tc = get_recipe("default", net_type=args.net_type, pretrained=False,
                    crop_size=(args.crop, args.crop), batch_size=args.batch_size)
    images, xy = data(args.size)
    kinds = ["single", "multi skeleton", "multi complete", "multi complete identity"]
    runs, compile_s = {}, {}
    for kind in kinds:
        fn, state, kp = step_fn(kind, tc, images, xy)
        key = jax.random.key(0)
        t = time.perf_counter()
        state, terms = fn(state, images, kp, key, 0)
        jax.block_until_ready(terms)
        compile_s[kind] = time.perf_counter() - t
        runs[kind] = [fn, state, kp]
    best = {k: float("inf") for k in kinds}
    for _ in range(3):
        for kind in kinds:
            fn, state, kp = runs[kind]
            t = time.perf_counter()
            for s in range(args.steps):
                state, terms = fn(state, images, kp, jax.random.key(0), s + 1)
            jax.block_until_ready(terms)
            runs[kind][1] = state
            best[kind] = min(best[kind], (time.perf_counter() - t) / args.steps)
    print(f"backend {jax.default_backend()}, {args.net_type}, crop {args.crop}, batch "
          f"{args.batch_size}, 13 keypoints, 2 animals")
    print(f"{'step':<26} {'compile s':>9} {'ms/step':>8} {'x single':>9}")
    for kind in kinds:
        print(f"{kind:<26} {compile_s[kind]:>9.1f} {1e3 * best[kind]:>8.1f} "
              f"{best[kind] / best['single']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
