"""The model trains: frozen BatchNorm statistics, jit, and learning to find a blob."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from markerless.model import FreezableBatchNorm, ModelConfig, build_model, normalize_images

STRIDE = 8


def _blobs(rng: np.random.Generator, n: int, size: int = 64):
    """Dark noisy images with one bright disc; target = the disc's stride-8 cell."""
    imgs = rng.integers(0, 60, (n, size, size, 3)).astype(np.uint8)
    target = np.zeros((n, size // STRIDE, size // STRIDE), np.float32)
    yy, xx = np.mgrid[:size, :size]
    centres = rng.integers(4, size - 4, (n, 2))
    for b, (cy, cx) in enumerate(centres):
        imgs[b][(yy - cy) ** 2 + (xx - cx) ** 2 < 16] = 255
        target[b, cy // STRIDE, cx // STRIDE] = 1.0
    return normalize_images(imgs, "resnet_tiny"), jnp.asarray(target)


def _loss(model, x, target):
    scores, _ = model(x)
    return optax.sigmoid_binary_cross_entropy(scores[..., 0], target).mean()


@nnx.jit
def _train_step(model, optimizer, x, target):
    loss, grads = nnx.value_and_grad(_loss)(model, x, target)
    optimizer.update(model, grads)
    return loss


_forward = nnx.jit(lambda model, x: model(x))


@pytest.fixture(scope="module")
def trained():
    """resnet_tiny (frozen BN, train mode) after 60 Adam steps on blob images."""
    cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=1, pretrained=False)
    model = build_model(cfg, nnx.Rngs(0))
    model.train()
    stats0 = [np.asarray(v) for v in jax.tree.leaves(nnx.state(model, nnx.BatchStat))]
    params0 = [np.asarray(v) for v in jax.tree.leaves(nnx.state(model, nnx.Param))]
    optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)
    rng = np.random.default_rng(0)
    losses = [float(_train_step(model, optimizer, *_blobs(rng, 8))) for _ in range(60)]
    model.eval()
    return model, losses, stats0, params0


def test_frozen_batch_norm_keeps_statistics_in_train_mode(trained):
    model, _, stats0, params0 = trained
    stats = [np.asarray(v) for v in jax.tree.leaves(nnx.state(model, nnx.BatchStat))]
    assert all(np.array_equal(a, b) for a, b in zip(stats0, stats, strict=True))
    params = [np.asarray(v) for v in jax.tree.leaves(nnx.state(model, nnx.Param))]
    assert sum(not np.array_equal(a, b) for a, b in zip(params0, params, strict=True)) > 0.9 * len(
        params
    )


def test_learns_to_find_a_blob(trained):
    model, losses, _, _ = trained
    assert np.mean(losses[-10:]) < 0.25 * np.mean(losses[:5])
    x, target = _blobs(np.random.default_rng(99), 16)
    scores, _ = _forward(model, x)
    pred = np.asarray(scores[..., 0]).reshape(16, -1).argmax(1)
    true = np.asarray(target).reshape(16, -1).argmax(1)
    assert (pred == true).mean() >= 0.8


def test_jit_matches_functional_apply(trained):
    model, _, _, _ = trained
    x, _ = _blobs(np.random.default_rng(5), 16)
    graphdef, state = nnx.split(model)
    apply = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))
    s1, l1 = apply(state, x)
    s2, l2 = _forward(model, x)
    np.testing.assert_allclose(np.asarray(s1), np.asarray(s2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(l1), np.asarray(l2), rtol=1e-5, atol=1e-5)


def test_unfrozen_batch_norm_updates_statistics():
    bn = FreezableBatchNorm(3, freeze_stats=True, momentum=0.5, rngs=nnx.Rngs(0))
    bn.train()
    x = jnp.full((4, 2, 2, 3), 2.0)
    bn(x)
    np.testing.assert_array_equal(np.asarray(bn.mean.get_value()), 0.0)
    bn.freeze_stats = False
    bn(x)
    np.testing.assert_allclose(np.asarray(bn.mean.get_value()), 1.0)  # 0.5*0 + 0.5*2
    bn.eval()
    y = bn(x)  # eval: running stats, no update
    np.testing.assert_allclose(np.asarray(bn.mean.get_value()), 1.0)
    assert y.shape == x.shape


def test_freeze_switch_reaches_every_batch_norm():
    cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=1, pretrained=False, frozen_bn=False)
    model = nnx.eval_shape(lambda: build_model(cfg, nnx.Rngs(0)))
    bns = [m for _, m in nnx.iter_modules(model) if isinstance(m, FreezableBatchNorm)]
    assert len(bns) > 10 and not any(bn.freeze_stats for bn in bns)
    model.freeze_batch_stats(True)
    assert all(bn.freeze_stats for bn in bns)
