"""Augmentation: image and keypoints move together ("draw a dot, transform, find the dot")."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from markerless.training.augment import (
    PRESETS,
    AugmentConfig,
    augment_batch,
    center_crop_or_resize,
    sample_transforms,
    symmetric_pairs_from_names,
    untransform_keypoints,
)

H, W = 96, 128
OUT = (64, 64)
SIGMA = 2.5
# Numeric config fields are traced: configs sharing the structure of "none" (no blur/noise
# code) or of "default" (blur + noise code) share one compiled function per input shape.
GEOMETRY = dataclasses.replace(
    PRESETS["none"], rotation_prob=1.0, rotation_deg=40.0, scale_range=(0.7, 1.4),
    flip_prob=0.5, center_jitter=0.2,
)
NO_GEOMETRY = dataclasses.replace(
    PRESETS["default"], scale_range=(1.0, 1.0), rotation_prob=0.0, center_jitter=0.0,
    flip_prob=0.0, brightness=0.0, contrast=0.0, blur_prob=0.0, noise_prob=0.0,
)


def draw_dots(kp: np.ndarray, shape=(H, W), amp=230.0) -> np.ndarray:
    """uint8 images with a Gaussian dot for keypoint k in channel k (k < 3)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d2 = (xx[None, :, :, None] - kp[:, None, None, :, 0]) ** 2 + (
        yy[None, :, :, None] - kp[:, None, None, :, 1]
    ) ** 2
    dots = amp * np.exp(-d2 / (2 * SIGMA**2))
    img = np.zeros((*dots.shape[:3], 3), np.float32)
    img[..., : kp.shape[1]] = np.nan_to_num(dots)
    return np.round(img).astype(np.uint8)


def centroid(channel: np.ndarray, background: float = 0.0) -> np.ndarray:
    weights = np.clip(channel - background, 0, None)
    yy, xx = np.mgrid[: channel.shape[0], : channel.shape[1]]
    return np.array([(weights * xx).sum(), (weights * yy).sum()]) / weights.sum()


def well_inside(xy: np.ndarray, margin: float) -> bool:
    return bool(
        np.all(np.isfinite(xy)) and margin <= xy[0] <= OUT[1] - 1 - margin
        and margin <= xy[1] <= OUT[0] - 1 - margin
    )


def _two_keypoints(rng, batch):
    first = np.stack([rng.uniform(30, 98, batch), rng.uniform(25, 70, batch)], -1)
    offset = rng.uniform(-14, 14, size=(batch, 2))
    return np.stack([first, first + offset], 1).astype(np.float32)


def test_dots_follow_keypoints_with_flip_swap():
    rng = np.random.default_rng(0)
    flips = checked = 0
    for seed in range(4):
        kp = _two_keypoints(rng, 16)
        images = draw_dots(kp)
        key = jax.random.key(seed)
        out, okp = augment_batch(key, images, kp, OUT, GEOMETRY, symmetric_pairs=[(0, 1)])
        out, okp = np.asarray(out), np.asarray(okp)
        assert out.shape == (16, *OUT, 3) and out.dtype == np.float32
        # same key -> same geometry: read back whether each image was flipped
        _, flipped = sample_transforms(key, kp, (H, W), OUT, GEOMETRY, True)
        flipped = np.asarray(flipped)
        flips += flipped.sum()
        for b in range(16):
            for k in range(2):
                # after a flip, label k sits on the dot drawn for its mirror partner
                channel = 1 - k if flipped[b] else k
                if not well_inside(okp[b, k], 4 * SIGMA * 1.4):
                    continue
                err = np.abs(centroid(out[b, ..., channel]) - okp[b, k]).max()
                assert err < 0.5, (seed, b, k, err)
                checked += 1
    assert checked > 80
    assert 10 < flips < 54  # both flipped and unflipped images were checked


def test_keypoints_leaving_the_crop_become_nan_and_nan_stays_nan():
    kp = np.repeat(np.array([[[60.0, 50.0], [125.0, 5.0]]], np.float32), 16, 0)
    kp[::2, 0] = np.nan
    images = np.zeros((16, H, W, 3), np.uint8)
    cfg = dataclasses.replace(PRESETS["none"], center_on_keypoints=False)
    _, okp = augment_batch(jax.random.key(1), images, kp, OUT, cfg, [(0, 1)])
    okp = np.asarray(okp)
    assert np.isnan(okp[::2, 0]).all()
    assert np.isnan(okp[:, 1]).all()  # far corner is outside a 64x64 centre crop
    # frame centre (63.5, 47.5) maps to crop centre (31.5, 31.5): a pure translation
    np.testing.assert_allclose(okp[1::2, 0], np.tile([[28.0, 34.0]], (8, 1)), atol=1e-4)


def test_photometric_ops_do_not_move_keypoints_or_dots():
    rng = np.random.default_rng(2)
    kp = _two_keypoints(rng, 16)
    images = draw_dots(kp, amp=150.0) + np.uint8(40)
    # "none" geometry: the crop is a pure translation putting the centroid at (31.5, 31.5)
    expected = kp - kp.mean(axis=1, keepdims=True) + 31.5
    photo = dataclasses.replace(NO_GEOMETRY, brightness=0.2, contrast=0.3, blur_prob=1.0)
    out_p, kp_p = augment_batch(jax.random.key(3), images, kp, OUT, photo, [(0, 1)])
    out_n, kp_n = augment_batch(jax.random.key(3), images, kp, OUT, "none", [(0, 1)])
    out_p, out_n, kp_p = np.asarray(out_p), np.asarray(out_n), np.asarray(kp_p)
    inside = np.isfinite(expected[..., 0]) & (np.abs(expected - 31.5) < 32).all(-1)
    np.testing.assert_allclose(kp_p[inside], expected[inside], atol=1e-4)
    np.testing.assert_array_equal(kp_p, np.asarray(kp_n))
    assert not np.allclose(out_p, out_n)  # something photometric did happen
    assert out_p.min() >= 0 and out_p.max() <= 255
    for b in range(16):
        for k in range(2):
            if not well_inside(kp_p[b, k], 4 * SIGMA):
                continue
            bg = np.median(out_p[b, ..., 2])  # channel 2 holds no dot: pure background
            assert np.abs(centroid(out_p[b, ..., k], bg + 1.0) - kp_p[b, k]).max() < 0.5
    # noise changes pixels but never keypoints
    noisy = dataclasses.replace(NO_GEOMETRY, noise_prob=1.0, noise_std=10.0)
    out_z, kp_z = augment_batch(jax.random.key(3), images, kp, OUT, noisy, [(0, 1)])
    np.testing.assert_array_equal(np.asarray(kp_z), kp_p)
    noise_std = np.std(np.asarray(out_z) - out_n, axis=(1, 2, 3))
    assert np.all(noise_std <= 10.5) and np.sum(noise_std > 1.0) >= 8


def test_default_preset_runs_and_crops_around_animal():
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 255, size=(16, H, W, 3), dtype=np.uint8)
    kp = np.array([[[100.0, 70.0], [112.0, 80.0]]] * 16, np.float32)
    # called inside an outer jit, as the trainer's step does
    step = jax.jit(lambda key, im, k: augment_batch(key, im, k, OUT, "default", [(0, 1)]))
    out, okp = step(jax.random.key(0), frames, kp)
    assert out.shape == (16, *OUT, 3)
    okp = np.asarray(okp)
    # the labeled centroid (106, 75) lands near the crop centre: within jitter 0.2 * 64 px
    ok = np.all(np.isfinite(okp), axis=(1, 2))
    assert ok.sum() >= 8
    centre = okp[ok].mean(axis=1)
    assert np.all(np.abs(centre - 31.5) <= 0.2 * 64 + 0.01)


def test_center_crop_or_resize_and_inverse():
    kp = np.array([[[20.3, 70.6], [110.2, 15.9], [64.0, 47.0]]], np.float32)
    images = draw_dots(kp[:, :3])
    for out_hw, mode in (((40, 100), "resize"), ((64, 64), "crop")):  # down + letterbox
        out, okp, mats = center_crop_or_resize(images, kp, out_hw, mode)
        out, okp = np.asarray(out), np.asarray(okp)
        assert out.shape == (1, *out_hw, 3)
        for k in range(3):
            if np.isnan(okp[0, k]).any():
                assert mode == "crop" and k != 2
                continue
            np.testing.assert_allclose(centroid(out[0, ..., k]), okp[0, k], atol=0.3)
        back = np.asarray(untransform_keypoints(okp, mats))
        finite = np.isfinite(okp[0, :, 0])
        np.testing.assert_allclose(back[0, finite], kp[0, finite], atol=1e-3)
    with pytest.raises(ValueError, match="mode"):
        center_crop_or_resize(images, kp, (32, 32), "stretch")


def test_config_presets_and_pairs():
    assert AugmentConfig.preset("light").rotation_deg == 10.0
    with pytest.raises(ValueError, match="unknown augmentation preset"):
        AugmentConfig.preset("heavy")
    with pytest.raises(ValueError, match="scale_range"):
        AugmentConfig(scale_range=(1.2, 0.8))
    with pytest.raises(ValueError, match="flip_prob"):
        AugmentConfig(flip_prob=1.5)
    images = np.zeros((1, 16, 16, 3), np.uint8)
    kp = np.zeros((1, 3, 2), np.float32)
    with pytest.raises(ValueError, match="outside"):
        augment_batch(jax.random.key(0), images, kp, (8, 8), "none", [(0, 3)])
    with pytest.raises(ValueError, match="more than one"):
        augment_batch(jax.random.key(0), images, kp, (8, 8), "none", [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        augment_batch(jax.random.key(0), images, kp[0], (8, 8), "none")
    names = ["snout", "leftear", "rightear", "tailbase", "wingL", "wingR", "l_leg", "r_leg"]
    assert symmetric_pairs_from_names(names) == ((1, 2), (4, 5), (6, 7))
    assert symmetric_pairs_from_names(["head", "thorax", "abdomen"]) == ()
