"""On-device augmentation of multi-animal batches: crops holding several animals, flips that
swap left/right within each animal, occlusion.

Built from the pieces of `markerless.training.augment` (same geometry sampling, warping and
photometric ops, so single- and multi-animal crops look alike); what differs:

* the crop centre: with probability ``all_animals_prob`` the centroid of every labeled
  keypoint (so animals close together share the crop), otherwise one animal chosen at random
  among those labeled, plus the usual jitter; neighbours inside the crop stay labeled, so
  crops with several animals are common wherever animals meet;
* flips permute the flat keypoint array with one left/right permutation *per animal* (and
  one among the unique bodyparts): a flip never moves a keypoint to another animal;
* occlusion: with probability ``occlusion_prob`` a rectangle of side ``U(occlusion_size)``
  times the crop side, filled with the crop's mean colour, hides part of the image; the
  keypoints under it keep their labels (as DLC's coarse dropout), so the network learns to
  place parts that another animal hides.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from markerless.training.augment import (
    _N_GEO,
    _N_PHOTO,
    AugmentConfig,
    _blur_radius,
    _geometry,
    _numeric,
    _photometric,
    _swap_permutation,
    transform_keypoints,
    warp_images,
)
from markerless.training.ma_targets import MultiLayout

__all__ = ["augment_multi_batch", "multi_flip_permutation"]

Pairs = tuple[tuple[int, int], ...]


def multi_flip_permutation(layout: MultiLayout, pairs: Pairs, unique_pairs: Pairs = ()) -> Pairs:
    """Left/right pairs over the flat keypoint array: ``pairs`` repeated inside each animal
    (never across animals) plus ``unique_pairs`` among the unique bodyparts."""
    out = [(i * layout.n_multi + a, i * layout.n_multi + b)
           for i in range(layout.n_individuals) for a, b in pairs]
    base = layout.n_individuals * layout.n_multi
    out += [(base + a, base + b) for a, b in unique_pairs]
    return tuple(out)


def _occlude(u: jax.Array, img: jax.Array, prob: float, lo: float, hi: float) -> jax.Array:
    """One rectangle of the image's mean colour; u: 5 uniforms (apply, cx, cy, w, h)."""
    oh, ow = img.shape[:2]
    rw = (lo + u[3] * (hi - lo)) * ow
    rh = (lo + u[4] * (hi - lo)) * oh
    cx, cy = u[1] * ow, u[2] * oh
    xs = jnp.arange(ow, dtype=jnp.float32)[None, :]
    ys = jnp.arange(oh, dtype=jnp.float32)[:, None]
    inside = (jnp.abs(xs - cx) <= rw / 2) & (jnp.abs(ys - cy) <= rh / 2) & (u[0] < prob)
    mean = jnp.mean(img, axis=(0, 1))
    return jnp.where(inside[..., None], mean, img)


@functools.partial(jax.jit, static_argnames=(
    "out_hw", "layout", "flat_pairs", "can_flip", "blur_radius", "noise", "all_animals_prob",
    "occlusion_prob", "occlusion_size"))
def _augment(rng, images, keypoints, params, out_hw, layout, flat_pairs, can_flip, blur_radius,
             noise, all_animals_prob, occlusion_prob, occlusion_size):
    b = images.shape[0]
    n_i = layout.n_individuals
    u = jax.random.uniform(rng, (b, _N_GEO + _N_PHOTO))
    extra = jax.random.uniform(jax.random.fold_in(rng, 2), (b, 1 + n_i + 5))
    kp = keypoints.astype(jnp.float32)
    multi, uniq = layout.split(kp)
    present = jnp.any(~jnp.isnan(multi).any(-1), axis=-1)  # (B, I)
    pick = jnp.argmax(jnp.where(present, extra[:, 1:1 + n_i], -1.0), axis=1)
    use_all = (extra[:, 0] < all_animals_prob) | ~jnp.any(present, axis=1)
    chosen = (jnp.arange(n_i)[None] == pick[:, None]) | use_all[:, None]  # (B, I)
    centre_multi = jnp.where(chosen[:, :, None, None], multi, jnp.nan)
    centre_uniq = jnp.where(use_all[:, None, None], uniq, jnp.nan)
    centre = jnp.concatenate([centre_multi.reshape(b, -1, 2), centre_uniq], axis=1)
    matrices, flipped = _geometry(u, centre, params, images.shape[1:3], out_hw, can_flip)
    warped = warp_images(images, matrices, out_hw)
    normal = None
    if noise:
        normal = jax.random.normal(jax.random.fold_in(rng, 1), warped.shape, warped.dtype)
    warped = jax.vmap(_photometric, in_axes=(0, 0, 0 if noise else None, None, None))(
        u[:, _N_GEO:], warped, normal, params, blur_radius)
    if occlusion_prob > 0:
        lo, hi = occlusion_size
        warped = jax.vmap(_occlude, in_axes=(0, 0, None, None, None))(
            extra[:, 1 + n_i:], warped, occlusion_prob, lo, hi)
    perm = _swap_permutation(kp.shape[1], flat_pairs)
    return warped, transform_keypoints(kp, matrices, out_hw, flipped, perm)


def augment_multi_batch(
    rng: jax.Array,
    images: jax.Array,
    keypoints: jax.Array,
    out_hw: tuple[int, int],
    layout: MultiLayout,
    config: AugmentConfig | str = "default",
    symmetric_pairs: Sequence[tuple[int, int]] = (),
    unique_pairs: Sequence[tuple[int, int]] = (),
    all_animals_prob: float = 0.5,
    occlusion_prob: float = 0.0,
    occlusion_size: tuple[float, float] = (0.1, 0.3),
) -> tuple[jax.Array, jax.Array]:
    """Augment a multi-animal batch: ``(images float32 (B, oh, ow, 3), keypoints (B, F, 2))``.

    ``keypoints`` are flat ``(B, I*Km + Ku, 2)`` (see `MultiLayout`); ``symmetric_pairs``
    index the multi-animal bodyparts, ``unique_pairs`` the unique ones.
    """
    if isinstance(config, str):
        config = AugmentConfig.preset(config)
    if keypoints.ndim != 3 or keypoints.shape[1] != layout.n_flat:
        raise ValueError(f"keypoints must be (B, {layout.n_flat}, 2) for {layout}; "
                         f"got {keypoints.shape}")
    flat = multi_flip_permutation(layout, tuple((int(a), int(b)) for a, b in symmetric_pairs),
                                  tuple((int(a), int(b)) for a, b in unique_pairs))
    _swap_permutation(layout.n_flat, flat)  # validate before tracing
    can_flip = bool(flat) or config.flip_unpaired
    return _augment(rng, images, keypoints, _numeric(config), tuple(int(v) for v in out_hw),
                    layout, flat, can_flip, _blur_radius(config), config.noise_std > 0,
                    float(all_animals_prob), float(occlusion_prob),
                    tuple(float(v) for v in occlusion_size))
