"""Benchmark: the multi-animal loop on SLEAP's fly pair, as a user runs it.

Run: ``JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_multianimal.py --steps 2000``
(``--budget L`` for all 1100 training frames; ``--keep DIR`` keeps the project;
``--skip-tracking`` stops after the learning curve). Speed and memory goals of the same
issue have their own scripts: ``bench_tracking.py`` (assembly + tracking + stitching on one
core, memory against video length), ``bench_assembly.py`` and ``bench_ma_analysis.py``
(multi-animal against single-animal fps with the same backbone and input size).

Data: ``../shared/data/sleap-fly-pair-clip`` (1500 frames of two flies that touch and
cross, 1024x1024, 13 nodes, tracks female/male on every frame; research use only, so it is
read at run time and never copied into the repository). Split, with consecutive frames as
near-duplicates: train pool 0-1099 (budget S: every 4th frame, 275; budget L: all 1100),
guard band 1100-1149 (unused), test 1150-1499 (350 frames, 700 flies).

Steps, all through the public API:

1. ``import_slp(clip.slp, frames=train + test)``: a maDLC project, ``identity: true``;
2. ``create_training_dataset(trainIndices=, testIndices=, global_scale=--scale)`` and
   ``train_network`` with a snapshot every ``--saveiters`` steps (the learning curve);
3. ``evaluate_network(snapshot_index="all")``: test OKS mAP at sigma 0.1 (DeepLabCut) and
   0.025 (SLEAP), matched RMSE (px, full resolution), per snapshot with its training minutes;
4. ``analyze_videos`` on the whole clip with ``auto_track`` and the identity head
   (``identity_only=True``), scored by ``evaluate_tracking`` against clip.slp (IDF1, MOTA,
   ID switches with motmetrics; HOTA with trackeval);
5. the same assemblies tracked by motion alone (``convert_detections2tracklets`` +
   ``stitch_tracklets`` with ``identity_weight=0``), scored the same way.

Goals (issue 13): test mAP >= 0.95 at sigma 0.1 and >= 0.75 at 0.025, matched RMSE <= 3 px,
training <= 60 min on the 2-core CPU; identity tracking 0 switches and IDF1 >= 0.99; motion
only <= 2 switches, IDF1 >= 0.98, MOTA >= 0.95, HOTA >= 0.80. ``--scale`` below 1 trains and
infers on downscaled frames (CPU budget); the RMSE is in full-resolution pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

SHARED = Path(os.environ.get("MARKERLESS_SHARED_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))
CLIP = SHARED / "sleap-fly-pair-clip"
TEST = range(1150, 1500)


def build_project(root: Path, budget: str, identity: bool) -> tuple[Path, list[int], list[int]]:
    """Import the labeled frames of the split; return config.yaml and row indices."""
    from markerless import import_slp
    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import labels_path, read_labels

    train = range(0, 1100, 4) if budget == "S" else range(0, 1100)
    config = Path(import_slp(CLIP / "clip.slp", root, frames=[*train, *TEST],
                             project="flies", experimenter="bench"))
    cfg = read_config(config)
    cfg["identity"] = bool(identity)
    write_config(cfg, config)
    poses = read_labels(labels_path(config.parent, "clip", "bench"))
    frame_of = [int(Path(f).stem.lstrip("img")) for f in poses.frames]
    train_rows = [i for i, f in enumerate(frame_of) if f < 1100]
    test_rows = [i for i, f in enumerate(frame_of) if f >= 1150]
    assert len(train_rows) == len(train) and len(test_rows) == len(TEST), "split mismatch"
    return config, train_rows, test_rows


def learning_curve(config: Path, t_start: float) -> list[dict]:
    """evaluate_network on every snapshot; minutes from the snapshot files' times."""
    import pandas as pd  # noqa: F401 (the table evaluate_network returns)

    from markerless import evaluate_network
    from markerless.io.config import read_config
    from markerless.training.dataset import model_folder, train_fraction_of

    table = evaluate_network(config, Shuffles=[1], snapshot_index="all", show_errors=False)
    cfg = read_config(config)
    train_dir = config.parent / model_folder(cfg, train_fraction_of(cfg, 0), 1) / "train"
    rows = []
    for _, r in table.iterrows():
        step = int(r["Training iterations:"])
        snap = train_dir / f"snapshot-{step}.msgpack"
        minutes = (snap.stat().st_mtime - t_start) / 60 if snap.exists() else float("nan")
        rows.append({"step": step, "train_min": minutes,
                     "mAP@0.1": float(r["test_mAP@sigma0.1"]),
                     "mAP@0.025": float(r["test_mAP@sigma0.025"]),
                     "mAR@0.1": float(r["test_mAR@sigma0.1"]),
                     "test_rmse_px": float(r[" Test error(px)"]),
                     "train_rmse_px": float(r[" Train error(px)"])})
    return rows


def tracking(config: Path, out: Path) -> dict:
    """Identity-head tracks, then motion-only tracks from the same assemblies."""
    from markerless import analyze_videos, convert_detections2tracklets, stitch_tracklets
    from markerless.evaluation.tracking import evaluate_tracking

    video = config.parent / "videos" / "clip.mp4"
    if not video.exists():
        video = CLIP / "clip.mp4"
    t = time.perf_counter()
    analyze_videos(config, [video], destfolder=out, auto_track=True, identity_only=True,
                   n_tracks=2, progress=False)
    analysis_s = time.perf_counter() - t
    (el,) = out.glob("*_el.h5")
    result = {"analysis_fps": 1500 / analysis_s,
              "identity": evaluate_tracking(el, CLIP / "clip.slp").to_dict()}
    t = time.perf_counter()
    convert_detections2tracklets(config, [video], destfolder=out, overwrite=True,
                                 identity_only=False)
    stitch_tracklets(config, [video], destfolder=out, n_tracks=2, identity_weight=0.0)
    result["motion_tracking_s"] = time.perf_counter() - t
    result["motion"] = evaluate_tracking(el, CLIP / "clip.slp").to_dict()
    return result


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", choices=["S", "L"], default="S")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--saveiters", type=int, default=500)
    ap.add_argument("--scale", type=float, default=0.5, help="global_scale (downscale)")
    ap.add_argument("--crop", type=int, default=192, help="training crop (px, scaled frame)")
    ap.add_argument("--net", default="efficientnet_lite0")
    ap.add_argument("--augment", default=None, help="augmentation preset (e.g. top-down)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--no-identity", action="store_true")
    ap.add_argument("--skip-tracking", action="store_true")
    ap.add_argument("--keep", default=None, help="build the project here and keep it")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    if not (CLIP / "clip.slp").exists():
        print(f"skipped: {CLIP} not found")
        return 0
    from markerless import create_training_dataset, train_network

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        config, train, test = build_project(root, args.budget, not args.no_identity)
        print(f"project {config.parent}: {len(train)} training frames, {len(test)} test "
              f"frames (budget {args.budget}), scale {args.scale}", flush=True)
        create_training_dataset(config, Shuffles=[1], trainIndices=[train], testIndices=[test],
                                net_type=args.net, global_scale=args.scale,
                                crop_size=(args.crop, args.crop), maxiters=args.steps,
                                saveiters=args.saveiters, batch_size=args.batch_size,
                                **({"augment": args.augment} if args.augment else {}))
        t0 = time.time()
        train_network(config, shuffle=1, progress=True, max_snapshots_to_keep=None)
        train_min = (time.time() - t0) / 60
        curve = learning_curve(config, t0)
        print(f"\nlearning curve (budget {args.budget}, {args.net}, scale {args.scale}; test "
              "frames 1150-1499)")
        print("  step  train min  mAP@s0.1  mAP@s0.025  mAR@s0.1  test RMSE px  train RMSE px")
        for r in curve:
            print(f"{r['step']:>6}  {r['train_min']:>9.1f}  {r['mAP@0.1']:>8.3f}  "
                  f"{r['mAP@0.025']:>10.3f}  {r['mAR@0.1']:>8.3f}  {r['test_rmse_px']:>12.2f}"
                  f"  {r['train_rmse_px']:>13.2f}")
        last = curve[-1]
        results = {"args": vars(args), "train_min": train_min, "curve": curve}
        goals = [("training <= 60 min", train_min <= 60),
                 ("test mAP >= 0.95 at sigma 0.1", last["mAP@0.1"] >= 0.95),
                 ("test mAP >= 0.75 at sigma 0.025", last["mAP@0.025"] >= 0.75),
                 ("matched RMSE <= 3 px", last["test_rmse_px"] <= 3.0)]
        if not args.skip_tracking:
            tr = tracking(config, root / "analysis")
            results["tracking"] = tr
            ident, motion = tr["identity"], tr["motion"]
            print(f"\nanalysis of the 1500-frame clip with tracking: {tr['analysis_fps']:.1f} "
                  f"fps (scale {args.scale})")
            for name, s in (("identity head", ident), ("motion only", motion)):
                print(f"{name:>13}: IDF1 {s['idf1']:.3f}  MOTA {s['mota']:.3f}  ID switches "
                      f"{s['id_switches']}  HOTA {s['hota']:.3f}")
            goals += [("identity: 0 ID switches", ident["id_switches"] == 0),
                      ("identity: IDF1 >= 0.99", ident["idf1"] >= 0.99),
                      ("motion: <= 2 ID switches", motion["id_switches"] <= 2),
                      ("motion: IDF1 >= 0.98", motion["idf1"] >= 0.98),
                      ("motion: MOTA >= 0.95", motion["mota"] >= 0.95),
                      ("motion: HOTA >= 0.80", motion["hota"] >= 0.80)]
        print(f"\ngoals (training {train_min:.1f} min):")
        for name, ok in goals:
            print(f"  {verdict(ok)}  {name}")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
