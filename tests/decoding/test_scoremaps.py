"""Jitted scoremap decoding: agreement with DeepLabCut's NumPy decode, peaks for multi-animal."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from dlc_reference import dlc_decode
from scipy.ndimage import maximum_filter

from markerless.decoding import (
    DEFAULT_LOCREF_STDEV,
    decode_logits,
    decode_peaks,
    decode_scoremaps,
    find_peaks,
)


def _maps(rng, b, h, w, k):
    scmap = rng.random((b, h, w, k), dtype=np.float32)
    locref = rng.normal(size=(b, h, w, k, 2)).astype(np.float32)
    return scmap, locref


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("num_kp", [1, 4, 20])
def test_matches_dlc_reference(batch, num_kp):
    rng = np.random.default_rng(batch * 100 + num_kp)
    scmap, locref = _maps(rng, batch, 15, 20, num_kp)
    for stride in (8, 4) if batch == 7 else (8,):  # each stride is one more compile
        ours = np.asarray(decode_scoremaps(scmap, locref, stride))
        ref = dlc_decode(scmap, locref, stride)
        assert ours.shape == (batch, num_kp, 3) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-4)


def test_without_locref_gives_cell_centres():
    rng = np.random.default_rng(1)
    scmap, _ = _maps(rng, 3, 9, 11, 2)
    ours = np.asarray(decode_scoremaps(scmap, None, 8))
    np.testing.assert_allclose(ours, dlc_decode(scmap, None, 8), atol=1e-6)
    assert np.all((ours[..., :2] - 4) % 8 == 0)


def test_ties_resolve_to_first_cell_in_row_major_order():
    # Binary maps (like disk targets) have many equal maxima: match np.argmax exactly.
    scmap = np.zeros((2, 6, 7, 3), np.float32)
    scmap[0, 2, 5, 0] = scmap[0, 3, 1, 0] = 1.0  # first in row-major order: (2, 5)
    scmap[0, 4, 2:6, 1] = 1.0  # a row of ties -> (4, 2)
    scmap[1, 1:4, 3, 2] = 0.5  # a column of ties -> (1, 3); channel 0, 1 all zero -> (0, 0)
    ours = np.asarray(decode_scoremaps(scmap, None, 4))
    np.testing.assert_array_equal(ours, dlc_decode(scmap, None, 4).astype(np.float32))
    assert tuple(ours[0, 0, :2]) == (5 * 4 + 2, 2 * 4 + 2)
    assert tuple(ours[1, 2]) == (3 * 4 + 2, 1 * 4 + 2, 0.5)


@pytest.mark.parametrize("levels", [3, 50, 0])
def test_argmax_matches_numpy_with_and_without_ties(levels):
    """Coarse values tie often (maxima in several columns, rows or both), fine ones never:
    both the column-max fast path and the per-row fallback must give np.argmax's cell."""
    rng = np.random.default_rng(levels)
    for trial in range(5):
        scmap = rng.random((9, 12, 10, 5), dtype=np.float32)
        if levels:
            scmap = np.floor(scmap * levels).astype(np.float32) / levels
        ours = np.asarray(decode_scoremaps(scmap, None, 8))
        flat = scmap.transpose(0, 3, 1, 2).reshape(9, 5, -1).argmax(-1)
        rows, cols = np.divmod(flat, 10)
        np.testing.assert_array_equal(ours[..., 0], cols * 8 + 4, err_msg=f"trial {trial}")
        np.testing.assert_array_equal(ours[..., 1], rows * 8 + 4, err_msg=f"trial {trial}")


def test_locref_units_and_channel_order():
    scmap = np.zeros((1, 5, 5, 1), np.float32)
    scmap[0, 1, 3, 0] = 0.9
    locref = np.zeros((1, 5, 5, 1, 2), np.float32)
    locref[0, 1, 3, 0] = (0.5, -0.25)  # dx, dy in units of locref_stdev
    x, y, p = np.asarray(decode_scoremaps(scmap, locref, 8))[0, 0]
    assert x == pytest.approx(3 * 8 + 4 + 0.5 * DEFAULT_LOCREF_STDEV)
    assert y == pytest.approx(1 * 8 + 4 - 0.25 * DEFAULT_LOCREF_STDEV)
    assert p == pytest.approx(0.9)
    x2 = np.asarray(decode_scoremaps(scmap, locref, 8, locref_stdev=2.0))[0, 0, 0]
    assert x2 == pytest.approx(28 + 1.0)


def test_decode_logits_equals_sigmoid_then_decode():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3, size=(4, 10, 12, 5)).astype(np.float32)
    locref = rng.normal(size=(4, 10, 12, 5, 2)).astype(np.float32)
    probs = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        np.asarray(decode_logits(logits, locref, 8)),
        dlc_decode(probs, locref, 8),
        rtol=1e-6,
        atol=1e-4,
    )


def test_shape_errors_are_specific():
    with pytest.raises(ValueError, match=r"\(B, h, w, K\)"):
        decode_scoremaps(np.zeros((5, 5, 2), np.float32), None, 8)
    with pytest.raises(ValueError, match="locref must be"):
        decode_scoremaps(np.zeros((1, 5, 5, 2), np.float32), np.zeros((1, 5, 5, 4)), 8)


def _brute_force_peaks(channel, threshold, radius):
    pooled = maximum_filter(channel, size=2 * radius + 1, mode="constant", cval=-np.inf)
    rr, cc = np.nonzero((channel == pooled) & (channel >= threshold))
    order = np.argsort(-channel[rr, cc], kind="stable")
    return [(int(rr[i]), int(cc[i]), float(channel[rr[i], cc[i]])) for i in order]


def test_find_peaks_known_blobs_and_nms():
    h, w = 24, 32
    yy, xx = np.mgrid[:h, :w]

    def blob(r, c, amp):
        return amp * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 1.5**2))

    scmap = np.zeros((1, h, w, 2), np.float32)
    scmap[0, ..., 0] = np.maximum.reduce([blob(5, 6, 0.9), blob(18, 25, 0.7), blob(12, 15, 0.5)])
    cells, scores, valid = (np.asarray(a) for a in find_peaks(scmap, 0.1, 2, 5))
    assert cells.shape == (1, 2, 5, 2) and scores.shape == valid.shape == (1, 2, 5)
    np.testing.assert_array_equal(valid[0, 0], [True, True, True, False, False])
    np.testing.assert_array_equal(cells[0, 0, :3], [[5, 6], [18, 25], [12, 15]])
    np.testing.assert_allclose(scores[0, 0, :3], [0.9, 0.7, 0.5], rtol=1e-6)
    assert not valid[0, 1].any()  # empty channel: nothing above threshold
    assert np.all(scores[0, 1] == 0)


def test_find_peaks_radius_and_threshold():
    scmap = np.zeros((1, 10, 10, 1), np.float32)
    scmap[0, 5, 2, 0] = 0.9
    scmap[0, 5, 4, 0] = 0.4  # 2 cells away from the stronger peak
    scmap[0, 1, 8, 0] = 0.05  # below threshold
    for radius, expected in ((2, 1), (1, 2)):
        _, _, valid = find_peaks(scmap, 0.1, radius, 4)
        assert int(np.asarray(valid).sum()) == expected
    _, _, valid = find_peaks(scmap, 0.01, 1, 4)
    assert int(np.asarray(valid).sum()) == 3
    with pytest.raises(ValueError, match="max_peaks"):
        find_peaks(scmap, 0.1, 1, 101)


def test_find_peaks_matches_brute_force_nms():
    rng = np.random.default_rng(3)
    scmap = rng.random((2, 16, 20, 3), dtype=np.float32)
    cells, scores, valid = (np.asarray(a) for a in find_peaks(scmap, 0.6, 2, 10))
    for b in range(2):
        for k in range(3):
            ref = _brute_force_peaks(scmap[b, ..., k], 0.6, 2)[:10]
            n = int(valid[b, k].sum())
            assert n == len(ref)
            np.testing.assert_array_equal(cells[b, k, :n], [(r, c) for r, c, _ in ref])
            np.testing.assert_allclose(scores[b, k, :n], [s for _, _, s in ref], rtol=1e-6)


def test_decode_peaks_applies_locref_and_pads_with_nan():
    scmap = np.zeros((1, 8, 8, 1), np.float32)
    scmap[0, 2, 3, 0] = 0.8
    scmap[0, 6, 6, 0] = 0.6
    locref = np.zeros((1, 8, 8, 1, 2), np.float32)
    locref[0, 2, 3, 0] = (1.0, 0.0)
    locref[0, 6, 6, 0] = (0.0, -1.0)
    peaks = np.asarray(decode_peaks(*find_peaks(scmap, 0.5, 1, 3), locref, 4))
    assert peaks.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(peaks[0, 0, 0], [3 * 4 + 2 + 7.2801, 2 * 4 + 2, 0.8], rtol=1e-6)
    np.testing.assert_allclose(peaks[0, 0, 1], [6 * 4 + 2, 6 * 4 + 2 - 7.2801, 0.6], rtol=1e-6)
    assert np.isnan(peaks[0, 0, 2, :2]).all() and peaks[0, 0, 2, 2] == 0


@pytest.mark.parametrize("shape", [(2, 6, 8, 4), (8, 60, 80, 4), (4, 30, 40, 20)])
def test_nan_maps(shape):
    """All-NaN maps give cell (0, 0) with NaN likelihood (np.argmax); a partly-NaN map gives
    np.argmax's first NaN or np.nanargmax's cell, whichever XLA's max does at that shape (the
    large shapes go to YNNPACK, which skips NaN) -- never an out-of-range cell."""
    rng = np.random.default_rng(5)
    scmap, locref = _maps(rng, *shape)
    b, h, w, k = shape
    scmap[0, :, :, 1] = np.nan  # the whole map
    scmap[1, h // 2, w - 1, 2] = np.nan  # two cells of one map
    scmap[1, h - 1, 0, 2] = np.nan
    ours = np.asarray(decode_scoremaps(scmap, locref, 8))
    assert np.isnan(ours[0, 1, 2])
    np.testing.assert_allclose(ours[0, 1, :2], 4 + DEFAULT_LOCREF_STDEV * locref[0, 0, 0, 1],
                               rtol=1e-6)
    first_nan = dlc_decode(scmap, locref, 8)
    skip_nan = dlc_decode(np.where(np.isnan(scmap), -np.inf, scmap), locref, 8)
    assert np.isnan(first_nan[1, 2, 2]) and np.isfinite(skip_nan[1, 2, 2])
    got = ours[1, 2]
    assert (np.allclose(got, first_nan[1, 2], atol=1e-4, equal_nan=True)
            or np.allclose(got, skip_nan[1, 2], atol=1e-4)), got
    finite = np.ones(b, bool)
    finite[:2] = False  # every other map is finite and matches DeepLabCut exactly
    np.testing.assert_allclose(ours[finite], first_nan[finite], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(np.delete(ours[:2], [1, 2], axis=1)[0],
                               np.delete(first_nan[:2], [1, 2], axis=1)[0], rtol=1e-6, atol=1e-4)


def test_padding_is_never_decoded():
    """Cells whose centre lies in the padding (beyond ``valid_hw``) are never chosen, per
    batch or per image, even when they hold the highest score."""
    from markerless.decoding import decode_logits

    logits = np.full((2, 8, 10, 1), -5.0, np.float32)
    logits[:, 7, 9, 0] = 9.0  # the maximum, in the bottom-right (padding) cell
    logits[:, 2, 3, 0] = 1.0  # the best cell inside
    logits[1, 5, 6, 0] = 2.0  # inside image 1 only when it is 48 x 56
    out = np.asarray(decode_logits(jnp.asarray(logits), None, stride=8))
    np.testing.assert_allclose(out[:, 0, :2], [[76.0, 60.0]] * 2)
    out = np.asarray(decode_logits(jnp.asarray(logits), None, stride=8, valid_hw=(40, 56)))
    np.testing.assert_allclose(out[:, 0, :2], [[28.0, 20.0]] * 2)  # cell (2, 3) both
    sizes = jnp.asarray([[40, 56], [48, 56]])
    out = np.asarray(decode_logits(jnp.asarray(logits), None, stride=8, valid_hw=sizes))
    np.testing.assert_allclose(out[:, 0, :2], [[28.0, 20.0], [52.0, 44.0]])
