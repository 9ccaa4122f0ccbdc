"""The jitted training step of the multi-animal head (the counterpart of
`markerless.training.train_step.make_train_step`, which stays the single-animal path).

Same structure: the batch is drawn and augmented on device from ``fold_in(key, step)``, a
``background_fraction`` of it cropped anywhere in the frame, then targets, network, loss
and AdamW run in one XLA program, so a resumed run continues bit-for-bit.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.training.ma_targets import MultiLayout
from markerless.training.recipes import TrainConfig

__all__ = ["make_ma_train_step"]


def make_ma_train_step(graphdef: Any, tc: TrainConfig, n_images: int, image_hw: tuple[int, int],
                       layout: MultiLayout, pairs: tuple = (), unique_pairs: tuple = ()
                       ) -> Callable[..., tuple[Any, dict[str, jax.Array]]]:
    """The jitted ``(state, images, keypoints, key, step) -> (state, loss terms)``.

    ``keypoints`` are flat ``(N, I*Km + Ku, 2)`` (`MultiLayout`); ``pairs`` are left/right
    pairs among the multi-animal bodyparts, ``unique_pairs`` among the unique ones.
    """
    from markerless.model import normalize_images
    from markerless.training.ma_augment import augment_multi_batch
    from markerless.training.ma_targets import ma_loss_terms, make_ma_targets

    aug = tc.augment_config()
    batch = tc.batch_size
    n_bg = min(int(round(tc.background_fraction * batch)), batch - 1)
    reach = 0.5 * max(image_hw[0] / tc.crop_size[0], image_hw[1] / tc.crop_size[1])
    aug_bg = dataclasses.replace(aug, center_on_keypoints=False,
                                 center_jitter=max(reach, aug.center_jitter))
    extra = {"all_animals_prob": tc.all_animals_prob, "occlusion_prob": tc.occlusion_prob}

    def augment(key, imgs, kps, config):
        return augment_multi_batch(key, imgs, kps, tc.crop_size, layout, config, pairs,
                                   unique_pairs, **extra)

    @functools.partial(jax.jit, donate_argnums=(0,))
    def train_step(state, images, keypoints, base_key, step):
        model, optimizer = nnx.merge(graphdef, state)
        k_idx, k_aug = jax.random.split(jax.random.fold_in(base_key, step))
        if batch <= n_images:
            idx = jax.random.choice(k_idx, n_images, (batch,), replace=False)
        else:
            idx = jax.random.randint(k_idx, (batch,), 0, n_images)
        imgs, kps = augment(k_aug, images[idx[n_bg:]], keypoints[idx[n_bg:]], aug)
        if n_bg:
            bg_imgs, bg_kps = augment(jax.random.fold_in(k_aug, 1), images[idx[:n_bg]],
                                      keypoints[idx[:n_bg]], aug_bg)
            imgs = jnp.concatenate([bg_imgs, imgs])
            kps = jnp.concatenate([bg_kps, kps])
        x = normalize_images(imgs, tc.net_type)

        def loss_fn(model):
            out = model(x)
            targets = make_ma_targets(
                kps, layout, out_hw=tuple(out["scores"].shape[1:3]), stride=tc.stride,
                pos_dist_thresh=tc.pos_dist_thresh, locref_stdev=tc.locref_stdev,
                paf_half_width=tc.paf_half_width,
            )
            terms = ma_loss_terms(out, targets, tc.locref_huber_weight, tc.paf_loss_weight,
                                  tc.identity_loss_weight)
            return terms["total"], terms

        (_, terms), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), terms

    return train_step
