"""Multi-animal training targets and augmentation."""

from __future__ import annotations

import jax
import numpy as np

from markerless.training.augment import AugmentConfig
from markerless.training.ma_augment import augment_multi_batch, multi_flip_permutation
from markerless.training.ma_targets import MultiLayout, make_ma_targets

S = 4  # stride


def _targets(kp: np.ndarray, edges=((0, 1),), unique=None, identity=True, **kw):
    b, i, k, _ = kp.shape
    flat = kp.reshape(b, i * k, 2)
    nu = 0
    if unique is not None:
        flat = np.concatenate([flat, unique], axis=1)
        nu = unique.shape[1]
    layout = MultiLayout(i, k, nu, tuple(edges), identity)
    t = make_ma_targets(flat.astype(np.float32), layout, (16, 16), S, pos_dist_thresh=5.0,
                        **kw)
    return {key: np.asarray(v) for key, v in t.items()}


def _cell(x, y):
    return int(y // S), int(x // S)


def test_score_maps_are_the_union_and_locref_points_at_the_nearest_animal():
    kp = np.array([[[[10.0, 10.0], [30.0, 10.0]], [[17.0, 10.0], [50.0, 50.0]]]])
    t = _targets(kp)
    sc = t["scmap"][0, :, :, 0]
    for x, y in ((10, 10), (17, 10)):
        assert sc[_cell(x, y)] == 1
    assert sc[_cell(40, 40)] == 0
    # Cell centred at (14, 10) is 4 px from animal 0's and 3 px from animal 1's part 0.
    r, c = _cell(14, 10)
    np.testing.assert_allclose(t["locref"][0, r, c, 0] * 7.2801, [17 - 14, 0], atol=1e-4)
    assert (t["scmap_weights"][0] == 1).all()


def test_a_bodypart_labeled_for_no_animal_is_masked_and_unique_parts_follow():
    kp = np.array([[[[10.0, 10.0], [np.nan, np.nan]], [[40.0, 40.0], [np.nan, np.nan]]]])
    t = _targets(kp, unique=np.array([[[30.0, 20.0]]]))
    assert t["scmap"].shape[-1] == 3
    w = t["scmap_weights"][0]
    assert (w[..., 1] == 0).all() and (w[..., 0] == 1).all()
    assert t["scmap"][0][_cell(30, 20) + (2,)] == 1 and t["scmap"][0, ..., 2].sum() >= 1


def test_part_affinity_fields_hold_the_limb_direction():
    kp = np.array([[[[8.0, 20.0], [56.0, 20.0]], [[20.0, 50.0], [20.0, 58.0]]]])
    t = _targets(kp, paf_half_width=3.0)
    paf = t["paf"][0, :, :, 0]  # (h, w, 2)
    np.testing.assert_allclose(paf[_cell(30, 20)], [1.0, 0.0], atol=1e-6)  # along animal 0
    np.testing.assert_allclose(paf[_cell(20, 54)], [0.0, 1.0], atol=1e-6)  # animal 1 (down)
    np.testing.assert_allclose(paf[_cell(30, 40)], [0.0, 0.0])  # nowhere near a limb
    # Two animals' limbs over the same cells in opposite directions average out.
    both = np.array([[[[8.0, 20.0], [56.0, 20.0]], [[56.0, 20.0], [8.0, 20.0]]]])
    np.testing.assert_allclose(_targets(both)["paf"][0][_cell(30, 20) + (0,)], 0.0, atol=1e-6)


def test_identity_targets_name_the_nearest_animal():
    kp = np.array([[[[10.0, 10.0], [30.0, 10.0]], [[50.0, 50.0], [50.0, 30.0]]]])
    t = _targets(kp)
    assert t["identity"][0][_cell(10, 10)] == 0 and t["identity"][0][_cell(50, 50)] == 1
    assert t["identity_weights"][0][_cell(10, 10)] == 1
    assert t["identity_weights"][0][_cell(30, 55)] == 0


def _no_jitter(**kw) -> AugmentConfig:
    base = AugmentConfig.preset("none")
    import dataclasses

    return dataclasses.replace(base, **kw)


def test_flips_swap_left_and_right_inside_each_animal_only():
    layout = MultiLayout(2, 3, 0)
    pairs = ((1, 2),)  # (snout, leftear, rightear)
    assert multi_flip_permutation(layout, pairs) == ((1, 2), (4, 5))
    img = np.zeros((1, 64, 64, 3), np.uint8)
    kp = np.array([[[20.0, 20], [18, 16], [22, 16], [40, 40], [38, 36], [42, 36]]], np.float32)
    out_img, out = augment_multi_batch(jax.random.key(0), img, kp, (64, 64), layout,
                                       _no_jitter(flip_prob=1.0), pairs, all_animals_prob=1.0)
    out = np.asarray(out)
    cx = np.nanmean(kp[0, :, 0])  # the crop is centred on all animals, then mirrored
    # Each animal keeps its own keypoints; a mirrored right ear lands in the left-ear slot.
    mirrored = np.asarray(kp[0]).copy()
    mirrored[:, 0] = 2 * cx - mirrored[:, 0]  # flip about the crop centre (the centroid)
    shift = out[0, 0] - mirrored[0]  # same translation for every keypoint
    np.testing.assert_allclose(out[0, [0, 1, 2, 3, 4, 5]] - shift,
                               mirrored[[0, 2, 1, 3, 5, 4]], atol=1e-3)


def test_crops_hold_several_animals_and_occlusion_hides_pixels():
    layout = MultiLayout(2, 2, 0)
    ramp = np.add.outer(np.arange(96), np.arange(96)).astype(np.uint8)  # no two equal means
    img = np.repeat(ramp[None, :, :, None], 3, axis=-1).repeat(2, axis=0)
    kp = np.array([[[30.0, 30], [34, 30], [60, 60], [64, 60]]] * 2, np.float32)
    cfg = _no_jitter(center_jitter=0.0)
    out_img, out = augment_multi_batch(jax.random.key(1), img, kp, (64, 64), layout, cfg,
                                       all_animals_prob=1.0, occlusion_prob=1.0,
                                       occlusion_size=(0.3, 0.3))
    assert np.isfinite(np.asarray(out)).all()  # both animals inside every 64 px crop
    centre = np.nanmean(np.asarray(out), axis=1)
    np.testing.assert_allclose(centre, 31.5, atol=1e-3)
    # One animal chosen: the crop centres on it; the other may fall outside (NaN).
    _, one = augment_multi_batch(jax.random.key(2), img, kp, (32, 32), layout, cfg,
                                 all_animals_prob=0.0)
    one = np.asarray(one).reshape(2, 2, 2, 2)
    visible = np.isfinite(one).all(-1).all(-1)
    assert (visible.sum(-1) == 1).all()
    # Occlusion paints a rectangle (~19 x 19 px) of one colour over the ramp, where no
    # colour covers more than one 64-px anti-diagonal.
    for frame in np.asarray(out_img)[..., 0]:
        counts = np.unique(frame.round(3), return_counts=True)[1]
        assert counts.max() >= 0.8 * 19 * 19
    plain, _ = augment_multi_batch(jax.random.key(1), img, kp, (64, 64), layout, cfg)
    assert np.unique(np.asarray(plain)[0, ..., 0].round(3), return_counts=True)[1].max() <= 64


def test_sleap_fly_leg_names_pair_left_and_right():
    from markerless.training.augment import symmetric_pairs_from_names

    names = ["head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4",
             "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR"]
    assert symmetric_pairs_from_names(names) == ((3, 4), (5, 6), (7, 8), (9, 10), (11, 12))
