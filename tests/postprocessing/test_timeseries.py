"""Gap bridging, the NaN-aware running median and the vectorised ARMA fit."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.postprocessing.timeseries import (
    arma_predict,
    fill_gaps,
    gap_lengths,
    nanmedian_filter,
    whittaker_smooth,
)

NAN = np.nan


def test_gap_lengths_count_runs_and_edges_are_infinite():
    x = np.array([NAN, 1, NAN, NAN, 4, NAN, NAN, NAN, 8, NAN])[:, None]
    np.testing.assert_array_equal(gap_lengths(x)[:, 0], [np.inf, 0, 2, 2, 0, 3, 3, 3, 0, np.inf])


def test_fill_gaps_bridges_only_short_interior_gaps():
    x = np.array([NAN, 1, NAN, NAN, 4, NAN, NAN, NAN, 8, NAN])
    two = np.stack([x, x[::-1]], axis=1)
    out = fill_gaps(two, max_gap=2)
    np.testing.assert_allclose(out[:, 0], [NAN, 1, 2, 3, 4, NAN, NAN, NAN, 8, NAN])
    np.testing.assert_allclose(out[:, 1], out[::-1, 0])  # columns are independent
    np.testing.assert_allclose(fill_gaps(x[:, None])[:, 0], [NAN, 1, 2, 3, 4, 5, 6, 7, 8, NAN])
    edges = fill_gaps(x[:, None], max_gap=0, edges=True)[:, 0]
    np.testing.assert_allclose(edges, [1, 1, NAN, NAN, 4, NAN, NAN, NAN, 8, 8])


def test_fill_gaps_leaves_empty_columns_empty():
    x = np.full((5, 2), NAN)
    x[:, 1] = np.arange(5)
    out = fill_gaps(x, edges=True)
    assert np.isnan(out[:, 0]).all()
    np.testing.assert_array_equal(out[:, 1], np.arange(5))


def test_nanmedian_filter_matches_hand_computed_medians():
    x = np.array([1, 5, 2, 8, 3, NAN, NAN, 4, 10, 1.0])[:, None]
    # window 3, cut at the ends, NaN ignored:
    expected = [3, 2, 5, 3, 5.5, 3, 4, 7, 4, 5.5]
    np.testing.assert_allclose(nanmedian_filter(x, 3)[:, 0], expected)
    # window 5: frame 0 is the median of frames 0..2, frame 2 of frames 0..4
    out5 = nanmedian_filter(x, 5)[:, 0]
    assert out5[0] == 2 and out5[1] == 3.5 and out5[2] == 3


def test_nanmedian_filter_all_nan_window_and_short_series():
    x = np.array([1, NAN, NAN, NAN, 2.0])[:, None]
    out = nanmedian_filter(x, 3)[:, 0]
    assert np.isnan(out[2]) and out[0] == 1 and out[4] == 2
    np.testing.assert_allclose(nanmedian_filter(np.array([[3.0], [1], [2]]), 7)[:, 0], [2, 2, 2])
    with pytest.raises(ValueError, match="odd"):
        nanmedian_filter(x, 4)


def test_arma_predicts_an_ar_process_to_its_innovation_noise():
    rng = np.random.default_rng(0)
    n = 3000
    from scipy.signal import lfilter

    y = lfilter([1.0], [1.0, -0.6, -0.3], rng.standard_normal((n, 2)), axis=0)  # AR(2)
    y += [200.0, 50.0]  # pixel-like offsets: the model has a mean
    y[rng.random(y.shape) < 0.05] = NAN  # missing data
    pred, half = arma_predict(y, 2, 1, alpha=0.05)
    resid = (y - pred)[10:]
    rms = np.sqrt(np.nanmean(resid**2, axis=0))
    assert np.all(rms < 1.1) and np.all(rms > 0.9)  # innovation std is 1
    np.testing.assert_allclose(half, 1.96 * rms, rtol=0.05)
    # a mean-only prediction would be far worse (the process wanders)
    assert np.all(np.nanstd(y, axis=0) > 1.8)


def test_arma_flags_a_spike_and_skips_columns_with_too_few_values():
    t = np.arange(200, dtype=float)
    y = np.stack([100 + 20 * np.sin(t / 15), np.full(200, NAN)], axis=1)
    y[:5, 1] = 1.0
    y[120, 0] += 40
    pred, _ = arma_predict(y, 3, 1)
    dist = np.abs(y[:, 0] - pred[:, 0])
    assert np.nanargmax(dist) == 120 and dist[120] > 20
    assert np.median(dist[5:]) < 1
    assert np.isnan(pred[:, 1]).all()


@pytest.mark.parametrize("n", [3, 4, 7, 40])
def test_whittaker_smooth_matches_the_dense_solution(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 2))
    x[1, 1] = NAN
    lam = 7.0
    d2 = np.diff(np.eye(n), 2, axis=0)
    out = whittaker_smooth(x, lam)
    for c in range(2):
        valid = ~np.isnan(x[:, c])
        if valid.sum() < 3:
            np.testing.assert_array_equal(out[:, c], x[:, c])  # too few values: unchanged
            continue
        dense = np.diag(valid * 1.0) + lam * d2.T @ d2
        np.testing.assert_allclose(out[:, c], np.linalg.solve(dense, np.where(valid, x[:, c], 0)))


def test_whittaker_smooth_keeps_lines_and_bridges_gaps():
    t = np.arange(100.0)
    line = 3 + 0.5 * t
    holed = line.copy()
    holed[40:45] = NAN
    np.testing.assert_allclose(whittaker_smooth(holed[:, None], 1000)[:, 0], line, atol=1e-8)
