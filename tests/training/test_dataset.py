"""create_training_dataset: deterministic recorded splits with DeepLabCut's folder names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from project_factory import make_project

from markerless.errors import ConfigError
from markerless.io.dlc_labels import read_labels
from markerless.training.dataset import (
    collect_labels,
    create_training_dataset,
    load_split,
    read_pose_cfg,
    split_indices,
)
from markerless.training.training_data import load_training_data


def test_split_is_deterministic_and_respects_fraction():
    a_train, a_test = split_indices(116, 0.95, shuffle=1)
    b_train, b_test = split_indices(116, 0.95, shuffle=1)
    np.testing.assert_array_equal(a_train, b_train)
    assert len(a_train) == 110 and len(a_test) == 6  # round(0.95 * 116), as DeepLabCut
    assert sorted(np.concatenate([a_train, a_test]).tolist()) == list(range(116))
    c_train, _ = split_indices(116, 0.95, shuffle=2)
    assert not np.array_equal(a_train, c_train)
    # Same shuffle, smaller fraction: a subset of the larger training set.
    small, _ = split_indices(116, 0.5, shuffle=1)
    assert len(small) == 58 and set(small) <= set(a_train)
    # A fraction < 1 always leaves a test frame; 1.0 trains on everything.
    assert len(split_indices(10, 0.99, 1)[1]) == 1
    assert len(split_indices(10, 1.0, 1)[1]) == 0
    with pytest.raises(ConfigError):
        split_indices(10, 0.0, 1)


@pytest.fixture
def project(tmp_path):
    # Frame 3 has no label at all (skipped); frame 5 lacks its snout (kept, masked).
    return make_project(tmp_path, n_frames=20, videos=2, fractions=(0.8, 0.5),
                        unlabel={3: [0, 1, 2, 3], 5: [0]})


def test_collect_labels_skips_empty_frames_and_keeps_partial(project):
    poses, skipped = collect_labels(project)
    assert skipped == ["labeled-data/clip0/img003.png"]
    assert poses.n_frames == 19
    row = poses.frames.index("labeled-data/clip0/img005.png")
    assert np.isnan(poses.xy[row, 0, 0]).all() and not np.isnan(poses.xy[row, 0, 1:]).any()
    assert poses.frames[-1] == "labeled-data/clip1/img019.png"  # both folders, in order


def test_create_training_dataset_writes_dlc_layout(project):
    root = project.parent
    splits = create_training_dataset(project, Shuffles=[1, 2])
    assert [(f, s) for f, s, _ in splits] == [(0.8, 1), (0.8, 2), (0.5, 1), (0.5, 2)]
    tsf = root / "training-datasets" / "iteration-0" / "UnaugmentedDataSet_synthJan01"
    labels = read_labels(tsf / "CollectedData_tester.h5")
    assert labels.n_frames == 19
    record = json.loads((tsf / "split_80shuffle2.json").read_text())
    assert len(record["train_indices"]) == 15 and len(record["test_indices"]) == 4
    assert record["skipped_empty_frames"] == ["labeled-data/clip0/img003.png"]
    assert record["test_frames"] == [labels.frames[i] for i in record["test_indices"]]
    for pct, k in ((80, 1), (80, 2), (50, 1), (50, 2)):
        pose_cfg = read_pose_cfg(root / "dlc-models" / "iteration-0" /
                                 f"synthJan01-trainset{pct}shuffle{k}")
        assert pose_cfg["all_joints_names"] == ["snout", "leftear", "rightear", "tailbase"]
        assert pose_cfg["num_joints"] == 4 and pose_cfg["shuffle"] == k
        assert pose_cfg["dataset"].endswith(f"split_{pct}shuffle{k}.json")
        assert pose_cfg["train_config"]["net_type"] == pose_cfg["net_type"]

    # Re-running gives the same split (evaluation keeps scoring the same frames).
    again = create_training_dataset(project, Shuffles=[1, 2])
    for (_, _, (tr1, te1)), (_, _, (tr2, te2)) in zip(splits, again, strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)
    assert load_split(project, shuffle=2, trainingsetindex=0)["test_indices"] == \
        record["test_indices"]


def test_recipe_and_explicit_indices(project):
    create_training_dataset(project, Shuffles=[3], trainIndices=[[0, 1, 2, 4]],
                            testIndices=[[5, 6]], net_type="resnet_tiny", recipe="test",
                            crop_size=(48, 48))
    split = load_split(project, shuffle=3)
    assert split["train_indices"] == [0, 1, 2, 4] and split["test_indices"] == [5, 6]
    pose_cfg = read_pose_cfg(project.parent / "dlc-models" / "iteration-0"
                             / "synthJan01-trainset80shuffle3")
    assert pose_cfg["net_type"] == "resnet_tiny"
    assert pose_cfg["train_config"]["crop_size"] == [48, 48]
    with pytest.raises(ConfigError, match="net_type"):
        create_training_dataset(project, net_type="resnet_1000")
    with pytest.raises(ConfigError, match="out of range"):
        load_split(project, shuffle=1, trainingsetindex=5)


def test_one_training_fraction_leaves_the_others_alone(project):
    models = project.parent / "dlc-models" / "iteration-0"
    create_training_dataset(project, Shuffles=[1], net_type="resnet_tiny", recipe="test")
    trained_80 = (models / "synthJan01-trainset80shuffle1" / "train" / "pose_cfg.yaml")
    before = trained_80.read_bytes()
    splits = create_training_dataset(project, Shuffles=[1], net_type="resnet18",
                                     trainingsetindex=1)
    assert [(f, s) for f, s, _ in splits] == [(0.5, 1)]
    assert trained_80.read_bytes() == before  # still resnet_tiny
    assert read_pose_cfg(models / "synthJan01-trainset50shuffle1")["net_type"] == "resnet18"
    with pytest.raises(ConfigError, match="out of range"):
        create_training_dataset(project, trainingsetindex=2)


def test_load_training_data_images_and_scaled_keypoints(project):
    create_training_dataset(project)
    split = load_split(project)
    full = load_training_data(project, which="test")
    assert full.images.shape == (4, 96, 128, 3) and full.images.dtype == np.uint8
    assert full.frames == split["test_frames"]
    labels = read_labels(project.parent / "training-datasets/iteration-0/"
                         "UnaugmentedDataSet_synthJan01/CollectedData_tester.h5")
    np.testing.assert_allclose(full.keypoints, labels.xy[split["test_indices"]], rtol=1e-6)
    half = load_training_data(project, which="test", scale=0.5)
    assert half.images.shape == (4, 48, 64, 3)
    # Pixel centres at integers: x' = (x + 0.5) * s - 0.5.
    np.testing.assert_allclose(half.keypoints, (full.keypoints + 0.5) * 0.5 - 0.5, rtol=1e-6)
    assert len(load_training_data(project, which="all").frames) == 19
