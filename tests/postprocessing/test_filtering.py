"""filter_poses / filterpredictions: values, gap bridging, likelihood handling, files."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.errors import ConfigError
from markerless.io.dlc_analysis import read_analysis
from markerless.poses import Poses
from markerless.postprocessing.filtering import filter_poses, filterpredictions

NAN = np.nan


def _poses(x: np.ndarray, lik: np.ndarray | None = None) -> Poses:
    """One bodypart whose x is ``x`` and y is ``10 * x``."""
    xy = np.stack([x, 10 * x], axis=-1)[:, None, None, :]
    lik = np.ones(len(x)) if lik is None else lik
    return Poses(xy, ["nose"], likelihood=np.asarray(lik, float)[:, None, None], scorer="DLC_x")


def test_median_matches_hand_computed_values():
    x = np.array([1, 5, 2, 8, 3, 9, 4, 4, 10, 1.0])
    out = filter_poses(_poses(x), "median", windowlength=3)
    expected = [3, 2, 5, 3, 8, 4, 4, 4, 4, 5.5]  # window cut at both ends
    np.testing.assert_allclose(out.xy[:, 0, 0, 0], expected)
    np.testing.assert_allclose(out.xy[:, 0, 0, 1], 10 * np.asarray(expected))
    assert out.bodyparts == ["nose"] and out.scorer == "DLC_x" and out.frames == list(range(10))


def test_low_likelihood_points_are_dropped_then_bridged():
    x = np.arange(10, dtype=float)
    x[4] = 500.0  # a wild detection ...
    lik = np.full(10, 0.9)
    lik[4] = 0.0001  # ... the network did not believe in
    out = filter_poses(_poses(x, lik), "median", windowlength=1, p_bound=0.001)
    assert out.xy[4, 0, 0, 0] == pytest.approx(4.0)  # interpolated from 3 and 5, not 500
    np.testing.assert_array_equal(out.likelihood, _poses(x, lik).likelihood)  # copied unchanged
    kept = filter_poses(_poses(x, lik), "median", windowlength=1, p_bound=0.0)
    assert kept.xy[4, 0, 0, 0] == 500.0  # p_bound=0 keeps every point


@pytest.mark.parametrize("filtertype", ["median", "savgol", "spline", "arima"])
def test_gaps_up_to_max_gap_are_bridged_longer_ones_stay_nan(filtertype):
    t = np.arange(60, dtype=float)
    x = 50 + 0.5 * t
    lik = np.full(60, 0.9)
    lik[10:13] = 0.0  # 3-frame gap: bridged with max_gap=3
    lik[30:34] = 0.0  # 4-frame gap: stays missing
    lik[58:] = 0.0  # at the end: nothing to interpolate towards
    out = filter_poses(_poses(x, lik), filtertype, windowlength=5, max_gap=3).xy[:, 0, 0, 0]
    assert np.isfinite(out[10:13]).all()
    np.testing.assert_allclose(out[10:13], x[10:13], atol=0.3)
    assert np.isnan(out[30:34]).all() and np.isnan(out[58:]).all()
    assert np.isfinite(out[:10]).all() and np.isfinite(out[34:58]).all()
    default = filter_poses(_poses(x, lik), filtertype, windowlength=3).xy[:, 0, 0, 0]
    assert np.isfinite(default[10:13]).all() and np.isnan(default[30:34]).all()  # max_gap=3


def test_savgol_and_spline_reduce_noise_and_keep_a_line():
    rng = np.random.default_rng(0)
    t = np.arange(200, dtype=float)
    truth = 100 + 0.3 * t
    noisy = truth + rng.normal(0, 2, t.shape)
    for ft in ("savgol", "spline", "median"):
        out = filter_poses(_poses(noisy), ft, windowlength=11).xy[:, 0, 0, 0]
        err, raw = np.abs(out - truth)[10:-10].mean(), np.abs(noisy - truth)[10:-10].mean()
        assert err < 0.6 * raw, ft


def test_arima_replaces_a_spike_by_its_prediction():
    t = np.arange(150, dtype=float)
    x = 100 + 20 * np.sin(t / 12)
    spiked = x.copy()
    spiked[80] += 60
    out = filter_poses(_poses(spiked), "arima", ARdegree=3, MAdegree=1).xy[:, 0, 0, 0]
    assert out[0] == spiked[0]
    assert abs(out[80] - x[80]) < 2 and np.abs(out - x)[5:].max() < 2


def test_bad_arguments_raise():
    p = _poses(np.arange(5.0))
    with pytest.raises(ConfigError, match="filtertype"):
        filter_poses(p, "kalman")
    with pytest.raises(ConfigError, match="odd"):
        filter_poses(p, "median", windowlength=4)


def test_filterpredictions_writes_filtered_h5_and_csv(project):
    video, config = project["video"], project["config"]
    written = filterpredictions(config, [video], filtertype="median", windowlength=5,
                                analysis=project["analysis"])
    out = written[str(video)]
    assert out.name == project["analysis"].name.replace(".h5", "_filtered.h5")
    assert out.with_suffix(".csv").is_file()
    filtered, raw = read_analysis(out), project["results"]
    assert filtered.scorer == raw.scorer and filtered.n_frames == raw.n_frames
    expected = filter_poses(raw, "median", 5).xy
    np.testing.assert_allclose(filtered.xy, expected)
    # the noise (0.5 px) drops; the truth is smooth at this speed
    truth = project["truth"].xy
    assert np.abs(filtered.xy - truth).mean() < np.abs(raw.xy - truth).mean()
    # an existing filtered file is kept unless redo=True
    stamp = out.stat().st_mtime_ns
    filterpredictions(config, [video], filtertype="savgol", analysis=project["analysis"])
    assert out.stat().st_mtime_ns == stamp
    filterpredictions(config, [video], filtertype="savgol", windowlength=7, redo=True,
                      analysis=project["analysis"], save_as_csv=False)
    np.testing.assert_allclose(read_analysis(out).xy, filter_poses(raw, "savgol", 7).xy)
