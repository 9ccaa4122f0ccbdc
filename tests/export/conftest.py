"""One trained tiny model (the "test" recipe, resnet_tiny) and its export, for every test here.

Training and exporting are the expensive part (XLA compilation, jax2onnx), so they happen
once per session; the tests only read the folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_helpers import HEIGHT, STEPS, WIDTH  # noqa: E402


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """config.yaml of a synthetic project trained STEPS steps (error well under 5 px)."""
    from project_factory import make_project

    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import train_network

    config = make_project(tmp_path_factory.mktemp("export-proj"), n_frames=40, height=HEIGHT,
                          width=WIDTH)
    create_training_dataset(config, recipe="test")
    train_network(config, maxiters=STEPS, saveiters=STEPS, progress=False)
    return config


@pytest.fixture(scope="session")
def exported(trained_project) -> Path:
    """The project's model exported (StableHLO + ONNX for 96x128 frames)."""
    from markerless.export import export_model

    return export_model(trained_project, frame_size=(HEIGHT, WIDTH))


@pytest.fixture(scope="session")
def reference(trained_project):
    """``predict(frames) -> (B, K, 3)``: the in-process analysis predictor of the same model."""
    import numpy as np

    from markerless.analysis.inference import FusedPredictor, Geometry
    from markerless.training.snapshots import load_model_for_inference

    model, info = load_model_for_inference(trained_project)

    def predict(frames):
        geom = Geometry(frame_hw=tuple(frames.shape[1:3]), net_type=info.net_type,
                        stride=info.stride, locref_stdev=info.locref_stdev)
        return np.asarray(FusedPredictor(model, geom)(frames))

    return predict
