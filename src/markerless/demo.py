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
    labels_file, labels = label_from_ground_truth(config.parent, project_video, truth, "markerless")

    summary = DemoSummary(
        config=config,
        video=project_video,
        n_video_frames=probe_video(project_video).n_frames,
        labels_file=labels_file,
        n_labeled_frames=labels.n_frames,
        n_keypoints_labeled=labels.n_labeled,
        bodyparts=list(truth.bodyparts),
    )
    summary.seconds = time.perf_counter() - t0
    return summary
