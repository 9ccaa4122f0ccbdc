"""Fixtures for the analysis tests: an untrained tiny model and a small synthetic clip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from analysis_helpers import BODYPARTS, SCORER, make_video

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _tiny(seed: int):
    from flax import nnx

    from markerless.model import ModelConfig, build_model

    cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=len(BODYPARTS), pretrained=False)
    model = build_model(cfg, nnx.Rngs(seed))
    model.eval()
    return model


@pytest.fixture(scope="session")
def tiny_model():
    """(model, info) of an untrained resnet_tiny with 4 keypoints (no project needed)."""
    info = {"net_type": "resnet_tiny", "stride": 8, "bodyparts": list(BODYPARTS),
            "individuals": [""], "scorer": SCORER}
    return _tiny(0), info


@pytest.fixture(scope="session")
def other_model():
    """The same architecture with other weights."""
    return _tiny(1)


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A 40-frame 96x64 clip with keyframes every 10 frames, and its decoded frames."""
    path = tmp_path_factory.mktemp("clip") / "mouse.mp4"
    return path, make_video(path, 40, seed=3)
