"""Training loop: learning, exact resume after a kill, snapshots, inference on whole frames.

One small training run (resnet_tiny, 64x64 crops of 96x128 synthetic frames) is shared by the
tests of this module: it is the expensive part (XLA compilation of the train step).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from flax import nnx
from project_factory import make_project

from markerless.errors import ModelError
from markerless.evaluation.metrics import compute_rmse
from markerless.io.config import read_config, write_config
from markerless.training.checkpoint import flatten_state
from markerless.training.dataset import create_training_dataset
from markerless.training.recipes import TrainConfig, get_recipe
from markerless.training.snapshots import (
    Predictor,
    list_snapshots,
    load_model_for_inference,
    select_snapshots,
    snapshot_step,
)
from markerless.training.trainer import Trainer, iter_train, make_schedule
from markerless.training.training_data import load_training_data

MAXITERS, SAVEITERS, KEEP = 240, 60, 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train MAXITERS steps, keeping a copy of the full state written at step 60.

    Also returns the mean pixel error on all frames before and after training, measured
    with one `Predictor` (compiled once) whose weights are swapped.
    """
    config = make_project(tmp_path_factory.mktemp("train"), n_frames=40)
    create_training_dataset(config, recipe="test")
    train_dir = config.parent / "dlc-models/iteration-0/synthJan01-trainset95shuffle1/train"
    kept = config.parent / "train_state_at_60.msgpack"
    data = load_training_data(config, which="all")
    trainer = Trainer(config, maxiters=MAXITERS, saveiters=SAVEITERS, displayiters=1,
                      max_snapshots_to_keep=KEEP)
    predictor = Predictor(trainer.eval_model(), trainer.model_info())
    errors = {"untrained": compute_rmse(predictor(data.images), data.keypoints[:, 0])}
    losses = {}
    for info in trainer.run():
        losses[info["step"]] = info["loss"]
        if info["step"] == 60:
            shutil.copy(train_dir / "train_state.msgpack", kept)
    predictor.state = nnx.split(trainer.eval_model())[1]
    errors["trained"] = compute_rmse(predictor(data.images), data.keypoints[:, 0])
    return config, train_dir, kept, losses, errors


def test_loss_decreases_and_error_far_below_untrained(trained):
    _, _, _, losses, errors = trained
    first = np.mean([losses[s] for s in range(1, 11)])
    last = np.mean([losses[s] for s in range(MAXITERS - 9, MAXITERS + 1)])
    assert last < 0.5 * first
    assert errors["untrained"] > 8.0  # measured 13.6-39.7 px over seeds 0-4
    # measured over seeds 0-4: trained 1.7-2.7 px, 0.06-0.16 of untrained; loss 0.13-0.16x
    assert errors["trained"] < 5.0 and errors["trained"] < 0.35 * errors["untrained"]


def test_resume_after_kill_continues_exactly(trained):
    config, train_dir, kept, losses, _ = trained
    shutil.copy(kept, train_dir / "train_state.msgpack")  # as a run killed after step 60 left it
    resumed = {}
    gen = iter_train(config, maxiters=MAXITERS, saveiters=SAVEITERS, displayiters=1,
                     max_snapshots_to_keep=KEEP)
    for info in gen:
        resumed[info["step"]] = info["loss"]
        if len(resumed) == 3:
            break
    gen.close()  # interrupting saves the run so far
    assert sorted(resumed) == [61, 62, 63]
    for step, loss in resumed.items():
        assert loss == pytest.approx(losses[step], rel=1e-6, abs=1e-7)
    assert Trainer(config).step == 63  # resumes from the state the interruption saved


def test_snapshots_kept_and_selected(trained):
    config, train_dir, _, _, _ = trained
    snaps = list_snapshots(train_dir.parent)
    steps = [snapshot_step(p) for p in snaps]
    # Only the newest KEEP are left (the resume test may have added snapshot-63).
    assert steps == sorted(steps) and len(steps) == KEEP and steps[-1] == MAXITERS
    assert 30 not in steps
    assert select_snapshots(snaps, -1) == [snaps[-1]]
    assert select_snapshots(snaps, 0) == [snaps[0]]
    assert select_snapshots(snaps, "all") == snaps
    with pytest.raises(ModelError, match="out of range"):
        select_snapshots(snaps, 7)
    model, info = load_model_for_inference(config, snapshot_index=0)
    assert info.step == snapshot_step(snaps[0]) and info["net_type"] == "resnet_tiny"
    assert info.scorer == f"DLC_resnettiny_synthJan01shuffle1_{info.step}"
    assert info.bodyparts == ["snout", "leftear", "rightear", "tailbase"]
    assert info.individuals == [""] and info.stride == 8
    # config.yaml snapshotindex is used when no index is given.
    cfg = read_config(config)
    cfg["snapshotindex"] = 1
    write_config(cfg, config)
    try:
        assert load_model_for_inference(config)[1].step == snapshot_step(snaps[1])
    finally:
        cfg["snapshotindex"] = -1
        write_config(cfg, config)


def test_batchnorm_statistics_trained_from_scratch(trained):
    """Without pretrained weights (the test recipe) BatchNorm statistics are learned."""
    config, _, _, _, _ = trained
    model, _ = load_model_for_inference(config)
    stats = flatten_state(nnx.state(model, nnx.BatchStat))
    means = [v for k, v in stats.items() if k.endswith("mean")]
    assert means and max(float(np.abs(m).max()) for m in means) > 1e-3


def test_frozen_batchnorm_statistics_stay_fixed(trained):
    config, _, _, _, _ = trained
    trainer = Trainer(config, resume=False, freeze_bn=True, crop_size=(32, 32))
    model = trainer.eval_model()
    before = flatten_state(nnx.state(model, nnx.BatchStat))
    params_before = flatten_state(nnx.state(model, nnx.Param))
    trainer.train_step()
    trainer.train_step()
    model = trainer.eval_model()
    after = flatten_state(nnx.state(model, nnx.BatchStat))
    assert before.keys() == after.keys() and before
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    params_after = flatten_state(nnx.state(model, nnx.Param))
    assert any(not np.array_equal(params_before[k], params_after[k]) for k in params_before)


def test_resume_refuses_a_different_network(trained):
    config, _, _, _, _ = trained
    with pytest.raises(ModelError, match="different network"):
        Trainer(config, crop_size=(32, 32))


def test_predictor_maps_scaled_inference_back(trained):
    """global_scale: frames are resized first and predictions come back in frame pixels."""
    config, _, _, _, _ = trained
    model, info = load_model_for_inference(config)
    frames = load_training_data(config, which="test").images
    base = Predictor(model, info)(frames)
    # The same scene at twice the size, with global_scale 0.5: the network sees (nearly) the
    # original frames, so the keypoints must come back at twice the coordinates.
    info.global_scale = 0.5
    big = Predictor(model, info)(frames.repeat(2, axis=1).repeat(2, axis=2))
    assert base.shape == big.shape == (len(frames), 4, 3)
    # a wrong mapping is off by tens of pixels (a factor 2); resampling moves a tiny net's
    # predictions by a pixel or two
    np.testing.assert_allclose((big[..., :2] + 0.5) / 2 - 0.5, base[..., :2], atol=3.0)


def test_schedule_warmup_then_decay():
    tc = TrainConfig(maxiters=100, warmup_iters=10, lr=1e-3, final_lr_fraction=0.1)
    sched = make_schedule(tc)
    assert float(sched(0)) == pytest.approx(1e-5, rel=1e-4)
    assert float(sched(10)) == pytest.approx(1e-3)
    assert float(sched(100)) == pytest.approx(1e-4)
    step = make_schedule(tc.replace(schedule="step", step_boundaries=(0.5,)))
    assert float(step(20)) == pytest.approx(1e-3) and float(step(99)) == pytest.approx(1e-4)


def test_recipes_round_trip():
    tc = get_recipe("test", maxiters=7, crop_size=[32, 48])
    assert tc.maxiters == 7 and tc.crop_size == (32, 48) and tc.net_type == "resnet_tiny"
    assert TrainConfig.from_dict(tc.to_dict()) == tc
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("nope")
    with pytest.raises(TypeError, match="no field"):
        tc.replace(learning_rate=1.0)


def test_train_network_returns_last_snapshot_when_done(trained):
    """Resuming a finished run trains nothing and returns the newest snapshot."""
    config, train_dir, _, _, _ = trained
    from markerless.training.trainer import train_network

    Trainer(config).save()  # make sure train_state is at the newest snapshot
    last = list_snapshots(train_dir)[-1]
    step = snapshot_step(last)
    assert train_network(config, maxiters=step, progress=False) == last
