"""Triangulation as an optimisation over a whole clip, as anipose's ``optim``.

Unknowns: every frame's 3D points and one length per bone. Costs: reprojection errors
(robust: a soft-L1 beyond ``reproj_error_threshold`` px, so an outlier view pulls
little), temporal smoothness (differences of order ``n_deriv_smooth`` along time) and
constant bone lengths (``constraints``: pairs of joint indices, in % of the length).
Solved with ``scipy.optimize.least_squares`` and an *analytic* sparse Jacobian, so a
clip of 1000 frames x 10 points takes seconds, not minutes. Starts from DLT (or RANSAC)
points, gaps bridged linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import coo_matrix

from markerless.pose3d.distortion import _distort_with_jacobian, full_coefficients


@dataclass
class OptimResult:
    points: np.ndarray  # (F, J, 3)
    bone_lengths: np.ndarray  # (K,)
    cost: float
    nfev: int


def _fill(x: np.ndarray) -> np.ndarray:
    """Linear interpolation along axis 0 (edges: nearest value); all-NaN columns -> 0."""
    from markerless.postprocessing.timeseries import fill_gaps

    flat = x.reshape(x.shape[0], -1)
    out = fill_gaps(flat, edges=True)
    return np.nan_to_num(out, nan=0.0).reshape(x.shape)


class _Problem:
    def __init__(self, group, p2d, weights, constraints, scale_smooth, scale_length,
                 reproj_error_threshold, n_deriv_smooth):
        C, F, J, _ = p2d.shape
        self.C, self.F, self.J = C, F, J
        self.valid = np.isfinite(p2d).all(axis=-1)
        self.c_idx, self.f_idx, self.j_idx = np.nonzero(self.valid)
        self.obs = p2d[self.valid]
        self.w = np.ones(len(self.obs)) if weights is None else np.nan_to_num(
            weights[self.valid], nan=0.0)
        self.rot = np.array([c.rotation_matrix for c in group.cameras])
        self.t = np.array([c.tvec for c in group.cameras])
        self.K = np.array([c.matrix for c in group.cameras])
        self.coef = np.array([full_coefficients(c.dist) for c in group.cameras])
        self.cons = np.asarray(constraints, dtype=np.int64).reshape(-1, 2)
        self.s_smooth, self.s_len = float(scale_smooth), float(scale_length)
        self.rp = float(reproj_error_threshold)
        self.n_deriv = int(n_deriv_smooth)
        # finite-difference stencil along time
        self.stencil = _binomial(self.n_deriv)
        self.n_pts = F * J * 3

    def _project(self, X):
        pi = (self.f_idx * self.J + self.j_idx)
        P = X.reshape(-1, 3)[pi]
        R, t = self.rot[self.c_idx], self.t[self.c_idx]
        Xc = np.einsum("nij,nj->ni", R, P) + t
        z = Xc[:, 2]
        x, y = Xc[:, 0] / z, Xc[:, 1] / z
        out = np.empty((len(z), 2))
        jac = np.empty((len(z), 2, 3))
        for c in range(self.C):  # one camera's coefficients at a time (C is small)
            m = self.c_idx == c
            xd, yd, a, b, cc, d = _distort_with_jacobian(x[m], y[m], self.coef[c])
            fx, fy = self.K[c, 0, 0], self.K[c, 1, 1]
            out[m, 0] = fx * xd + self.K[c, 0, 2]
            out[m, 1] = fy * yd + self.K[c, 1, 2]
            # d(x, y)/dXc
            zi = 1.0 / z[m]
            jp = np.zeros((m.sum(), 2, 3))
            jp[:, 0, 0] = zi
            jp[:, 0, 2] = -x[m] * zi
            jp[:, 1, 1] = zi
            jp[:, 1, 2] = -y[m] * zi
            jd = np.stack([np.stack([a * fx, b * fx], -1), np.stack([cc * fy, d * fy], -1)], -2)
            jac[m] = jd @ jp @ R[m]
        return out, jac

    def residuals_and_jacobian(self, params, want_jac: bool):
        n = self.n_pts
        X = params[:n].reshape(self.F, self.J, 3)
        L = params[n:]
        proj, jproj = self._project(X)
        r = (proj - self.obs) * self.w[:, None]
        a = np.abs(r)
        rr = np.sign(r) * self.rp * 2 * (np.sqrt(1 + a / self.rp) - 1)
        parts = [rr.ravel()]
        # smoothness
        k = len(self.stencil)
        T = self.F - k + 1
        if T > 0 and self.s_smooth > 0:
            sm = sum(self.stencil[i] * X[i: i + T] for i in range(k)) * self.s_smooth
            parts.append(sm.ravel())
        # bone lengths
        if len(self.cons):
            diff = X[:, self.cons[:, 0]] - X[:, self.cons[:, 1]]  # (F, K, 3)
            dist = np.linalg.norm(diff, axis=-1)
            Ls = np.where(np.abs(L) > 1e-9, L, 1e-9)
            parts.append((100 * self.s_len * (dist / Ls - 1)).ravel())
        res = np.concatenate(parts)
        if not want_jac:
            return res, None
        rows, cols, vals = [], [], []
        # reprojection block
        drr = self.w[:, None] / np.sqrt(1 + a / self.rp)  # (n_obs, 2)
        pi = (self.f_idx * self.J + self.j_idx)
        nobs = len(pi)
        for comp in range(2):
            for ax in range(3):
                rows.append(np.arange(nobs) * 2 + comp)
                cols.append(pi * 3 + ax)
                vals.append(drr[:, comp] * jproj[:, comp, ax])
        off = 2 * nobs
        if T > 0 and self.s_smooth > 0:
            base = np.arange(T * self.J * 3).reshape(T, self.J, 3)
            for i in range(k):
                rows.append(off + base.ravel())
                cols.append((base + i * self.J * 3).ravel())
                vals.append(np.full(base.size, self.stencil[i] * self.s_smooth))
            off += T * self.J * 3
        if len(self.cons):
            Kc = len(self.cons)
            ridx = off + np.arange(self.F * Kc).reshape(self.F, Kc)
            with np.errstate(invalid="ignore", divide="ignore"):
                unit = diff / np.where(dist > 1e-12, dist, 1.0)[..., None]
            g = 100 * self.s_len / Ls  # (K,)
            fr = np.arange(self.F)[:, None]
            for side, sign in ((0, 1.0), (1, -1.0)):
                joint = self.cons[:, side][None, :]
                for ax in range(3):
                    rows.append(ridx.ravel())
                    cols.append(((fr * self.J + joint) * 3 + ax).ravel())
                    vals.append((sign * unit[..., ax] * g).ravel())
            rows.append(ridx.ravel())
            cols.append((n + np.broadcast_to(np.arange(Kc), (self.F, Kc))).ravel())
            vals.append((-100 * self.s_len * dist / Ls ** 2).ravel())
        jac = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(res), len(params))).tocsr()
        return res, jac


def _binomial(n: int) -> np.ndarray:
    """Coefficients of the n-th forward difference: x[t+n] ... x[t]."""
    from math import comb

    return np.array([(-1) ** (n - i) * comb(n, i) for i in range(n + 1)], dtype=np.float64)


def optim_points(group, p2d: np.ndarray, p3d_init: np.ndarray,
                 constraints: Sequence[Sequence[int]] = (), weights: np.ndarray | None = None,
                 scale_smooth: float = 4.0, scale_length: float = 2.0,
                 reproj_error_threshold: float = 15.0, n_deriv_smooth: int = 1,
                 max_nfev: int = 100) -> OptimResult:
    """Refine (F, J, 3) points against (C, F, J, 2) observations (see module doc).

    ``scale_smooth`` is anipose's: relative to the clip's typical frame-to-frame motion.
    """
    from threadpoolctl import threadpool_limits

    init = _fill(np.asarray(p3d_init, dtype=np.float64))
    cons = np.asarray(constraints, dtype=np.int64).reshape(-1, 2)
    motion = np.nanmean(np.abs(np.diff(init, axis=0))) if init.shape[0] > 1 else 1.0
    s_smooth = scale_smooth / max(float(motion), 1e-6)
    lengths = (np.nanmedian(np.linalg.norm(init[:, cons[:, 0]] - init[:, cons[:, 1]], axis=-1),
                            axis=0) if len(cons) else np.zeros(0))
    prob = _Problem(group, p2d, weights, cons, s_smooth, scale_length, reproj_error_threshold,
                    n_deriv_smooth)
    x0 = np.concatenate([init.ravel(), lengths])
    cache: dict = {}

    def fun(x):
        r, j = prob.residuals_and_jacobian(x, True)
        cache["x"], cache["j"] = x.copy(), j
        return r

    def jac(x):
        if "x" in cache and np.array_equal(cache["x"], x):
            return cache["j"]
        return prob.residuals_and_jacobian(x, True)[1]

    with threadpool_limits(1):
        res = least_squares(fun, x0, jac=jac, method="trf", tr_solver="lsmr", loss="linear",
                            ftol=1e-4, xtol=1e-8, max_nfev=max_nfev, x_scale="jac")
    pts = res.x[: prob.n_pts].reshape(init.shape)
    return OptimResult(pts, res.x[prob.n_pts:], float(res.cost), int(res.nfev))


def triangulate_optim(group, points: np.ndarray, constraints: Sequence[Sequence[int]] = (),
                      init_ransac: bool = False, weights: np.ndarray | None = None,
                      ransac_threshold: float = 10.0, **kwargs) -> OptimResult:
    """(C, F, J, 2) pixels -> optimised (F, J, 3), initialised by DLT or RANSAC."""
    C, F, J, _ = points.shape
    flat = points.reshape(C, F * J, 2)
    if init_ransac:
        from markerless.pose3d.triangulation import ransac

        init = ransac(group, flat, threshold=ransac_threshold).points
    else:
        init = group.triangulate(flat)
    init = init.reshape(F, J, 3)
    if np.isfinite(init[..., 0]).sum() < 3:
        return OptimResult(init, np.zeros(len(constraints)), np.nan, 0)
    return optim_points(group, points, init, constraints, weights=weights, **kwargs)
