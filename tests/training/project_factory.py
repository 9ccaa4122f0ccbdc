"""A tiny DeepLabCut-layout project with synthetic labeled frames, for tests and benchmarks.

Built by hand (config.yaml + labeled-data PNGs + CollectedData) so no video decoding is
needed; the frames and exact keypoints come from `markerless.synthetic`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from markerless.io.config import default_config, write_config
from markerless.io.dlc_labels import write_labels
from markerless.poses import Poses
from markerless.synthetic import SyntheticConfig, generate


def make_project(
    root: str | Path,
    n_frames: int = 40,
    height: int = 96,
    width: int = 128,
    seed: int = 0,
    videos: int = 1,
    fractions: tuple[float, ...] = (0.95,),
    unlabel: dict[int, list[int]] | None = None,
) -> Path:
    """Write the project under ``root``; returns its config.yaml path.

    ``videos`` splits the frames over that many labeled-data folders; ``unlabel`` maps a
    frame number to the keypoint indices set to NaN (all of them = an empty frame).
    """
    project = Path(root) / "synth-tester-2024-01-01"
    frames, poses = generate(SyntheticConfig(height=height, width=width, n_frames=n_frames,
                                             seed=seed, speed=3.0))
    xy = poses.xy.copy()
    for frame, kps in (unlabel or {}).items():
        xy[frame, :, kps] = np.nan
    cfg = default_config(task="synth", scorer="tester", date="Jan01",
                         project_path=str(project), bodyparts=list(poses.bodyparts))
    cfg["TrainingFraction"] = list(fractions)
    per = int(np.ceil(n_frames / videos))
    for v in range(videos):
        folder = project / "labeled-data" / f"clip{v}"
        folder.mkdir(parents=True)
        idx = np.arange(v * per, min((v + 1) * per, n_frames))
        names = []
        for i in idx:
            Image.fromarray(frames[i]).save(folder / f"img{i:03d}.png")
            names.append(f"labeled-data/clip{v}/img{i:03d}.png")
        write_labels(Poses(xy[idx], poses.bodyparts, poses.individuals, names, "tester"), folder)
    write_config(cfg, project / "config.yaml")
    return project / "config.yaml"
