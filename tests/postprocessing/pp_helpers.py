"""Helpers of the postprocessing tests: fake analysis results and model folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from markerless.poses import Poses

SCORER = "DLC_resnettiny_synthJan01shuffle1_100"
N_FRAMES = 48


def make_results(truth: Poses, seed: int = 0, noise: float = 0.5) -> Poses:
    """Ground truth + small noise, likelihood 0.95, as if a good model had analysed the video."""
    rng = np.random.default_rng(seed)
    xy = truth.xy + rng.normal(0, noise, truth.xy.shape)
    lik = np.full(truth.xy.shape[:3], 0.95)
    return Poses(xy, truth.bodyparts, truth.individuals, list(range(truth.n_frames)), SCORER, lik)


def fake_model(root: Path, steps: tuple[int, ...] = (50, 100), iteration: int = 0) -> Path:
    """A model folder as train_network leaves it (pose_cfg.yaml, snapshots), without weights."""
    folder = root / "dlc-models" / f"iteration-{iteration}" / "synthJan01-trainset95shuffle1"
    train = folder / "train"
    train.mkdir(parents=True)
    (train / "pose_cfg.yaml").write_text("net_type: resnet_tiny\nstride: 8\n")
    for step in steps:
        (train / f"snapshot-{step}.msgpack").write_bytes(b"")
    return train
