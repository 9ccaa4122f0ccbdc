"""The optimiser and the jitted training step of `markerless.training.trainer.Trainer`.

Why a module of its own: this is everything that runs *on device* each step (batch drawing,
augmentation, targets, network, loss, AdamW update) compiled into one XLA program, while
`trainer` keeps the host side (data loading, checkpoints, the progress loop). `trainer`
re-exports `make_schedule` and `make_optimizer`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from markerless.training.recipes import TrainConfig

__all__ = ["make_optimizer", "make_schedule", "make_train_step"]


def make_schedule(tc: TrainConfig) -> optax.Schedule:
    """Linear warm-up to ``tc.lr`` then cosine (or step) decay over the remaining steps."""
    warmup = int(min(tc.warmup_iters, max(tc.maxiters - 1, 0)))
    rest = max(tc.maxiters - warmup, 1)
    if tc.schedule == "cosine":
        decay = optax.cosine_decay_schedule(tc.lr, rest, alpha=tc.final_lr_fraction)
    else:
        bounds = {int(b * rest): 0.1 for b in tc.step_boundaries if 0 < int(b * rest) < rest}
        decay = optax.piecewise_constant_schedule(tc.lr, bounds)
    if warmup == 0:
        return decay
    ramp = optax.linear_schedule(tc.lr * 0.01, tc.lr, warmup)
    return optax.join_schedules([ramp, decay], [warmup])


def make_optimizer(tc: TrainConfig) -> optax.GradientTransformation:
    """AdamW on `make_schedule`, after global-norm clipping when ``grad_clip_norm > 0``."""
    adamw = optax.adamw(make_schedule(tc), weight_decay=tc.weight_decay)
    if tc.grad_clip_norm > 0:
        return optax.chain(optax.clip_by_global_norm(tc.grad_clip_norm), adamw)
    return adamw


def make_train_step(graphdef: Any, tc: TrainConfig, n_images: int, image_hw: tuple[int, int],
                    pairs: tuple, pos_weight: Any = None
                    ) -> Callable[..., tuple[Any, dict[str, jax.Array]]]:
    """The jitted ``(state, images, keypoints, key, step) -> (state, loss terms)``.

    ``tc.background_fraction`` of each batch is cropped anywhere in the frame instead of
    around the animal: inference runs on whole frames, so the network must also have seen
    the arena's far corners, walls and reflections as negatives. ``pos_weight`` is the
    ``(K,)`` positive weight per bodypart (`markerless.training.targets.positive_weights`;
    default ``tc.positive_weight`` for all).
    """
    from markerless.model import normalize_images
    from markerless.training.augment import augment_batch
    from markerless.training.targets import heatmap_loss_terms, make_targets

    aug = tc.augment_config()
    batch = tc.batch_size
    weights = jnp.asarray(tc.positive_weight if pos_weight is None else pos_weight, jnp.float32)
    n_bg = min(int(round(tc.background_fraction * batch)), batch - 1)
    # Crop centres spread over the whole frame: jitter in units of the crop size.
    reach = 0.5 * max(image_hw[0] / tc.crop_size[0], image_hw[1] / tc.crop_size[1])
    aug_bg = dataclasses.replace(aug, center_on_keypoints=False,
                                 center_jitter=max(reach, aug.center_jitter))

    @functools.partial(jax.jit, donate_argnums=(0,))
    def train_step(state, images, keypoints, base_key, step):
        model, optimizer = nnx.merge(graphdef, state)
        k_idx, k_aug = jax.random.split(jax.random.fold_in(base_key, step))
        if batch <= n_images:
            idx = jax.random.choice(k_idx, n_images, (batch,), replace=False)
        else:
            idx = jax.random.randint(k_idx, (batch,), 0, n_images)
        imgs, kps = augment_batch(k_aug, images[idx[n_bg:]], keypoints[idx[n_bg:]],
                                  tc.crop_size, aug, pairs)
        if n_bg:
            bg_imgs, bg_kps = augment_batch(jax.random.fold_in(k_aug, 1), images[idx[:n_bg]],
                                            keypoints[idx[:n_bg]], tc.crop_size, aug_bg, pairs)
            imgs = jnp.concatenate([bg_imgs, imgs])
            kps = jnp.concatenate([bg_kps, kps])
        x = normalize_images(imgs, tc.net_type)

        def loss_fn(model):
            logits, locref = model(x)
            targets = make_targets(
                kps, out_hw=tuple(logits.shape[1:3]), stride=tc.stride,
                pos_dist_thresh=tc.pos_dist_thresh, mode=tc.target_mode,
                locref_stdev=tc.locref_stdev, unlabeled_weight=tc.unlabeled_weight,
            )
            terms = heatmap_loss_terms(logits, locref, targets, tc.locref_huber_weight,
                                       weights, tc.visibility_weight)
            return terms["total"], terms

        (_, terms), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), terms

    return train_step
