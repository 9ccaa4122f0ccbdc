"""``markerless demo``: the whole loop on a built-in synthetic example, no data needed.

It makes a synthetic clip with exact ground truth, creates a DeepLabCut-layout
project around it, extracts diverse frames, fills their labels from the ground
truth (standing in for a person clicking), and then runs the later stages
that are available (train, evaluate, analyse), reporting what it made.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from markerless.poses import Poses

#: Small, CPU-friendly training for the demo (the "test" recipe with more steps).
DEMO_RECIPE = {"maxiters": 1500, "crop_size": (96, 96), "batch_size": 8, "saveiters": 500}
DEMO_RECIPE_QUICK = {"maxiters": 150, "crop_size": (64, 64), "batch_size": 4, "saveiters": 150}


@dataclass
class DemoSummary:
    config: Path
    video: Path
    n_video_frames: int
    labels_file: Path
    n_labeled_frames: int
    n_keypoints_labeled: int
    bodyparts: list[str]
    stages: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    rmse_test: float | None = None
    rmse_video: float | None = None
    analysis_file: Path | None = None

    def report(self) -> str:
        lines = [
            f"markerless demo: project {self.config.parent}",
            f"  config        {self.config}",
            f"  video         {self.video} ({self.n_video_frames} frames)",
            f"  bodyparts     {', '.join(self.bodyparts)}",
            f"  labels        {self.labels_file} "
            f"({self.n_labeled_frames} frames, {self.n_keypoints_labeled} keypoints)",
        ]
        lines += [f"  {name:<13} {text}" for name, text in self.stages.items()]
        lines.append(f"  done in {self.seconds:.1f} s")
        return "\n".join(lines)


def label_from_ground_truth(
    project_path: Path, video: Path, truth: Poses, scorer: str
) -> tuple[Path, Poses]:
    """Write CollectedData for every extracted PNG of ``video`` using the true keypoints."""
    from markerless.io.dlc_labels import write_labels
    from markerless.project.frames import frame_index

    folder = project_path / "labeled-data" / video.stem
    pngs = sorted(p for p in folder.glob("img*.png") if frame_index(p.name) is not None)
    idx = np.array([frame_index(p.name) for p in pngs], dtype=int)
    labels = truth.select_frames(idx)
    labels.frames = [f"labeled-data/{video.stem}/{p.name}" for p in pngs]
    labels.scorer = scorer
    labels.likelihood = None
    path = write_labels(labels, folder)
    return Path(path), labels


def run_demo(
    workdir: str | os.PathLike = "markerless-demo",
    n_frames: int | None = None,
    quick: bool = False,
    seed: int = 0,
    fresh: bool = True,
    train: bool = True,
    progress: bool = True,
) -> DemoSummary:
    """Build the synthetic example project under ``workdir`` and run the loop on it."""
    from markerless import synthetic
    from markerless.io.video import probe_video
    from markerless.project.create import create_new_project
    from markerless.project.frames import extract_frames

    t0 = time.perf_counter()
    workdir = Path(workdir).resolve()
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    n_frames = n_frames or (120 if quick else 600)
    cfg_syn = synthetic.SyntheticConfig(n_frames=n_frames, seed=seed)
    video = workdir / "synthetic-mouse.mp4"
    truth = synthetic.write_clip(video, cfg_syn)

    config = Path(
        create_new_project(
            "demo", "markerless", [video], working_directory=workdir,
            copy_videos=True, bodyparts=truth.bodyparts,
        )
    )
    from markerless.io.config import read_config, write_config

    cfg = read_config(config)
    cfg["numframes2pick"] = 20 if quick else 40
    write_config(cfg, config)
    project_video = config.parent / "videos" / video.name
    extract_frames(config, algo="kmeans", seed=seed)
    labels_file, labels = label_from_ground_truth(
        config.parent, project_video, truth, "markerless")

    summary = DemoSummary(
        config=config,
        video=project_video,
        n_video_frames=probe_video(project_video).n_frames,
        labels_file=labels_file,
        n_labeled_frames=labels.n_frames,
        n_keypoints_labeled=labels.n_labeled,
        bodyparts=list(truth.bodyparts),
    )
    if train:
        _train_evaluate_analyse(summary, truth, quick, progress)
    summary.seconds = time.perf_counter() - t0
    return summary


def _train_evaluate_analyse(summary: DemoSummary, truth: Poses, quick: bool,
                            progress: bool) -> None:
    """Train a small network briefly, evaluate it and analyse the whole video."""
    from markerless.analysis.analyze import analyze_videos
    from markerless.evaluation.evaluate import evaluate_network
    from markerless.io.dlc_analysis import analysis_path, read_analysis
    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import train_network

    recipe = dict(DEMO_RECIPE_QUICK if quick else DEMO_RECIPE)
    t = time.perf_counter()
    create_training_dataset(summary.config, recipe="test", **recipe)
    train_network(summary.config, progress=progress)
    summary.stages["training"] = f"{recipe['maxiters']} steps in {time.perf_counter() - t:.0f} s"

    results = evaluate_network(summary.config, Shuffles=[1], show_errors=False)
    row = results.iloc[-1]
    summary.rmse_test = float(row[" Test error(px)"])
    summary.stages["evaluation"] = (
        f"train RMSE {float(row[' Train error(px)']):.2f} px, "
        f"test RMSE {summary.rmse_test:.2f} px (labeled frames held out)"
    )
    t = time.perf_counter()
    scorer = analyze_videos(summary.config, [summary.video], progress=progress)
    out = analysis_path(summary.video, scorer)
    pred = read_analysis(out)
    err = np.linalg.norm(pred.xy - truth.xy[: pred.n_frames], axis=-1)
    summary.rmse_video = float(np.sqrt(np.nanmean(err**2)))
    summary.analysis_file = out
    summary.stages["analysis"] = (
        f"{out.name}: {pred.n_frames} frames in {time.perf_counter() - t:.0f} s, "
        f"RMSE against ground truth on every frame {summary.rmse_video:.2f} px"
    )
