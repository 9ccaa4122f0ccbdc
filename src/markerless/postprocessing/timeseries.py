"""Vectorised time-series tools on ``(frames, columns)`` arrays with NaN for missing values.

Every function works on all columns at once (one column per keypoint coordinate),
so a whole analysis file is filtered with a handful of array operations rather
than a Python loop over frames.

ARMA fitting
------------
DeepLabCut fits statsmodels' SARIMAX (a Kalman filter, one column at a time) for
``outlieralgorithm='fitting'`` and ``filtertype='arima'``. statsmodels is not a
dependency here, and a per-column state-space fit takes seconds per keypoint on
long videos, so :func:`arma_predict` uses the Hannan-Rissanen estimator instead:
a long autoregression gives innovation estimates, then one least-squares fit on
``p`` lags of the series and ``q`` lags of those innovations gives the ARMA(p, q)
coefficients. Both fits are batched normal equations over all columns, refitted
once without rows more than 4 robust sigmas off (so a jump does not bend the
fit that is meant to expose it); the final predictions use lags from which
such gross outliers were removed, so one wrong frame stands out alone. Missing
values are excluded from the fits and linearly interpolated where they serve as
lags; the result is the one-step-ahead prediction, as SARIMAX's
``get_prediction`` (in-sample) gives. Unlike DeepLabCut's call, the model has a
mean (pixel coordinates are far from zero).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "arma_predict",
    "fill_gaps",
    "gap_lengths",
    "nanmedian_filter",
    "whittaker_smooth",
]

#: columns with fewer valid values than this get no ARMA fit (DeepLabCut uses 10).
MIN_VALID = 10


def _neighbours(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the index of the previous and next valid row (-1 / n when none)."""
    n = valid.shape[0]
    rows = np.arange(n).reshape(-1, *([1] * (valid.ndim - 1)))
    prev = np.maximum.accumulate(np.where(valid, rows, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, rows, n)[::-1], axis=0)[::-1]
    return prev, nxt


def gap_lengths(x: np.ndarray) -> np.ndarray:
    """For each NaN cell, the length of the run of NaN it belongs to (0 for valid cells).

    Runs touching the first or last row count as infinitely long (there is nothing
    to interpolate towards).
    """
    valid = ~np.isnan(x)
    prev, nxt = _neighbours(valid)
    n = x.shape[0]
    length = (nxt - prev - 1).astype(np.float64)
    length[(prev < 0) | (nxt >= n)] = np.inf
    length[valid] = 0
    return length


def fill_gaps(x: np.ndarray, max_gap: float | None = None, edges: bool = False) -> np.ndarray:
    """Linear interpolation along axis 0 over runs of NaN of at most ``max_gap`` rows.

    ``max_gap=None`` fills every interior gap; leading and trailing NaN stay NaN unless
    ``edges`` (then they take the nearest valid value, whatever ``max_gap``).
    Columns without any valid value stay NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    valid = ~np.isnan(x)
    if valid.all():
        return x.copy()
    n = x.shape[0]
    prev, nxt = _neighbours(valid)
    p = np.clip(prev, 0, n - 1)
    q = np.clip(nxt, 0, n - 1)
    xp = np.take_along_axis(x, p, axis=0)
    xq = np.take_along_axis(x, q, axis=0)
    rows = np.arange(n).reshape(-1, *([1] * (x.ndim - 1)))
    interior = (prev >= 0) & (nxt < n)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(interior, (rows - prev) / np.maximum(nxt - prev, 1), 0.0)
    filled = xp + t * (xq - xp)
    fill = ~valid & interior
    if max_gap is not None:
        fill &= (nxt - prev - 1) <= max_gap
    out = np.where(fill, filled, x)
    if edges:
        out = np.where(~valid & (prev < 0) & (nxt < n), xq, out)
        out = np.where(~valid & (nxt >= n) & (prev >= 0), xp, out)
    return out


def nanmedian_filter(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median along axis 0 of a ``(frames, columns)`` array.

    ``window`` must be odd. NaN are ignored; windows are cut at the ends (frame 0
    is the median of frames ``0 .. window // 2``), unlike ``scipy.signal.medfilt``,
    which pads with zeros and so drags the first and last frames towards 0.
    A window without any valid value gives NaN.
    """
    window = int(window)
    if window < 1 or window % 2 == 0:
        raise ValueError(f"windowlength must be a positive odd number, got {window}")
    x = np.asarray(x, dtype=np.float64)
    h = window // 2
    if window == 1 or x.shape[0] == 0:
        return x.copy()
    pad = np.full((h, *x.shape[1:]), np.nan)
    padded = np.concatenate([pad, x, pad], axis=0)
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (n, ..., w)
    out = np.empty_like(x)
    inner = view[h:-h] if x.shape[0] > 2 * h else view[:0]
    inner_has_nan = np.isnan(inner).any(axis=-1)
    if inner.shape[0]:
        out[h:-h] = np.median(inner, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows -> NaN
        if inner_has_nan.any():
            sub = out[h:-h]
            sub[inner_has_nan] = np.nanmedian(inner[inner_has_nan], axis=-1)
        ends = np.r_[0 : min(h, x.shape[0]), max(h, x.shape[0] - h) : x.shape[0]]
        out[ends] = np.nanmedian(view[ends], axis=-1)
    return out


def whittaker_smooth(x: np.ndarray, lam: float) -> np.ndarray:
    """Discrete cubic smoothing spline of every column (Whittaker-Eilers, 2nd differences).

    Minimises ``sum_valid (x - z)^2 + lam * sum (second difference of z)^2`` per column:
    the discrete analogue of the cubic smoothing spline (Eilers 2003), exact for
    straight lines, cubic across missing values. One banded Cholesky solve per column,
    O(frames), where ``scipy.interpolate.make_smoothing_spline``'s cross-validation
    grows much faster than linearly. Columns with fewer than 3 valid values are returned
    unchanged.
    """
    from scipy.linalg import solveh_banded

    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    out = x.copy()
    if n < 3:
        return out
    lam = float(lam)
    # D'D of the second-difference operator, in upper banded storage (3, n)
    d0 = np.full(n, 6.0)
    d0[[0, -1]], d0[[1, -2]] = 1.0, 5.0
    d1 = np.full(n, -4.0)
    d1[[1, -1]] = -2.0
    penalty = np.stack([np.ones(n), d1, d0]) * lam
    penalty[0, :2] = 0.0
    penalty[1, 0] = 0.0
    if n == 3:  # the formulas above assume n >= 4
        penalty[2] = lam * np.array([1.0, 4.0, 1.0])
        penalty[1] = lam * np.array([0.0, -2.0, -2.0])
    for c in range(x.shape[1]):  # one O(n) solve per column
        valid = ~np.isnan(x[:, c])
        if valid.sum() < 3:
            continue
        ab = penalty.copy()
        ab[2] += valid
        out[:, c] = solveh_banded(ab, np.where(valid, x[:, c], 0.0), check_finite=False)
    return out


def _lags(x: np.ndarray, k: int, edge: bool = True) -> np.ndarray:
    """``out[t] = x[t - k]``; before the start the first row (``edge``) or zeros.

    Repeating the first frame makes the first predictions "stay where you are"
    rather than "go to the mean", which would flag the first frames as outliers.
    """
    out = np.repeat(x[:1], x.shape[0], axis=0) if edge and x.shape[0] else np.zeros_like(x)
    if k < x.shape[0]:
        out[k:] = x[: x.shape[0] - k]
    return out


def _batched_lstsq(design: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per column c: argmin_b sum_t w[t,c] (target[t,c] - design[t,c] @ b)^2 (tiny ridge)."""
    dw = design * weight[..., None]
    gram = np.einsum("tci,tcj->cij", dw, design)
    rhs = np.einsum("tci,tc->ci", dw, target)
    m = gram.shape[-1]
    scale = np.trace(gram, axis1=1, axis2=2)[:, None, None] / max(m, 1)
    gram = gram + (1e-8 * scale + 1e-12) * np.eye(m)
    return np.linalg.solve(gram, rhs[..., None])[..., 0]


def _robust_fit(design: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Least squares, then once more without rows whose residual exceeds 4 robust sigmas.

    The outliers we look for would otherwise bend the fit towards themselves (and the
    rows that have them among their lags would too).
    """
    coef = _batched_lstsq(design, target, weight)
    resid = np.abs(target - np.einsum("tci,ci->tc", design, coef))
    masked = np.where(weight > 0, resid, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma = 1.4826 * np.nanmedian(masked, axis=0)
    keep = resid <= 4 * np.nan_to_num(sigma, nan=np.inf) + 1e-9
    return _batched_lstsq(design, target, weight * keep)


def _design(z: np.ndarray, innovations: np.ndarray, ar: int, ma: int) -> np.ndarray:
    """``(T, C, 1 + ar + ma)``: intercept, ``ar`` lags of ``z``, ``ma`` lags of the innovations."""
    regs = [np.ones_like(z)] + [_lags(z, k) for k in range(1, ar + 1)]
    regs += [_lags(innovations, k, edge=False) for k in range(1, ma + 1)]
    return np.stack(regs, axis=-1)


def arma_predict(
    y: np.ndarray, ar: int = 3, ma: int = 1, alpha: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead ARMA(ar, ma) predictions of every column of ``y`` ``(frames, columns)``.

    Returns ``(prediction, halfwidth)``: predictions ``(frames, columns)`` (NaN for
    columns with fewer than :data:`MIN_VALID` values) and the ``1 - alpha`` prediction
    interval half-width per column (normal innovations). See the module docstring.
    """
    from scipy.stats import norm

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"expected (frames, columns), got shape {y.shape}")
    ar, ma = max(int(ar), 0), max(int(ma), 0)
    valid = ~np.isnan(y)
    enough = valid.sum(axis=0) >= max(MIN_VALID, ar + ma + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.where(enough, np.nanmean(y, axis=0), np.nan)
    z = fill_gaps(y - mean, edges=True)
    z[:, ~enough] = 0.0
    n = y.shape[0]
    t = np.arange(n)[:, None]
    innovations = np.zeros_like(z)
    if ma > 0:  # stage 1: long autoregression -> innovation estimates
        m = min(max(2 * (ar + ma), 8), max(n // 4, 1))
        design = np.stack([np.ones_like(z)] + [_lags(z, k) for k in range(1, m + 1)], axis=-1)
        w = (valid & (t >= m) & enough).astype(np.float64)
        coef = _robust_fit(design, z, w)
        innovations = np.where(valid, z - np.einsum("tci,ci->tc", design, coef), 0.0)
    design = _design(z, innovations, ar, ma)
    coef = _robust_fit(design, z, (valid & (t >= max(ar, ma)) & enough).astype(np.float64))
    pred = mean + np.einsum("tci,ci->tc", design, coef)
    # Predict again with gross outliers removed from the lags, so a single wrong frame
    # stands out alone instead of also spoiling the predictions of the frames after it.
    resid = np.abs(y - pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        robust = 1.4826 * np.nanmedian(resid, axis=0)
    flagged = valid & (resid > 4 * np.nan_to_num(robust, nan=np.inf) + 1e-9)
    if flagged.any():
        clean = fill_gaps(np.where(flagged, np.nan, y) - mean, edges=True)
        clean[:, ~enough] = 0.0
        design = _design(clean, np.where(flagged, 0.0, innovations), ar, ma)
        pred = mean + np.einsum("tci,ci->tc", design, coef)
    resid = np.where(valid, y - pred, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma = np.sqrt(np.nanmean(resid[max(ar, ma) :] ** 2, axis=0))
    pred[:, ~enough] = np.nan
    return pred, norm.ppf(1 - alpha / 2) * sigma
