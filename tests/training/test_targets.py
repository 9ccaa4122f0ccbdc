"""Scoremap/locref targets (DeepLabCut conventions) and the heatmap loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from markerless.decoding import decode_scoremaps
from markerless.training.targets import heatmap_loss, heatmap_loss_terms, make_targets

STDEV = 7.2801


def _random_keypoints(rng, batch, num_kp, size):
    kp = rng.uniform(3.0, size - 3.0, size=(batch, num_kp, 2)).astype(np.float32)
    return kp + rng.random(kp.shape).astype(np.float32) * 0.01  # sub-pixel everywhere


@pytest.mark.parametrize("mode", ["disk", "gaussian"])
@pytest.mark.parametrize("stride", [4, 8])
def test_decoded_targets_give_back_keypoints(mode, stride):
    rng = np.random.default_rng(stride)
    size = 160
    kp = _random_keypoints(rng, 6, 5, size)
    kp[2, 3] = np.nan
    out_hw = (size // stride, size // stride)
    t = make_targets(kp, out_hw, stride, mode=mode)
    assert t["scmap"].shape == (6, *out_hw, 5)
    assert t["locref"].shape == t["locref_weights"].shape == (6, *out_hw, 5, 2)
    decoded = np.asarray(decode_scoremaps(t["scmap"], t["locref"], stride))
    labeled = ~np.isnan(kp[..., 0])
    err = np.abs(decoded[..., :2] - kp)[labeled]
    assert err.max() < 0.1, err.max()
    assert np.all(decoded[..., 2][labeled] > 0.5)


def _dlc_disk_loop(kp, out_hw, stride, thresh):
    """Per-keypoint loop as in DLC's compute_target_part_scoremap_numpy (one image)."""
    h, w = out_hw
    k = kp.shape[0]
    scmap = np.zeros((h, w, k))
    locref = np.zeros((h, w, k, 2))
    mask = np.zeros((h, w, k, 2))
    yy, xx = np.mgrid[:h, :w]
    for j in range(k):
        if np.isnan(kp[j]).any():
            continue
        dx = kp[j, 0] - xx * stride - stride // 2
        dy = kp[j, 1] - yy * stride - stride // 2
        inside = dx**2 + dy**2 <= thresh**2
        scmap[inside, j] = 1
        mask[inside, j] = 1
        locref[inside, j, 0] = dx[inside] / STDEV
        locref[inside, j, 1] = dy[inside] / STDEV
    return scmap, locref, mask


def test_disk_targets_match_dlc_loop_and_mask_unlabeled():
    rng = np.random.default_rng(0)
    kp = _random_keypoints(rng, 2, 4, 120)
    kp[1, 0] = np.nan
    kp[1, 2, 1] = np.nan  # one NaN coordinate is enough to be unlabeled
    t = {k: np.asarray(v) for k, v in make_targets(kp, (15, 15), 8, pos_dist_thresh=17.0).items()}
    for b in range(2):
        scmap, locref, mask = _dlc_disk_loop(kp[b], (15, 15), 8, 17.0)
        np.testing.assert_array_equal(t["scmap"][b], scmap)
        np.testing.assert_allclose(t["locref"][b], locref, atol=1e-6)
        np.testing.assert_array_equal(t["locref_weights"][b], mask)
    # An image-sized disk radius of 17 px at stride 8 covers 13-21 cells.
    assert 12 <= t["scmap"][0, ..., 0].sum() <= 21
    weights = t["scmap_weights"]
    assert np.all(weights[0] == 1)
    assert np.all(weights[1, ..., [0, 2]] == 0) and np.all(weights[1, ..., [1, 3]] == 1)
    assert np.all(t["scmap"][1, ..., [0, 2]] == 0)
    assert np.all(t["locref_weights"][1, :, :, [0, 2]] == 0)
    # DLC's weigh_only_present_joints: false keeps unlabeled keypoints as negatives.
    t1 = make_targets(kp, (15, 15), 8, unlabeled_weight=1.0)
    assert np.all(np.asarray(t1["scmap_weights"]) == 1)


def test_gaussian_targets_values():
    kp = np.array([[[36.0, 20.0]]], np.float32)  # exactly on cell (2, 4) centre at stride 8
    t = make_targets(kp, (6, 8), 8, mode="gaussian", sigma=8.0)
    scmap = np.asarray(t["scmap"])[0, ..., 0]
    assert scmap[2, 4] == pytest.approx(1.0)
    assert scmap[2, 5] == pytest.approx(np.exp(-0.5))  # one cell = 8 px = one sigma
    assert scmap[0, 0] == pytest.approx(np.exp(-(32**2 + 16**2) / 128))
    lw = np.asarray(t["locref_weights"])[0, ..., 0, 0]
    assert lw[2, 4] == 1 and lw[2, 6] == 1 and lw[2, 7] == 0  # 16 px in, 24 px out (r=17)
    np.testing.assert_allclose(np.asarray(t["locref"])[0, 0, 0, 0], [32 / STDEV, 16 / STDEV])


def test_make_targets_rejects_bad_input():
    with pytest.raises(ValueError, match="mode"):
        make_targets(np.zeros((1, 1, 2)), (4, 4), 8, mode="box")
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        make_targets(np.zeros((1, 2)), (4, 4), 8)


def _bce(logit, target):
    return np.maximum(logit, 0) - logit * target + np.log1p(np.exp(-np.abs(logit)))


def test_heatmap_loss_matches_dlc_formula():
    rng = np.random.default_rng(1)
    kp = _random_keypoints(rng, 2, 3, 64)
    kp[0, 1] = np.nan
    t = make_targets(kp, (8, 8), 8)
    logits = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    locref_pred = rng.normal(size=(2, 8, 8, 3, 2)).astype(np.float32)
    terms = {k: float(v) for k, v in heatmap_loss_terms(logits, locref_pred, t).items()}

    w = np.asarray(t["scmap_weights"])
    part = (_bce(logits, np.asarray(t["scmap"])) * w).sum() / np.count_nonzero(w)
    diff = np.abs(locref_pred - np.asarray(t["locref"]))
    huber = np.where(diff <= 1, 0.5 * diff**2, diff - 0.5)
    lw = np.asarray(t["locref_weights"])
    loc = 0.05 * (huber * lw).sum() / np.count_nonzero(lw)
    assert terms["part_loss"] == pytest.approx(part, rel=1e-5)
    assert terms["locref_loss"] == pytest.approx(loc, rel=1e-5)
    assert float(heatmap_loss(logits, locref_pred, t)) == pytest.approx(part + loc, rel=1e-5)

    # The unlabeled keypoint's channel doesn't influence the loss or its gradient.
    logits2 = logits.copy()
    logits2[0, ..., 1] += 10.0
    assert float(heatmap_loss(logits2, locref_pred, t)) == pytest.approx(part + loc, rel=1e-5)
    grad = np.asarray(jax.grad(heatmap_loss)(jnp.asarray(logits), locref_pred, t))
    assert np.all(grad[0, ..., 1] == 0) and np.any(grad[0, ..., 0] != 0)


def test_heatmap_loss_edge_cases():
    kp = np.full((1, 2, 2), np.nan, np.float32)
    t = make_targets(kp, (4, 4), 8)
    zeros = jnp.zeros((1, 4, 4, 2))
    assert float(heatmap_loss(zeros, jnp.zeros((1, 4, 4, 2, 2)), t)) == 0.0  # no NaN
    t = make_targets(np.array([[[10.0, 10.0], [20.0, 20.0]]], np.float32), (4, 4), 8)
    good = jnp.where(t["scmap"] > 0, 12.0, -12.0)
    bad = -good
    assert float(heatmap_loss(good, t["locref"], t)) < 1e-4
    assert float(heatmap_loss(bad, None, t)) > 10.0
    with pytest.raises(ValueError, match="locref_pred shape"):
        heatmap_loss(good, jnp.zeros((1, 4, 4, 2)), t)
