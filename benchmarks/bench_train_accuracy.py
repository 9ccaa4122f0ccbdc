"""Benchmark: test RMSE reached on DeepLabCut's openfield project within a training-time budget.

Run: ``JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_train_accuracy.py --minutes 30``
(goal: test error <= 2.0 px, DeepLabCut 3 with an ImageNet ResNet-50 gets ~2.0 px).

The shared project (116 labeled 640x480 grey frames, 4 bodyparts) is copied to a temporary
folder (the shared copy is read-only and its ``project_path`` is a placeholder), split 95/5
(shuffle 1, as DeepLabCut's example) and trained with the default recipe
(`markerless.training.recipes`), or with the recipe fields given as options. Every
``--eval-minutes`` of training the current network predicts all 116 whole frames (the
same inference path as ``evaluate_network``/``analyze_videos``) and the curve
(training time, step, train and test error in px) is printed; evaluation time is not counted
in the budget. Errors are DeepLabCut's: mean Euclidean distance over labeled points.

Label check: in this data set img0102 has its left and right ears swapped relative to the other
115 frames (found by ``markerless check-labels``: the ears lie on the other side of the
snout-tailbase axis); with the 95/5 split
of shuffle 1 it is one of the 6 test frames, and a model that is right about the ears scores
~20 px on both of them (~1.7 px on the test mean). The benchmark prints the test error with
and without such frames.

The learning-rate schedule needs the number of steps up front: unless ``--maxiters`` is given,
a short calibration run measures seconds per step and ``maxiters`` is set to fill the budget.
``--clock cpu`` measures the budget in process CPU time divided by the core count instead of
wall time (a fair budget on a machine shared with other jobs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from markerless.evaluation.evaluate import evaluate_predictions  # noqa: E402
from markerless.evaluation.metrics import compute_rmse, keypoint_errors  # noqa: E402
from markerless.io.config import read_config, write_config  # noqa: E402
from markerless.training.dataset import create_training_dataset, load_split  # noqa: E402
from markerless.training.recipes import get_recipe  # noqa: E402
from markerless.training.snapshots import Predictor  # noqa: E402
from markerless.training.trainer import Trainer  # noqa: E402
from markerless.training.training_data import load_training_data  # noqa: E402

SHARED = Path(os.environ.get("MARKERLESS_SHARED_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))
GOAL_PX = 2.0


class Clock:
    """Training time: wall seconds, or process CPU seconds / cores; pausable for evaluation."""

    def __init__(self, kind: str):
        self.kind, self.total, self.start = kind, 0.0, None
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1

    def _now(self) -> float:
        return time.process_time() / self.cores if self.kind == "cpu" else time.perf_counter()

    def resume(self) -> None:
        self.start = self._now()

    def pause(self) -> None:
        self.total += self._now() - self.start
        self.start = None

    def elapsed(self) -> float:
        return self.total + (self._now() - self.start if self.start is not None else 0.0)


def copy_project(tmp: Path) -> Path:
    src = SHARED / "dlc-openfield-pranav"
    if not src.exists():
        sys.exit(f"{src} not found (set MARKERLESS_SHARED_DATA)")
    dst = tmp / "openfield-Pranav-2018-10-30"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("videos"))
    cfg = read_config(dst / "config.yaml")
    cfg["project_path"] = str(dst)
    cfg["TrainingFraction"] = [0.95]
    write_config(cfg, dst / "config.yaml")
    return dst / "config.yaml"


def recipe_overrides(args: argparse.Namespace) -> dict:
    out = {}
    for name in ("net_type", "lr", "batch_size", "global_scale", "augment", "stride",
                 "warmup_iters", "weight_decay", "pos_dist_thresh", "schedule"):
        value = getattr(args, name)
        if value is not None:
            out[name] = value
    if args.crop is not None:
        out["crop_size"] = (args.crop, args.crop)
    if args.pretrained is not None:
        out["pretrained"] = args.pretrained == "yes"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--eval-minutes", type=float, default=5.0)
    parser.add_argument("--maxiters", type=int, default=None)
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="also evaluate every this many steps")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--shuffle", type=int, default=1,
                        help="which 95/5 split (each shuffle holds out different frames)")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--net-type", dest="net_type")
    parser.add_argument("--pretrained", choices=("yes", "no"))
    parser.add_argument("--crop", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", dest="batch_size", type=int)
    parser.add_argument("--global-scale", dest="global_scale", type=float)
    parser.add_argument("--augment")
    parser.add_argument("--stride", type=int)
    parser.add_argument("--warmup-iters", dest="warmup_iters", type=int)
    parser.add_argument("--weight-decay", dest="weight_decay", type=float)
    parser.add_argument("--pos-dist-thresh", dest="pos_dist_thresh", type=float)
    parser.add_argument("--schedule")
    args = parser.parse_args()
    budget = args.minutes * 60.0
    overrides = recipe_overrides(args)
    tc = get_recipe(args.recipe, **overrides)
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}; budget {args.minutes:g} min "
          f"({args.clock} clock); recipe {args.recipe!r} + {overrides}; shuffle {args.shuffle}")

    with tempfile.TemporaryDirectory() as tmp:
        config = copy_project(Path(tmp))
        create_training_dataset(config, Shuffles=[args.shuffle], recipe=tc)
        split = load_split(config, args.shuffle)
        data = load_training_data(config, args.shuffle, which="all")
        gt = data.keypoints[:, 0].astype(np.float64)
        pos = {f: i for i, f in enumerate(data.frames)}
        train_idx = [pos[f] for f in split["train_frames"]]
        test_idx = [pos[f] for f in split["test_frames"]]
        print(f"{len(train_idx)} train / {len(test_idx)} test frames")
        swapped = swapped_frames(gt, data.bodyparts)
        clean_test = [i for i in test_idx if i not in swapped]
        if swapped:
            print("label check: left/right ears swapped relative to the other frames in "
                  f"{[data.frames[i].rsplit('/', 1)[-1] for i in swapped]} "
                  f"({len(set(swapped) & set(test_idx))} of them in the test set); the curve "
                  "also shows the test error without them")

        maxiters = args.maxiters
        if maxiters is None:  # calibrate seconds per step
            probe = Trainer(config, args.shuffle, resume=False, maxiters=10**6)
            jax.block_until_ready(probe.train_step())
            clock = Clock(args.clock)
            clock.resume()
            for _ in range(5):
                out = probe.train_step()
            jax.block_until_ready(out)
            per_step = clock.elapsed() / 5
            maxiters = max(int(budget / per_step), 10)
            print(f"calibration: {per_step:.2f} s/step -> maxiters {maxiters}")
            del probe

        trainer = Trainer(config, args.shuffle, resume=False, maxiters=maxiters, saveiters=10**9,
                          displayiters=10**9)
        predictor = None
        curve = []

        def evaluate(t_train: float) -> None:
            nonlocal predictor
            t0 = time.perf_counter()
            model = trainer.eval_model()
            if predictor is None:
                predictor = Predictor(model, trainer.model_info())
            else:  # same network: reuse the compiled predictor with the new weights
                import flax.nnx as nnx

                predictor.state = nnx.split(model)[1]
            pred = predictor.predict_batches(data.images, 8)
            m = evaluate_predictions(pred, gt, train_idx, test_idx)
            err = keypoint_errors(pred, gt)
            far = np.argwhere(err > 10)
            clean = compute_rmse(pred[clean_test], gt[clean_test])
            curve.append((t_train, trainer.step, m["train_error"], m["test_error"],
                          m["test_error_pcutoff"], m["test_pck@5px"], clean))
            print(f"  t={t_train / 60:6.2f} min  step {trainer.step:6d}  "
                  f"train {m['train_error']:7.2f} px  test {m['test_error']:7.2f} px  "
                  f"(w/o swapped labels {clean:.2f})  "
                  f"(test p>0.6 {m['test_error_pcutoff']:.2f}, PCK@5px {m['test_pck@5px']:.2f})"
                  f"  [eval {time.perf_counter() - t0:.0f} s]", flush=True)
            print(f"      median train {np.median(err[train_idx]):.2f} px, test "
                  f"{np.median(err[test_idx]):.2f} px; {len(far)} points > 10 px"
                  + "".join(f"; {data.frames[f].rsplit('/', 1)[-1]} {data.bodyparts[k]} "
                            f"{err[f, k]:.0f} px at ({pred[f, k, 0]:.0f}, {pred[f, k, 1]:.0f})"
                            for f, k in far[:6]))

        clock = Clock(args.clock)
        clock.resume()
        next_eval, losses = args.eval_minutes * 60.0, []
        while trainer.step < maxiters and (args.maxiters or clock.elapsed() < budget):
            losses.append(trainer.train_step()["total"])
            if trainer.step % 25 == 0:
                jax.block_until_ready(losses[-1])
                by_steps = args.eval_steps and trainer.step % args.eval_steps == 0
                print(f"  step {trainer.step} t={clock.elapsed() / 60:.2f} min", flush=True)
                if clock.elapsed() >= next_eval or by_steps:
                    clock.pause()
                    print(f"  loss {float(np.mean(np.asarray(losses))):.4f}", end="")
                    losses.clear()
                    evaluate(clock.elapsed())
                    if not by_steps:
                        next_eval += args.eval_minutes * 60.0
                    clock.resume()
        jax.block_until_ready(losses[-1] if losses else 0)
        clock.pause()
        if not curve or curve[-1][1] != trainer.step:
            evaluate(clock.elapsed())

    print("\ncurve (training minutes, step, train px, test px, test px w/o swapped labels):")
    for t, step, tr, te, _, _, clean in curve:
        print(f"  {t / 60:6.2f}  {step:6d}  {tr:7.2f}  {te:7.2f}  {clean:7.2f}")
    t, step, tr, te, te_p, pck5, clean = curve[-1]
    print(f"\nfinal after {t / 60:.1f} min ({step} steps, {tc.net_type}): train {tr:.2f} px, "
          f"test {te:.2f} px (p-cutoff {te_p:.2f}; without swapped-label frames {clean:.2f}), "
          f"test PCK@5px {pck5:.2f}; goal <= {GOAL_PX} px: "
          f"{'MET' if te <= GOAL_PX else 'NOT met'}"
          + (f" ({'MET' if clean <= GOAL_PX else 'NOT met'} without them)" if swapped else ""))


def swapped_frames(gt: np.ndarray, bodyparts: list[str]) -> list[int]:
    """Frames with a left/right pair labeled mirrored relative to most frames
    (`markerless.check_labels`'s test; in openfield: img0102's ears)."""
    from markerless.poses import Poses
    from markerless.project.check_labels import swapped_pairs

    _, swapped = swapped_pairs(Poses(gt[:, None], list(bodyparts)))
    return [int(i) for i in np.flatnonzero(swapped.any(axis=(1, 2)))]


if __name__ == "__main__":
    main()
