"""Benchmark: which part-affinity graph assembles two interacting flies best.

Run: ``JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_paf_graph.py --steps 2000``
(``--data synthetic``: two synthetic animals sharing a 128x128 arena instead, no data set
needed).

Data: SLEAP's fly-pair clip (``../shared/data/sleap-fly-pair-clip``: 1500 frames of two
flies that touch and cross, 13 nodes, research use only; frames are extracted to a
temporary folder at run time). Train: frames 0-1099, every 4th (275 frames; the issue's
budget S); test: frames 1150-1499, every ``--test-step``th. Frames are cropped to the
arena window the flies never leave (x 192-960, y 256-640) and trained at ``--scale``.

Two networks with the same recipe: one on SLEAP's skeleton (12 edges, a star around the
thorax), one on DLC 3's complete graph (78 edges), which training then prunes on the
training frames (`markerless.assembly.prune`); the complete network is also scored with
the graph DLC's own rule picks (the first, smallest candidate: ``dlc-rule``) and with all
78 edges (``full``). Printed per graph, on the test frames: DLC's graph-selection score
``(1 - miss) * purity``, the share of animals assembled right (>= 80% of the labeled
keypoints within 10 px, 4 px on the synthetic data, none from the other animal), the
matched RMSE (px, full resolution) and the assembly speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

SHARED = Path(os.environ.get("MARKERLESS_SHARED_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))
CROP = (192, 960, 256, 640)  # x1, x2, y1, y2


def build_project(root: Path, test_step: int) -> tuple[Path, list[int], list[int], np.ndarray]:
    import sleap_io as sio
    from PIL import Image

    from markerless.io.config import default_config, write_config
    from markerless.io.dlc_labels import write_labels
    from markerless.io.video import VideoReader
    from markerless.poses import Poses

    clip = SHARED / "sleap-fly-pair-clip"
    labels = sio.load_slp(str(clip / "clip.slp"))
    skel = labels.skeletons[0]
    names = list(skel.node_names)
    tracks = [t.name for t in labels.tracks]
    xy = np.full((len(labels.labeled_frames), len(tracks), len(names), 2), np.nan)
    index = {}
    for n, lf in enumerate(labels.labeled_frames):
        index[lf.frame_idx] = n
        for inst in lf.instances:
            xy[n, tracks.index(inst.track.name)] = inst.numpy()
    train = list(range(0, 1100, 4))
    test = list(range(1150, 1500, test_step))
    frames = train + test
    x1, x2, y1, y2 = CROP
    project = root / "flies-bench-2024-01-01"
    folder = project / "labeled-data" / "clip"
    folder.mkdir(parents=True)
    with VideoReader(clip / "clip.mp4") as reader:
        for f in frames:
            Image.fromarray(reader[f][y1:y2, x1:x2]).save(folder / f"img{f:05d}.png")
    pts = xy[[index[f] for f in frames]] - np.array([x1, y1])
    edges = [[names[a], names[b]] for a, b in skel.edge_inds]
    cfg = default_config(task="flies", scorer="bench", date="Jan01", multianimal=True,
                         project_path=str(project), bodyparts=names, individuals=tracks,
                         skeleton=edges)
    cfg["TrainingFraction"] = [round(len(train) / len(frames), 4)]
    write_labels(Poses(pts, names, tracks, [f"labeled-data/clip/img{f:05d}.png" for f in frames],
                       "bench"), folder)
    write_config(cfg, project / "config.yaml")
    return project / "config.yaml", list(range(len(train))), \
        list(range(len(train), len(frames))), pts


SYNTH_SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["snout", "neck"],
                  ["neck", "spine1"], ["spine1", "spine2"], ["spine2", "tailbase"],
                  ["tailbase", "tailmid"], ["tailmid", "tailtip"]]


def build_synthetic(root: Path, n_train: int = 300, n_test: int = 100):
    """Two animals (9 keypoints) sharing a 128x128 arena: they approach, touch, occlude
    and cross (`markerless.synthetic`, ``arena="shared"``); train and test clips differ
    in seed."""
    from PIL import Image

    from markerless.io.config import default_config, write_config
    from markerless.io.dlc_labels import write_labels
    from markerless.poses import Poses
    from markerless.synthetic import SyntheticConfig, generate

    project = root / "arena-bench-2024-01-01"
    folder = project / "labeled-data" / "arena"
    folder.mkdir(parents=True)
    parts, names, xy = [], [], []
    for seed, n in ((1, n_train), (2, n_test)):
        frames, poses = generate(SyntheticConfig(height=128, width=128, n_frames=n,
                                                 n_animals=2, bodyparts=9, seed=seed,
                                                 arena="shared"))
        for i in range(n):
            name = f"img{seed}_{i:04d}.png"
            Image.fromarray(frames[i]).save(folder / name)
            names.append(f"labeled-data/arena/{name}")
        xy.append(poses.xy)
        parts = poses
    cfg = default_config(task="arena", scorer="bench", date="Jan01", multianimal=True,
                         project_path=str(project), bodyparts=list(parts.bodyparts),
                         individuals=list(parts.individuals), skeleton=SYNTH_SKELETON)
    cfg["TrainingFraction"] = [round(n_train / (n_train + n_test), 4)]
    write_labels(Poses(np.concatenate(xy), parts.bodyparts, parts.individuals, names,
                       "bench"), folder)
    write_config(cfg, project / "config.yaml")
    return (project / "config.yaml", list(range(n_train)),
            list(range(n_train, n_train + n_test)), None)


def evaluate(model, info, spec, edges_idx, images, gt, scale, tol=10.0):
    from markerless.analysis.ma_inference import predict_multi_frames
    from markerless.assembly.assembler import AssemblerConfig, assemble
    from markerless.assembly.prune import score_assemblies
    from markerless.evaluation.ma_match import match_to_truth, matched_errors

    out = predict_multi_frames(model, info, images, edges=edges_idx)
    cfg = AssemblerConfig(max_n_individuals=spec.n_individuals, n_multibodyparts=spec.n_multi,
                          edges=tuple(spec.edges[e] for e in edges_idx))
    t = time.perf_counter()
    for _ in range(5):
        res = assemble(out["peaks"], out["affinity"], cfg, out.get("identity"))
    fps = 5 * len(images) / (time.perf_counter() - t)
    miss, purity = score_assemblies(res.data, gt, radius=tol)
    matched = match_to_truth(res.data, gt)
    err = matched_errors(matched, gt)
    labeled = np.isfinite(gt).all(-1)
    good = ((err <= tol).sum(-1) >= 0.8 * labeled.sum(-1))
    # No keypoint of the other fly: each matched keypoint nearer its own animal's label.
    other = np.linalg.norm(matched[..., :2] - gt[:, ::-1], axis=-1)
    own = np.linalg.norm(matched[..., :2] - gt, axis=-1)
    pure = ~np.any(np.isfinite(other) & (other < own), axis=-1)
    correct = float(np.mean(good & pure))
    hits = np.isfinite(err) & np.isfinite(gt).all(-1) & (err < np.inf)
    rmse = float(np.mean(err[hits])) if hits.any() else float("nan")
    return {"edges": len(edges_idx), "score": (1 - miss) * purity, "miss": miss,
            "purity": purity, "correct": correct, "rmse_px": rmse, "assembly_fps": fps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--net", default="efficientnet_lite0")
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--test-step", type=int, default=5)
    ap.add_argument("--graphs", default="skeleton,pruned")
    ap.add_argument("--data", choices=["flies", "synthetic"], default="flies")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="build the project here and keep it")
    args = ap.parse_args()
    if args.data == "flies" and not (SHARED / "sleap-fly-pair-clip" / "clip.slp").exists():
        print(f"skipped: {SHARED / 'sleap-fly-pair-clip'} not found")
        return 0
    from markerless.io.config import read_config
    from markerless.training.dataset import create_training_dataset
    from markerless.training.snapshots import load_model_for_inference
    from markerless.training.trainer import train_network
    from markerless.training.training_data import load_training_data

    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            tmp = args.keep
            Path(tmp).mkdir(parents=True, exist_ok=True)
        if args.data == "flies":
            config, train, test, _ = build_project(Path(tmp), args.test_step)
        else:
            config, train, test, _ = build_synthetic(Path(tmp))
        rows = []
        for shuffle, graph in enumerate(args.graphs.split(","), start=1):
            create_training_dataset(config, Shuffles=[shuffle], trainIndices=[train],
                                    testIndices=[test], net_type=args.net, paf_graph=graph,
                                    global_scale=args.scale, crop_size=(args.crop, args.crop),
                                    maxiters=args.steps, saveiters=args.steps, seed=args.seed)
            t0 = time.perf_counter()
            train_network(config, shuffle=shuffle, progress=False)
            minutes = (time.perf_counter() - t0) / 60
            model, info = load_model_for_inference(config, shuffle)
            from markerless.analysis.ma_inference import ma_spec_of

            spec = ma_spec_of(info)
            data = load_training_data(config, shuffle, which="test")
            gt = data.keypoints[:, : spec.n_individuals, : spec.n_multi].astype(float)
            variants = [(graph, list(spec.paf_best))]
            if graph == "pruned":  # the same network: DLC's rule (the tree), all edges
                from markerless.training.dataset import model_folder, train_fraction_of
                from markerless.training.recipes import read_pose_cfg

                cfg = read_config(config)
                pose_cfg = read_pose_cfg(config.parent / model_folder(
                    cfg, train_fraction_of(cfg, 0), shuffle))
                tree = pose_cfg["paf_best_scores"][0]["edges"]
                variants += [("dlc-rule", list(tree)), ("full", list(range(len(spec.edges))))]
            for name, idx in variants:
                r = evaluate(model, info, spec, idx, data.images, gt, args.scale,
                             10.0 if args.data == "flies" else 4.0)
                r.update(graph=name, train_min=minutes)
                rows.append(r)
                print({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()},
                      flush=True)
        print("\ngraph      edges  (1-miss)*purity  correct  RMSE px  assembly fps  train min")
        for r in rows:
            print(f"{r['graph']:<10} {r['edges']:>5}  {r['score']:>15.3f}  {r['correct']:>7.3f}"
                  f"  {r['rmse_px']:>7.2f}  {r['assembly_fps']:>12.0f}  {r['train_min']:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
