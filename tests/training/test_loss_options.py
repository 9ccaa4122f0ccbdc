"""Loss and optimiser options for hard projects: absent parts as negatives, rare parts
weighted up without losing calibrated likelihoods, a backbone held still at first."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from markerless.training.targets import heatmap_loss_terms, make_targets, positive_weights


def test_positive_weights_follow_how_rarely_a_part_is_labeled():
    kp = np.zeros((8, 3, 2))
    kp[2:, 1] = np.nan  # part 1 labeled in 2 of 8 frames
    kp[:, 2] = np.nan  # part 2 never
    np.testing.assert_allclose(positive_weights(kp, base=2.0), [2.0, 8.0, 2.0])
    np.testing.assert_allclose(positive_weights(kp, base=1.0, max_ratio=3.0), [1.0, 3.0, 1.0])


def test_unlabeled_parts_can_be_trained_as_not_here():
    kp = jnp.asarray([[[20.0, 20.0], [np.nan, np.nan]]])
    masked = make_targets(kp, (8, 8), 8, pos_dist_thresh=8.0)
    absent = make_targets(kp, (8, 8), 8, pos_dist_thresh=8.0, unlabeled_weight=1.0)
    assert float(masked["scmap_weights"][..., 1].sum()) == 0.0
    assert float(absent["scmap_weights"][..., 1].min()) == 1.0
    assert float(absent["scmap"][..., 1].max()) == 0.0


def test_weighted_positives_keep_the_likelihood_calibrated():
    """One logit shared by a positive and a negative cell: the true probability is 0.5.
    Weighted cross-entropy alone would move the optimum to w / (1 + w); with the logit
    adjustment the optimum stays at 0.5."""
    targets = {
        "scmap": jnp.asarray([1.0, 0.0]).reshape(1, 1, 2, 1),
        "scmap_weights": jnp.ones((1, 1, 2, 1)),
        "locref": jnp.zeros((1, 1, 2, 1, 2)),
        "locref_weights": jnp.zeros((1, 1, 2, 1, 2)),
    }
    zs = jnp.linspace(-6, 6, 1201)

    def loss(z, w):
        logits = jnp.full((1, 1, 2, 1), z)
        return heatmap_loss_terms(logits, None, targets, positive_weight=w)["part_loss"]

    for w in (1.0, 5.0, 20.0):
        best = zs[int(jnp.argmin(jax.vmap(lambda z, w=w: loss(z, w))(zs)))]
        assert abs(float(jax.nn.sigmoid(best)) - 0.5) < 0.01, (w, float(best))


def test_the_backbone_is_held_still_for_the_first_steps():
    from markerless.model import ModelConfig, build_model
    from markerless.training.recipes import get_recipe
    from markerless.training.train_step import make_optimizer

    model = build_model(ModelConfig(net_type="resnet_tiny", num_keypoints=2, pretrained=False),
                        nnx.Rngs(0))
    opt = nnx.Optimizer(model, make_optimizer(get_recipe("test", freeze_backbone_steps=2)),
                        wrt=nnx.Param)
    start = jax.tree.map(np.array, nnx.state(model, nnx.Param))

    def loss(m):
        scores, locref = m(jnp.ones((1, 32, 32, 3)))
        return (scores**2).mean() + (locref**2).mean()

    def moved(part):
        now = nnx.state(model, nnx.Param)[part]
        return max(float(np.abs(np.asarray(a) - b).max())
                   for a, b in zip(jax.tree.leaves(now), jax.tree.leaves(start[part]),
                                   strict=True))

    for step in range(3):
        opt.update(model, nnx.grad(loss)(model))
        assert moved("head") > 0
        assert (moved("backbone") > 0) == (step == 2)
