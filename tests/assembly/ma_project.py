"""A tiny multi-animal DeepLabCut-layout project with synthetic labeled frames (2 animals).

Built by hand (config.yaml + labeled-data PNGs + CollectedData) from
`markerless.synthetic` (each animal in its own grid cell; exact keypoints), for the
multi-animal training, assembly and analysis tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from markerless.io.config import default_config, write_config
from markerless.io.dlc_labels import write_labels
from markerless.poses import Poses
from markerless.synthetic import SyntheticConfig, generate

SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["snout", "tailbase"]]


def synthetic_config(n_frames: int = 40, height: int = 96, width: int = 160, seed: int = 0,
                     n_animals: int = 2, bodyparts=("snout", "leftear", "rightear", "tailbase"),
                     **kw) -> SyntheticConfig:
    return SyntheticConfig(height=height, width=width, n_frames=n_frames, seed=seed,
                           n_animals=n_animals, bodyparts=tuple(bodyparts), speed=3.0, **kw)


def make_ma_project(root: str | Path, n_frames: int = 40, seed: int = 0, identity: bool = False,
                    unique: bool = False, fractions: tuple[float, ...] = (0.9,),
                    skeleton=SKELETON, unlabel: dict | None = None, **kw) -> Path:
    """Write the project under ``root``; returns its config.yaml path.

    ``unique`` adds a unique bodypart ``marker`` that follows animal 0's snout (a fixed
    point of the scene would test nothing). ``unlabel`` maps a frame to ``(individual,
    [keypoint indices])`` pairs set to NaN (all of an animal: it left the frame).
    """
    project = Path(root) / "ma-tester-2024-01-01"
    frames, poses = generate(synthetic_config(n_frames, seed=seed, **kw))
    individuals = list(poses.individuals)
    multi = list(poses.bodyparts)
    uniq = ["marker"] if unique else []
    cfg = default_config(task="ma", scorer="tester", date="Jan01", multianimal=True,
                         project_path=str(project), bodyparts=multi, individuals=individuals,
                         unique_bodyparts=uniq, skeleton=skeleton)
    cfg["identity"] = bool(identity)
    cfg["TrainingFraction"] = list(fractions)
    xy = poses.xy.copy()
    for frame, pairs in (unlabel or {}).items():
        for ind, kps in pairs:
            xy[frame, ind, kps] = np.nan
    defined = None
    if unique:
        n, i, k, _ = xy.shape
        full = np.full((n, i + 1, k + 1, 2), np.nan)
        full[:, :i, :k] = xy
        full[:, i, k] = xy[:, 0, 0]
        xy = full
        individuals = individuals + ["single"]
        defined = np.zeros((i + 1, k + 1), bool)
        defined[:i, :k] = True
        defined[i, k] = True
    folder = project / "labeled-data" / "clip0"
    folder.mkdir(parents=True)
    names = []
    for f in range(n_frames):
        Image.fromarray(frames[f]).save(folder / f"img{f:03d}.png")
        names.append(f"labeled-data/clip0/img{f:03d}.png")
    write_labels(Poses(xy, multi + uniq, individuals, names, "tester", None, defined), folder)
    write_config(cfg, project / "config.yaml")
    return project / "config.yaml"
