"""Benchmark: accuracy where real projects are hard: rare parts, mixed image sizes, few frames.

Run (each part prints its goals with PASS/FAIL; JSON lines with every figure go to stdout):

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_small_data.py --part synthetic
    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_small_data.py --part openfield \
        --minutes 30 --clock cpu
    .venv/bin/python benchmarks/bench_small_data.py --part openfield --steps 1800 \
        --parallel 10          # on a GPU: the 30-minute CPU budget is about 1800 steps

* **synthetic**: (a) a 256x256 clip whose ``tongue`` (`markerless.synthetic.hidden.add_tongue`)
  is out in 30% of the frames (hidden in 70%): 80 labeled frames train the default recipe,
  240 new frames test it. Goals: the tongue's error where visible within 2x the other parts';
  its "visible at pcutoff" precision and recall >= 0.9. (b) a project whose labeled frames
  have two sizes (every other frame cut to 160x128 around the animal): the error on each size.
* **openfield**: DeepLabCut's openfield project, shuffle 1 (95/5 split, 6 test frames):
  the default recipe trained on 10, 20, 40 and 80 of the 110 training frames and on all of
  them, in the same budget; the same test frames for every point. Goal: the error with 20
  frames <= 1.5x the error with all of them. ``--variants`` also trains the candidate recipe
  changes for small sets (stronger augmentation, backbone held still at first) so the curve
  shows which one to choose.

``--steps`` fixes the number of training steps (the same for every run: the budget); without
it a short calibration sets them from ``--minutes`` on ``--clock``. ``--parallel`` runs that
many trainings at once as separate processes (for a GPU with room for several).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MARKERLESS_SHARED_DATA", REPO.parent / "shared" / "data"))
SIZES = (10, 20, 40, 80, None)  # None: all training frames
#: candidate recipe changes for small training sets (chosen by the curve)
VARIANTS = {
    "default": {},
    "strong-aug": {"augment": "default"},
    "frozen-start": {"freeze_backbone_steps": 300},
    "strong-aug+frozen": {"augment": "default", "freeze_backbone_steps": 300},
}


def _emit(record: dict) -> None:
    print("RESULT " + json.dumps(record), flush=True)


# --- synthetic -------------------------------------------------------------------------
def _train_eval(config: Path, steps: int, recipe_overrides: dict, test_frames: np.ndarray,
                sizes: np.ndarray | None = None):
    from markerless.training.dataset import create_training_dataset
    from markerless.training.snapshots import Predictor, load_model_for_inference
    from markerless.training.trainer import train_network

    create_training_dataset(config, recipe="default", **recipe_overrides)
    t0 = time.process_time()
    train_network(config, maxiters=steps, progress=False)
    cpu = time.process_time() - t0
    model, info = load_model_for_inference(config)
    return Predictor(model, info).predict_batches(test_frames, 8, sizes), cpu


def synthetic(steps: int, overrides: dict) -> list[bool]:
    from markerless.evaluation.metrics import visibility_scores
    from markerless.synthetic import SyntheticConfig, generate
    from markerless.synthetic.hidden import add_tongue
    from markerless.synthetic.project import write_labeled_project

    results = []
    frames, poses = generate(SyntheticConfig(height=256, width=256, n_frames=80, seed=11,
                                             speed=2.5))
    frames, poses, _ = add_tongue(frames, poses, 0.3, seed=11)
    test, truth = generate(SyntheticConfig(height=256, width=256, n_frames=240, seed=12,
                                           speed=2.5))
    test, truth, shown = add_tongue(test, truth, 0.3, seed=12)
    with tempfile.TemporaryDirectory() as tmp:
        config = write_labeled_project(tmp, frames, poses, fractions=(1.0,))
        pred, cpu = _train_eval(config, steps, overrides, test)
    err = np.linalg.norm(pred[..., :2] - truth.xy[:, 0], axis=-1)
    k = truth.bodyparts.index("tongue")
    others = [b for b in range(len(truth.bodyparts)) if b != k]
    tongue = float(np.nanmean(err[shown, k]))
    rest = float(np.nanmean(err[:, others]))
    precision, recall = visibility_scores(pred[:, k, 2], shown, 0.6)
    _emit({"part": "synthetic-tongue", "steps": steps, "cpu_s": round(cpu), **overrides,
           "tongue_px": tongue, "other_px": rest, "precision": precision, "recall": recall,
           "per_part_px": {b: float(np.nanmean(err[shown if i == k else slice(None), i]))
                           for i, b in enumerate(truth.bodyparts)}})
    results.append(_report("tongue error where visible <= 2x the other parts'",
                           f"{tongue:.2f} px vs {rest:.2f} px", tongue <= 2 * rest))
    results.append(_report("tongue visible@0.6 precision >= 0.9", f"{precision:.3f}",
                           precision >= 0.9))
    results.append(_report("tongue visible@0.6 recall >= 0.9", f"{recall:.3f}", recall >= 0.9))

    frames, poses = generate(SyntheticConfig(height=256, width=320, n_frames=80, seed=13,
                                             speed=2.5))
    crops = [_around(poses.xy[i, 0], 256, 320, 160, 128) if i % 2 else None
             for i in range(len(frames))]
    with tempfile.TemporaryDirectory() as tmp:
        config = write_labeled_project(tmp, frames, poses, fractions=(1.0,), crops=crops)
        test, truth = generate(SyntheticConfig(height=256, width=320, n_frames=120, seed=14,
                                               speed=2.5))
        tcrops = [_around(truth.xy[i, 0], 256, 320, 160, 128) for i in range(len(test))]
        small = np.stack([test[i, y1:y2, x1:x2] for i, (x1, y1, x2, y2) in enumerate(tcrops)])
        stack = np.zeros_like(test)
        stack[:, :128, :160] = small
        images = np.concatenate([test, stack])
        sizes = np.array([[256, 320]] * len(test) + [[128, 160]] * len(test))
        pred, cpu = _train_eval(config, steps, overrides, images, sizes)
    shift = np.array([[c[0], c[1]] for c in tcrops], float)[:, None]
    big = float(np.nanmean(np.linalg.norm(pred[:len(test), :, :2] - truth.xy[:, 0], axis=-1)))
    lit = float(np.nanmean(np.linalg.norm(pred[len(test):, :, :2] + shift - truth.xy[:, 0],
                                          axis=-1)))
    _emit({"part": "synthetic-mixed-sizes", "steps": steps, "cpu_s": round(cpu), **overrides,
           "error_320x256_px": big, "error_160x128_px": lit})
    results.append(_report("mixed sizes: both sizes learned (error <= 2x the other + 1 px)",
                           f"320x256 {big:.2f} px, 160x128 {lit:.2f} px",
                           max(big, lit) <= 2 * min(big, lit) + 1))
    return results


def _around(xy: np.ndarray, h: int, w: int, cw: int, ch: int) -> tuple[int, int, int, int]:
    cx, cy = np.nanmean(xy, axis=0)
    x1 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y1 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    return x1, y1, x1 + cw, y1 + ch


def _report(goal: str, figure: str, ok: bool) -> bool:
    print(f"  {goal}: {figure}  {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


# --- openfield learning curve ----------------------------------------------------------
def openfield_run(n_frames: int | None, variant: str, steps: int, seed: int = 0,
                  keep: Path | None = None) -> dict:
    """Train on ``n_frames`` of shuffle 1's training frames; error on its test frames.

    ``keep``: copy the trained project there (for `bench_speed.py`)."""
    import shutil

    from markerless.evaluation.metrics import compute_rmse
    from markerless.io.config import read_config, write_config
    from markerless.training.dataset import create_training_dataset, load_split
    from markerless.training.snapshots import Predictor, load_model_for_inference
    from markerless.training.trainer import train_network
    from markerless.training.training_data import load_training_data

    src = SHARED / "dlc-openfield-pranav"
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "openfield-Pranav-2018-10-30"
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("videos"))
        cfg = read_config(dst / "config.yaml")
        cfg["project_path"], cfg["TrainingFraction"] = str(dst), [0.95]
        write_config(cfg, dst / "config.yaml")
        config = dst / "config.yaml"
        create_training_dataset(config, Shuffles=[1], recipe="default")
        split = load_split(config, 1)
        train, test = list(split["train_indices"]), list(split["test_indices"])
        order = np.random.default_rng(seed).permutation(len(train))
        chosen = sorted(train[i] for i in order[: n_frames or len(train)])
        create_training_dataset(config, Shuffles=[1], trainIndices=[chosen],
                                testIndices=[test], recipe="default", **VARIANTS[variant])
        t0, w0 = time.process_time(), time.perf_counter()
        train_network(config, maxiters=steps, progress=False)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        data = load_training_data(config, 1, which="test")
        model, info = load_model_for_inference(config)
        pred = Predictor(model, info).predict_batches(data.images, 8, data.sizes)
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(dst, keep)
            print(f"trained project kept in {keep}", flush=True)
    gt = data.keypoints[:, 0].astype(np.float64)
    return {"part": "openfield", "variant": variant, "n_train": len(chosen), "steps": steps,
            "test_px": compute_rmse(pred, gt), "cpu_s": round(cpu),
            "steps_per_s": steps / max(wall, 1e-9)}


def openfield(steps: int, variants: list[str], parallel: int, sizes=SIZES) -> list[bool]:
    jobs = [(n, v) for v in variants for n in sizes if not (v != "default" and n in (None, 80))]
    records = []
    if parallel <= 1:
        for n, v in jobs:
            records.append(openfield_run(n, v, steps))
            _emit(records[-1])
    else:
        env = dict(os.environ, XLA_PYTHON_CLIENT_MEM_FRACTION=f"{0.8 / parallel:.3f}")
        pending, running = list(jobs), []
        while pending or running:
            while pending and len(running) < parallel:
                n, v = pending.pop(0)
                cmd = [sys.executable, __file__, "--run-one", str(n or 0), v, str(steps)]
                running.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                                env=env))
            for proc in list(running):
                if proc.poll() is not None:
                    running.remove(proc)
                    for line in proc.stdout.read().splitlines():
                        if line.startswith("RESULT "):
                            records.append(json.loads(line[7:]))
                            print(line, flush=True)
            time.sleep(1)
    print("\nopenfield learning curve (test px on the 6 shuffle-1 test frames):")
    table = {(r["variant"], r["n_train"]): r["test_px"] for r in records}
    full = max(r["n_train"] for r in records)
    for v in variants:
        row = [f"{n}: {table[(v, n)]:.2f}" for n in sorted({r['n_train'] for r in records})
               if (v, n) in table]
        print(f"  {v:18s} " + "  ".join(row))
    ok = []
    all_px = table.get(("default", full))
    for v in variants:
        px20 = table.get((v, 20))
        if px20 is not None and all_px:
            ok.append(_report(f"{v}: 20 frames <= 1.5x all {full} frames",
                              f"{px20:.2f} vs {all_px:.2f} px ({px20 / all_px:.2f}x)",
                              px20 <= 1.5 * all_px))
    return ok


def calibrate_steps(minutes: float, clock: str) -> int:
    """Steps that fit ``minutes`` of training with the default recipe on openfield."""
    import jax

    from markerless.synthetic import SyntheticConfig, generate
    from markerless.synthetic.project import write_labeled_project
    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import Trainer

    frames, poses = generate(SyntheticConfig(height=480, width=640, n_frames=16, seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        config = write_labeled_project(tmp, frames, poses, fractions=(1.0,))
        create_training_dataset(config, recipe="default")
        trainer = Trainer(config, 1, resume=False, maxiters=10**6)
        jax.block_until_ready(trainer.train_step())
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        t0, w0 = time.process_time(), time.perf_counter()
        for _ in range(8):
            out = trainer.train_step()
        jax.block_until_ready(out)
        per = ((time.process_time() - t0) / cores if clock == "cpu"
               else time.perf_counter() - w0) / 8
    steps = max(int(minutes * 60 / per), 10)
    print(f"calibration: {per:.2f} s/step ({clock} clock) -> {steps} steps in {minutes:g} min")
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("synthetic", "openfield", "all"), default="all")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--synthetic-steps", type=int, default=1200)
    parser.add_argument("--variants", action="store_true",
                        help="also train the small-data recipe candidates")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--run-one", nargs=3, metavar=("N", "VARIANT", "STEPS"))
    parser.add_argument("--keep", type=Path, default=None,
                        help="with --run-one: keep the trained project in this folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="training-set sizes of the curve (0 = all; default 10 20 40 80 0)")
    args = parser.parse_args()
    if args.run_one:
        n, v, steps = args.run_one
        _emit(openfield_run(int(n) or None, v, int(steps), keep=args.keep))
        return
    import jax

    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}")
    ok = []
    if args.part in ("synthetic", "all"):
        ok += synthetic(args.synthetic_steps, {})
    if args.part in ("openfield", "all"):
        if not (SHARED / "dlc-openfield-pranav").exists():
            print(f"openfield: {SHARED / 'dlc-openfield-pranav'} not found: skipped")
        else:
            steps = args.steps or calibrate_steps(args.minutes, args.clock)
            sizes = tuple(n or None for n in args.sizes) if args.sizes else SIZES
            ok += openfield(steps, list(VARIANTS) if args.variants else ["default"],
                            args.parallel, sizes)
    print(f"\n{sum(ok)}/{len(ok)} goals met")


if __name__ == "__main__":
    main()
