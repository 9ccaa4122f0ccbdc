"""On-device, jit-compiled augmentation of images and keypoints (JAX).

Geometry is one 3x3 matrix per image (rotation, scale, flip, translation to a crop around the
animal) applied to the keypoints directly and to the image by inverse-mapping every output
pixel through it and sampling bilinearly: image and labels therefore can't drift apart.
Coordinates use the pixel-centre-at-integer convention of napari, matplotlib and DLC labels
(pixel ``(row, col)`` is the point ``(x=col, y=row)``).

Keypoints that leave the output crop become NaN, which `markerless.training.targets` masks out.
A horizontal flip swaps configured left/right keypoint pairs so that labels keep their meaning.
Photometric ops (brightness, contrast, noise, blur) never move pixels, so keypoints are untouched.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "PRESETS", "AugmentConfig", "augment_batch", "center_crop_or_resize", "sample_transforms",
    "symmetric_pairs_from_names", "transform_keypoints", "untransform_keypoints", "warp_images",
]

Pairs = tuple[tuple[int, int], ...]


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters (frozen, hashable).

    Geometry: ``scale = base_scale * U(scale_range)`` (DLC ``scale_jitter_lo/up`` 0.5, 1.25);
    rotation ``U(-rotation_deg, rotation_deg)`` applied with ``rotation_prob`` (DLC rotation 25,
    rotratio 0.4); the crop is centred on the labeled keypoints' centroid (or the frame centre)
    shifted by ``U(-center_jitter, center_jitter) * output size``; horizontal flip with
    ``flip_prob``, only when symmetric pairs are given unless ``flip_unpaired`` (flipping
    unpaired left/right bodyparts would silently corrupt labels).
    Photometric: brightness shift ``U(-brightness, brightness) * 255``, contrast factor
    ``U(1 - contrast, 1 + contrast)`` around the image mean, Gaussian noise with std
    ``U(0, noise_std)`` (0-255 units) with ``noise_prob``, Gaussian blur with sigma
    ``U(0, blur_sigma)`` px with ``blur_prob``. Only ``blur_sigma > 0`` / ``noise_std > 0``
    change the compiled code; other values are traced (no recompile when tuning them).
    """

    base_scale: float = 1.0
    scale_range: tuple[float, float] = (0.5, 1.25)
    rotation_deg: float = 25.0
    rotation_prob: float = 0.4
    center_on_keypoints: bool = True
    center_jitter: float = 0.2
    flip_prob: float = 0.5
    flip_unpaired: bool = False
    brightness: float = 0.2
    contrast: float = 0.2
    noise_prob: float = 0.2
    noise_std: float = 8.0
    blur_prob: float = 0.2
    blur_sigma: float = 1.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale_range", tuple(float(v) for v in self.scale_range))
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range must satisfy 0 < lo <= hi, got {self.scale_range}")
        if self.base_scale <= 0:
            raise ValueError(f"base_scale must be > 0, got {self.base_scale}")
        for name in ("rotation_prob", "flip_prob", "noise_prob", "blur_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")

    @classmethod
    def preset(cls, name: str) -> AugmentConfig:
        """One of `PRESETS`: ``"default"``, ``"light"`` or ``"none"``."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown augmentation preset {name!r}; choose one of {sorted(PRESETS)}"
            ) from None


PRESETS: dict[str, AugmentConfig] = {
    "default": AugmentConfig(),
    "light": AugmentConfig(scale_range=(0.8, 1.2), rotation_deg=10.0, rotation_prob=0.5,
                           center_jitter=0.1, brightness=0.1, contrast=0.1, noise_prob=0.0,
                           noise_std=0.0, blur_prob=0.0, blur_sigma=0.0),
    # animals filmed from above (flies, mice in an arena): every heading is equally likely,
    # so training poses are rotated through the whole circle (SLEAP's fly recipe does too)
    "top-down": AugmentConfig(rotation_deg=180.0, rotation_prob=1.0),
    "none": AugmentConfig(scale_range=(1.0, 1.0), rotation_deg=0.0, rotation_prob=0.0,
                          center_jitter=0.0, flip_prob=0.0, brightness=0.0, contrast=0.0,
                          noise_prob=0.0, noise_std=0.0, blur_prob=0.0, blur_sigma=0.0),
}


def symmetric_pairs_from_names(names: Sequence[str]) -> Pairs:
    """Pair bodyparts whose names differ only by left/right (``leftear``/``rightear``,
    ``l_wing``/``r_wing``, ``wingL``/``wingR``, ``forelegL4``/``forelegR4``...), for flip
    augmentation."""
    patterns = [
        (r"left", "right"), (r"Left", "Right"), (r"LEFT", "RIGHT"),
        (r"(?:^|(?<=[_\-. ]))l(?=[_\-. ]|$)", "r"), (r"(?:^|(?<=[_\-. ]))L(?=[_\-. ]|$)", "R"),
        (r"(?<=[a-z])L$", "R"), (r"(?<=[_\-. ])l$", "r"),
        (r"(?<=[a-z])L(?=\d+$)", "R"),  # SLEAP's fly legs: forelegL4 / forelegR4
    ]
    index = {name: i for i, name in enumerate(names)}
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for i, name in enumerate(names):
        for pattern, repl in patterns:
            other = re.sub(pattern, repl, name)
            j = index.get(other)
            if other != name and j is not None and i not in used and j not in used:
                pairs.append((i, j))
                used.update((i, j))
                break
    return tuple(pairs)


def _swap_permutation(num_keypoints: int, pairs: Pairs) -> tuple[int, ...]:
    perm = list(range(num_keypoints))
    seen: set[int] = set()
    for i, j in pairs:
        for idx in (i, j):
            if not 0 <= idx < num_keypoints:
                raise ValueError(
                    f"symmetric pair {(i, j)} has index {idx} outside 0..{num_keypoints - 1}")
            if idx in seen:
                raise ValueError(
                    f"keypoint {idx} appears in more than one symmetric pair: {pairs}")
            seen.add(idx)
        perm[i], perm[j] = j, i
    return tuple(perm)


# Numeric fields are traced (changing augmentation strength doesn't recompile); only
# structural choices are static: flipping allowed, blur kernel size, noise on/off.
_NUMERIC = ("center_on_keypoints", "base_scale", "rotation_deg", "rotation_prob",
            "center_jitter", "flip_prob", "brightness", "contrast", "noise_prob", "noise_std",
            "blur_prob", "blur_sigma")


@functools.lru_cache(maxsize=64)
def _numeric(cfg: AugmentConfig) -> dict[str, np.float32]:
    """Traced jit arguments. NumPy scalars, never jax arrays: safe to cache even when first
    built while an outer jit (the trainer's step) is tracing."""
    params = {name: np.float32(getattr(cfg, name)) for name in _NUMERIC}
    params["scale_lo"], params["scale_hi"] = (np.float32(v) for v in cfg.scale_range)
    return params


def _blur_radius(cfg: AugmentConfig) -> int:
    return math.ceil(3 * cfg.blur_sigma) if cfg.blur_sigma > 0 else 0


# Uniforms per image: 6 geometry, 4 photometry, from ONE PRNG call per batch (each threefry
# call adds ~0.5 s of XLA compile time on CPU).
_N_GEO, _N_PHOTO = 6, 4


def _sample_one(u: jax.Array, kp: jax.Array, p: dict[str, jax.Array],
                image_hw: tuple[int, int], out_hw: tuple[int, int], can_flip: bool):
    """Forward matrix (input px -> output px) and flip flag for one image from 6 uniforms."""
    (h, w), (oh, ow) = image_hw, out_hw
    labeled = ~jnp.any(jnp.isnan(kp), axis=-1)
    n = jnp.sum(labeled)
    frame_centre = jnp.array([(w - 1) / 2, (h - 1) / 2], jnp.float32)
    centroid = jnp.sum(jnp.where(labeled[:, None], kp, 0.0), axis=0) / jnp.maximum(n, 1)
    centre = jnp.where((n > 0) & (p["center_on_keypoints"] > 0), centroid, frame_centre)
    scale = p["base_scale"] * (p["scale_lo"] + u[0] * (p["scale_hi"] - p["scale_lo"]))
    rot = (2 * u[1] - 1) * jnp.deg2rad(p["rotation_deg"])
    theta = jnp.where(u[2] < p["rotation_prob"], rot, 0.0)
    flip = (u[3] < p["flip_prob"]) & can_flip
    jitter = (2 * u[4:6] - 1) * p["center_jitter"]
    target = jnp.array([(ow - 1) / 2, (oh - 1) / 2], jnp.float32) + jitter * jnp.array([ow, oh])
    f = jnp.where(flip, -1.0, 1.0)
    c, s = jnp.cos(theta), jnp.sin(theta)
    lin = scale * jnp.array([[c * f, -s], [s * f, c]])  # rotate(scale(flip(p)))
    trans = target - lin @ centre
    top = jnp.concatenate([lin, trans[:, None]], axis=1)
    return jnp.concatenate([top, jnp.array([[0.0, 0.0, 1.0]])], axis=0), flip


def _geometry(u, keypoints, params, image_hw, out_hw, can_flip):
    return jax.vmap(_sample_one, in_axes=(0, 0, None, None, None, None))(
        u[:, :_N_GEO], keypoints.astype(jnp.float32), params, image_hw, out_hw, can_flip)


@functools.partial(jax.jit, static_argnames=("image_hw", "out_hw", "can_flip"))
def _sample_transforms(rng, keypoints, params, image_hw, out_hw, can_flip):
    u = jax.random.uniform(rng, (keypoints.shape[0], _N_GEO + _N_PHOTO))
    return _geometry(u, keypoints, params, image_hw, out_hw, can_flip)


def sample_transforms(rng: jax.Array, keypoints: jax.Array, image_hw: tuple[int, int],
                      out_hw: tuple[int, int], config: AugmentConfig, can_flip: bool = True):
    """Random per-image geometry: ``(matrices (B, 3, 3), flipped (B,) bool)``.

    ``matrices`` map input pixel coordinates to output (crop) coordinates. With the same
    ``rng``, config and ``can_flip = bool(symmetric_pairs) or config.flip_unpaired`` this is
    exactly the geometry `augment_batch` applies.
    """
    return _sample_transforms(rng, keypoints, _numeric(config), tuple(image_hw),
                              tuple(out_hw), bool(can_flip))


def _affine_inverse(matrices: jax.Array) -> jax.Array:
    """Inverse of (B, 3, 3) affine matrices in closed form (cheaper to compile than LU)."""
    m = matrices.astype(jnp.float32)
    a, b, c, d = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    det = a * d - b * c
    lin = jnp.stack([jnp.stack([d, -b], -1), jnp.stack([-c, a], -1)], 1) / det[:, None, None]
    trans = -jnp.einsum("bij,bj->bi", lin, m[:, :2, 2])
    bottom = jnp.broadcast_to(jnp.array([0.0, 0.0, 1.0], jnp.float32), (m.shape[0], 1, 3))
    return jnp.concatenate([jnp.concatenate([lin, trans[..., None]], 2), bottom], 1)


def _bilinear(image: jax.Array, xs: jax.Array, ys: jax.Array) -> jax.Array:
    """Sample ``image`` (H, W, C) at float coords; zero outside the frame."""
    h, w = image.shape[:2]
    x0, y0 = jnp.floor(xs), jnp.floor(ys)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    x0, y0 = x0.astype(jnp.int32), y0.astype(jnp.int32)

    def tap(yi: jax.Array, xi: jax.Array) -> jax.Array:
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        vals = image[jnp.clip(yi, 0, h - 1), jnp.clip(xi, 0, w - 1)].astype(jnp.float32)
        return jnp.where(inside[..., None], vals, 0.0)

    top = tap(y0, x0) * (1 - fx) + tap(y0, x0 + 1) * fx
    bottom = tap(y0 + 1, x0) * (1 - fx) + tap(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


@functools.partial(jax.jit, static_argnames=("out_hw",))
def warp_images(images: jax.Array, matrices: jax.Array, out_hw: tuple[int, int]) -> jax.Array:
    """Warp (B, H, W, C) images by forward matrices (B, 3, 3) into float32 (B, oh, ow, C)."""
    oh, ow = out_hw
    inv = _affine_inverse(matrices)
    gy, gx = jnp.meshgrid(jnp.arange(oh, dtype=jnp.float32),
                          jnp.arange(ow, dtype=jnp.float32), indexing="ij")

    def one(image: jax.Array, m: jax.Array) -> jax.Array:
        xs = m[0, 0] * gx + m[0, 1] * gy + m[0, 2]
        ys = m[1, 0] * gx + m[1, 1] * gy + m[1, 2]
        return _bilinear(image, xs, ys)

    return jax.vmap(one)(images, inv)


def transform_keypoints(keypoints: jax.Array, matrices: jax.Array, out_hw: tuple[int, int],
                        flipped: jax.Array | None = None, perm: tuple[int, ...] | None = None):
    """Map (B, K, 2) keypoints through (B, 3, 3) matrices; NaN outside the output frame.

    Where ``flipped``, keypoints are permuted by ``perm`` (left/right swap) after mapping.
    """
    kp = keypoints.astype(jnp.float32)
    out = jnp.einsum("bij,bkj->bki", matrices[:, :2, :2], kp) + matrices[:, None, :2, 2]
    if perm is not None and flipped is not None:
        out = jnp.where(flipped[:, None, None], out[:, jnp.asarray(perm)], out)
    oh, ow = out_hw
    x, y = out[..., 0], out[..., 1]
    inside = (x >= -0.5) & (x < ow - 0.5) & (y >= -0.5) & (y < oh - 0.5)  # False for NaN
    return jnp.where(inside[..., None], out, jnp.nan)


def untransform_keypoints(keypoints: jax.Array, matrices: jax.Array) -> jax.Array:
    """Map predictions made on warped images (B, K, 2) back to original frame pixels."""
    inv = _affine_inverse(matrices)
    return jnp.einsum("bij,bkj->bki", inv[:, :2, :2], keypoints) + inv[:, None, :2, 2]


def _blur(img: jax.Array, sigma: jax.Array, radius: int) -> jax.Array:
    """Separable Gaussian blur, traced sigma, static kernel size, edge padding."""
    taps = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    kernel = jnp.exp(-(taps**2) / (2 * jnp.maximum(sigma, 1e-3) ** 2))
    kernel = kernel / jnp.sum(kernel)
    h, w = img.shape[:2]
    padded = jnp.pad(img, ((radius, radius), (0, 0), (0, 0)), mode="edge")
    img = sum(kernel[t] * padded[t:t + h] for t in range(2 * radius + 1))
    padded = jnp.pad(img, ((0, 0), (radius, radius), (0, 0)), mode="edge")
    return sum(kernel[t] * padded[:, t:t + w] for t in range(2 * radius + 1))


def _conditional(u: jax.Array, prob: jax.Array) -> jax.Array:
    """One uniform gives both "applied?" (u < prob) and a U(0, 1) strength (u / prob)."""
    return jnp.where(u < prob, u / jnp.maximum(prob, 1e-6), 0.0)


def _photometric(u: jax.Array, img: jax.Array, noise: jax.Array | None,
                 p: dict[str, jax.Array], blur_radius: int) -> jax.Array:
    """Contrast, brightness, blur, noise (standard normal or None) on one image; u: 4 uniforms.
    """
    factor = 1 + (2 * u[0] - 1) * p["contrast"]
    mean = jnp.mean(img)
    img = (img - mean) * factor + mean + 255.0 * (2 * u[1] - 1) * p["brightness"]
    if blur_radius > 0:
        sigma = _conditional(u[2], p["blur_prob"]) * p["blur_sigma"]
        img = _blur(img, sigma, blur_radius)
    if noise is not None:
        img = img + _conditional(u[3], p["noise_prob"]) * p["noise_std"] * noise
    return jnp.clip(img, 0.0, 255.0)


@functools.partial(jax.jit, static_argnames=(
    "out_hw", "symmetric_pairs", "can_flip", "blur_radius", "noise"))
def _augment_batch(rng, images, keypoints, params, out_hw, symmetric_pairs,
                   can_flip, blur_radius, noise):
    u = jax.random.uniform(rng, (images.shape[0], _N_GEO + _N_PHOTO))
    matrices, flipped = _geometry(u, keypoints, params, images.shape[1:3], out_hw, can_flip)
    warped = warp_images(images, matrices, out_hw)
    normal = None
    if noise:
        normal = jax.random.normal(jax.random.fold_in(rng, 1), warped.shape, warped.dtype)
    warped = jax.vmap(_photometric, in_axes=(0, 0, 0 if noise else None, None, None))(
        u[:, _N_GEO:], warped, normal, params, blur_radius)
    perm = _swap_permutation(keypoints.shape[1], symmetric_pairs)
    return warped, transform_keypoints(keypoints, matrices, out_hw, flipped, perm)


def augment_batch(
    rng: jax.Array,
    images: jax.Array,
    keypoints: jax.Array,
    out_hw: tuple[int, int],
    config: AugmentConfig | str = "default",
    symmetric_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[jax.Array, jax.Array]:
    """Randomly augment a batch: ``(images float32 (B, oh, ow, C) in [0, 255], keypoints)``.

    Parameters
    ----------
    rng
        JAX PRNG key for the whole batch (new-style or raw uint32).
    images
        ``(B, H, W, C)`` uint8 (or float in [0, 255]).
    keypoints
        ``(B, K, 2)`` ``[x, y]`` pixels; NaN = unlabeled (stays NaN).
    out_hw
        Output crop ``(oh, ow)``, e.g. ``(256, 256)`` from 480x640 frames.
    config
        `AugmentConfig` or a preset name.
    symmetric_pairs
        ``(i, j)`` keypoint index pairs swapped on horizontal flips.

    Compiles once per input shapes, ``out_hw``, pairs, blur kernel size (from ``blur_sigma``)
    and noise on/off (``noise_std > 0``); other config values are traced.
    """
    if isinstance(config, str):
        config = AugmentConfig.preset(config)
    if images.ndim != 4:
        raise ValueError(f"images must be (B, H, W, C); got shape {images.shape}")
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or keypoints.shape[0] != images.shape[0]:
        raise ValueError(
            f"keypoints must be (B, K, 2) with B={images.shape[0]}; got {keypoints.shape}")
    pairs = tuple((int(i), int(j)) for i, j in symmetric_pairs)
    _swap_permutation(keypoints.shape[1], pairs)  # validate before tracing
    can_flip = bool(pairs) or config.flip_unpaired
    return _augment_batch(
        rng, images, keypoints, _numeric(config), tuple(int(v) for v in out_hw), pairs,
        can_flip, _blur_radius(config), config.noise_std > 0)


@functools.partial(jax.jit, static_argnames=("out_hw", "mode"))
def center_crop_or_resize(
    images: jax.Array,
    keypoints: jax.Array | None,
    out_hw: tuple[int, int],
    mode: Literal["resize", "crop"] = "resize",
) -> tuple[jax.Array, jax.Array | None, jax.Array]:
    """Deterministic evaluation transform: ``(images, keypoints, matrices (B, 3, 3))``.

    ``"resize"`` letterboxes the whole frame into ``out_hw`` (aspect kept, antialiased,
    zero padding); ``"crop"`` takes the centred ``out_hw`` window at native scale. Use
    `untransform_keypoints` with the returned matrices to map predictions back.
    """
    b, h, w, _ = images.shape
    oh, ow = out_hw
    scale = min(oh / h, ow / w) if mode == "resize" else 1.0
    if mode not in ("resize", "crop"):
        raise ValueError(f"mode must be 'resize' or 'crop', got {mode!r}")
    tx, ty = (ow - 1) / 2 - scale * (w - 1) / 2, (oh - 1) / 2 - scale * (h - 1) / 2
    matrix = jnp.array([[scale, 0.0, tx], [0.0, scale, ty], [0.0, 0.0, 1.0]], jnp.float32)
    matrices = jnp.broadcast_to(matrix, (b, 3, 3))
    # jax.image works with pixel centres at +0.5: shift the translation accordingly.
    shift = 0.5 - 0.5 * scale
    out = jax.image.scale_and_translate(
        images.astype(jnp.float32), (b, oh, ow, images.shape[3]), (1, 2),
        jnp.array([scale, scale], jnp.float32), jnp.array([ty + shift, tx + shift], jnp.float32),
        method="linear", antialias=True,
    )
    kp = None if keypoints is None else transform_keypoints(keypoints, matrices, out_hw)
    return out, kp, matrices
