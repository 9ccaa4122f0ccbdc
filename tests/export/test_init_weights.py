"""train_network(init_weights=exported folder): keypoints matched by name, fewer steps.

Machine independence: the comparison is between starting points, not timings. A network
initialised from the exported model is already close on the keypoints it shares with the
new project (their names match in another order), while the recipe's own initialisation
(random for resnet_tiny, which has no ImageNet weights) starts ~17 px off and, measured
here, still needs more than 30 steps to get within TARGET_PX: far more than the STEPS
trained in the test, whatever the CPU's rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import HEIGHT, WIDTH

from markerless.errors import ModelError
from markerless.training.init_weights import match_keypoints

TARGET_PX, STEPS, EVERY = 3.5, 8, 2


def test_match_keypoints_by_name():
    assert match_keypoints(["tailbase", "Snout", "nose"], ["snout", "leftear", "tailbase"]) \
        == [2, 0, None]


@pytest.fixture(scope="module")
def renamed_project(tmp_path_factory):
    """A new project: other frames, keypoints reordered, one new (``nose``) and one dropped."""
    from project_factory import make_project

    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import find_labels_file, read_labels, write_labels
    from markerless.poses import Poses
    from markerless.training.dataset import create_training_dataset

    config = make_project(tmp_path_factory.mktemp("iw"), n_frames=24, height=HEIGHT,
                          width=WIDTH, seed=5)
    order = ["tailbase", "snout", "rightear"]
    folder = config.parent / "labeled-data" / "clip0"
    old = read_labels(find_labels_file(folder))
    idx = [old.bodyparts.index(b) for b in order]
    xy = np.concatenate([old.xy[:, :, idx], old.xy[:, :, 1:2]], axis=2)  # nose := leftear
    write_labels(Poses(xy, [*order, "nose"], old.individuals, old.frames, old.scorer), folder,
                 overwrite=True)
    cfg = read_config(config)
    cfg["bodyparts"] = [*order, "nose"]
    write_config(cfg, config)
    create_training_dataset(config, recipe="test")
    return config


_PREDICTOR = {}


def _errors_by_step(config, init_weights):
    """RMSE on the 3 shared keypoints at steps 0, EVERY, 2 * EVERY, ... STEPS."""
    from flax import nnx

    from markerless.evaluation.metrics import compute_rmse
    from markerless.training.snapshots import Predictor
    from markerless.training.trainer import Trainer
    from markerless.training.training_data import load_training_data

    data = load_training_data(config, which="all")
    trainer = Trainer(config, maxiters=STEPS, saveiters=1000, displayiters=1, resume=False,
                      init_weights=init_weights)
    if "p" not in _PREDICTOR:  # one compiled predictor for both runs (same architecture)
        _PREDICTOR["p"] = Predictor(trainer.eval_model(), trainer.model_info())
    predictor = _PREDICTOR["p"]
    errors = []
    for step in range(STEPS + 1):
        if step % EVERY == 0:
            predictor.state = nnx.split(trainer.eval_model())[1]
            pred = predictor(data.images)
            errors.append(compute_rmse(pred[:, :3], data.keypoints[:, 0, :3]))
        if step < STEPS:
            trainer.train_step()
    return np.asarray(errors)


def _steps_to(errors):
    hit = np.flatnonzero(errors <= TARGET_PX)
    return EVERY * int(hit[0]) if hit.size else np.inf


def test_fine_tuning_from_an_export_needs_fewer_steps(exported, renamed_project, capsys):
    from_export = _errors_by_step(renamed_project, exported)
    printed = capsys.readouterr().out
    assert "tailbase" in printed and "<- tailbase" in printed
    assert "nose" in printed and "(new: fresh weights)" in printed
    from_default = _errors_by_step(renamed_project, None)
    assert _steps_to(from_export) < _steps_to(from_default)
    assert from_export[0] <= TARGET_PX < from_default.min()


def test_other_architecture_is_refused(exported, renamed_project, tmp_path):
    from flax import nnx

    from markerless.model import ModelConfig, build_model
    from markerless.training.init_weights import apply_init_weights

    other = build_model(ModelConfig(net_type="resnet_tiny", num_keypoints=2, stride=4,
                                    pretrained=False), nnx.Rngs(0))
    with pytest.raises(ModelError, match="does not fit"):
        apply_init_weights(other, exported, ["snout", "tailbase"], verbose=False)
    with pytest.raises(ModelError, match="neither"):
        apply_init_weights(other, tmp_path, ["snout"], verbose=False)
