"""Metrics on hand-made numbers (distances chosen as 3-4-5 triangles so results are exact)."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.evaluation.metrics import (
    bbox_diagonal,
    compute_pck,
    compute_rmse,
    keypoint_errors,
    per_bodypart_table,
)

NAN = np.nan

# 2 frames x 3 keypoints. Errors: frame 0 -> 5, 0, 10 ; frame 1 -> 1, (gt missing), 2.
GT = np.array([[[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]],
               [[5.0, 5.0], [NAN, NAN], [0.0, 0.0]]])  # fmt: skip
PRED = np.array([[[3.0, 4.0, 0.9], [10.0, 10.0, 0.2], [26.0, 8.0, 0.8]],
                 [[5.0, 6.0, 0.5], [1.0, 1.0, 0.9], [0.0, 2.0, 0.1]]])  # fmt: skip


def test_keypoint_errors_exact_and_nan_where_unlabeled():
    err = keypoint_errors(PRED, GT)
    np.testing.assert_allclose(err[0], [5.0, 0.0, 10.0])
    assert err[1, 0] == 1.0 and np.isnan(err[1, 1]) and err[1, 2] == 2.0


def test_rmse_is_dlc_mean_euclidean_distance():
    assert compute_rmse(PRED, GT) == pytest.approx((5 + 0 + 10 + 1 + 2) / 5)
    assert compute_rmse(PRED, GT, root=True) == pytest.approx(np.sqrt((25 + 0 + 100 + 1 + 4) / 5))


def test_rmse_with_pcutoff_drops_low_likelihood_predictions():
    # Likelihood >= 0.5: errors 5, 10, 1 (0.2 and 0.1 are dropped; the NaN gt stays out).
    assert compute_rmse(PRED, GT, PRED[..., 2], pcutoff=0.5) == pytest.approx((5 + 10 + 1) / 3)
    assert np.isnan(compute_rmse(PRED, GT, PRED[..., 2], pcutoff=0.99))
    with pytest.raises(ValueError, match="likelihood"):
        compute_rmse(PRED, GT, None, pcutoff=0.5)


def test_pck_in_pixels():
    # errors 5, 0, 10, 1, 2 over 5 labeled points.
    np.testing.assert_allclose(compute_pck(PRED, GT, [0.5, 2, 5, 9.99, 10]),
                               [1 / 5, 3 / 5, 4 / 5, 4 / 5, 1.0])


def test_pck_counts_low_likelihood_as_miss():
    # pcutoff 0.5 keeps errors 5 (0.9), 10 (0.8), 1 (0.5); 0 (0.2) and 2 (0.1) become misses.
    np.testing.assert_allclose(compute_pck(PRED, GT, [2, 10], PRED[..., 2], 0.5), [1 / 5, 3 / 5])


def test_pck_relative_to_bbox():
    diag = bbox_diagonal(GT)
    np.testing.assert_allclose(diag, [np.hypot(20, 10), np.hypot(5, 5)])
    # Normalised errors: 5/22.36=.224, 0, 10/22.36=.447, 1/7.07=.141, 2/7.07=.283
    np.testing.assert_allclose(compute_pck(PRED, GT, [0.15, 0.3], normalize="bbox"),
                               [2 / 5, 4 / 5])


def test_empty_inputs_give_nan():
    gt = np.full((1, 2, 2), NAN)
    assert np.isnan(compute_rmse(np.zeros((1, 2, 2)), gt))
    assert np.isnan(compute_pck(np.zeros((1, 2, 2)), gt, [1.0])).all()
    assert np.isnan(bbox_diagonal(gt)).all()


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shapes differ"):
        keypoint_errors(np.zeros((2, 3, 2)), np.zeros((2, 4, 2)))


def test_per_bodypart_table():
    table = per_bodypart_table(PRED, GT, ["a", "b", "c"], PRED[..., 2], pcutoff=0.5,
                               thresholds=(2.0, 5.0))
    assert list(table.index) == ["a", "b", "c"]
    np.testing.assert_allclose(table["error_px"], [3.0, 0.0, 6.0])
    assert table.loc["b", "n_labeled"] == 1
    assert np.isnan(table.loc["b", "error_px_pcutoff"])  # its only prediction has 0.2
    assert table.loc["c", "error_px_pcutoff"] == 10.0
    np.testing.assert_allclose(table["pck@2px"], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(table["pck@5px"], [1.0, 1.0, 0.5])
