"""Bundle adjustment of cameras and board poses (``scipy.optimize.least_squares``).

Unknowns: every camera's pose (the first camera is the world frame and stays fixed),
optionally its intrinsics (fx, fy, cx, cy, distortion), and the board's pose in every
view seen by a camera. The board stays rigid at its printed size, so the result is in
mm at the board's scale (anipose instead frees every corner and pulls it back softly).
The Jacobian is sparse (an observation depends on one camera and one board pose) and
computed by grouped finite differences. A robust loss and an inlier threshold that
tightens from round to round drop mis-detections; the last round is plain least squares
on the inliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import coo_matrix

from markerless.pose3d.distortion import full_coefficients, rodrigues

#: above this many Jacobian entries (rows x parameters) bundle adjustment uses the sparse
#: lsmr solver instead of dense trust-region steps (~160 MB of doubles).
DENSE_LIMIT = 20_000_000


@dataclass
class Observations:
    """Flat arrays, one entry per observed corner: camera, view, corner id, pixel (2,)."""

    cam: np.ndarray
    view: np.ndarray
    corner: np.ndarray
    px: np.ndarray


@dataclass
class BundleResult:
    rvecs: np.ndarray  # (C, 3) world -> camera
    tvecs: np.ndarray  # (C, 3)
    matrices: np.ndarray  # (C, 3, 3)
    dists: np.ndarray  # (C, n_dist)
    board_rvecs: np.ndarray  # (V, 3) board -> world
    board_tvecs: np.ndarray  # (V, 3)
    errors: np.ndarray  # (n_obs,) reprojection error norms (px) at the solution
    inliers: np.ndarray  # (n_obs,) bool
    thresholds: list[float]


def _distort_many(x: np.ndarray, y: np.ndarray, c: np.ndarray):
    """OpenCV distortion with per-point coefficients ``c`` (n, 12)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c.T
    r2 = x * x + y * y
    r4 = r2 * r2
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) + s1 * r2 + s2 * r4
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y + s3 * r2 + s4 * r4
    return xd, yd


class _Problem:
    def __init__(self, obs: Observations, obj: np.ndarray, n_cams: int, n_views: int,
                 free_dist: tuple[int, ...], refine_intrinsics: bool):
        self.obs, self.obj = obs, obj
        self.n_cams, self.n_views = n_cams, n_views
        self.free = list(free_dist)
        self.refine = refine_intrinsics
        self.n_intr = (4 + len(self.free)) if refine_intrinsics else 0
        self.n_cam = 6 + self.n_intr
        self.off_views = (n_cams - 1) * 6 + n_cams * self.n_intr

    def pack(self, rvecs, tvecs, mats, dists, brv, btv) -> np.ndarray:
        parts = [np.concatenate([rvecs[1:], tvecs[1:]], axis=1).ravel()]
        if self.refine:
            intr = np.concatenate([mats[:, 0, 0:1], mats[:, 1, 1:2], mats[:, 0, 2:3],
                                   mats[:, 1, 2:3], dists[:, self.free]], axis=1)
            parts.append(intr.ravel())
        parts.append(np.concatenate([brv, btv], axis=1).ravel())
        return np.concatenate(parts)

    def unpack(self, x, rvecs0, tvecs0, mats0, dists0):
        C = self.n_cams
        ext = x[: (C - 1) * 6].reshape(C - 1, 6)
        rvecs = np.concatenate([rvecs0[:1], ext[:, :3]])
        tvecs = np.concatenate([tvecs0[:1], ext[:, 3:]])
        mats, dists = mats0.copy(), dists0.copy()
        pos = (C - 1) * 6
        if self.refine:
            intr = x[pos: pos + C * self.n_intr].reshape(C, self.n_intr)
            mats[:, 0, 0], mats[:, 1, 1], mats[:, 0, 2], mats[:, 1, 2] = intr[:, :4].T
            dists[:, self.free] = intr[:, 4:]
        b = x[self.off_views:].reshape(self.n_views, 6)
        return rvecs, tvecs, mats, dists, b[:, :3], b[:, 3:]

    def residuals(self, x, fixed) -> np.ndarray:
        rvecs, tvecs, mats, dists, brv, btv = self.unpack(x, *fixed)
        o = self.obs
        rc = rodrigues(rvecs)[o.cam]
        rb = rodrigues(brv)[o.view]
        pw = np.einsum("nij,nj->ni", rb, self.obj[o.corner]) + btv[o.view]
        pc = np.einsum("nij,nj->ni", rc, pw) + tvecs[o.cam]
        x_, y_ = pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2]
        coef = np.array([full_coefficients(d) for d in dists])[o.cam]
        xd, yd = _distort_many(x_, y_, coef)
        m = mats[o.cam]
        u = m[:, 0, 0] * xd + m[:, 0, 2]
        v = m[:, 1, 1] * yd + m[:, 1, 2]
        return np.stack([u - o.px[:, 0], v - o.px[:, 1]], axis=1).ravel()

    def column_owner(self):
        """Per parameter: (kind, index, slot): kind 0 = camera, 1 = board view."""
        kinds, idx, slot = [], [], []
        for c in range(1, self.n_cams):
            kinds += [0] * 6
            idx += [c] * 6
            slot += list(range(6))
        for c in range(self.n_cams):
            kinds += [0] * self.n_intr
            idx += [c] * self.n_intr
            slot += list(range(6, 6 + self.n_intr))
        for v in range(self.n_views):
            kinds += [1] * 6
            idx += [v] * 6
            slot += list(range(6))
        return np.array(kinds), np.array(idx), np.array(slot)

    def jacobian(self, x, fixed, dense: bool):
        """Finite differences, one residual evaluation per parameter *slot*: a residual
        depends on one camera and one board view, so all cameras' slot j (or all views'
        slot j) are perturbed together."""
        kinds, idx, slot = self.column_owner()
        f0 = self.residuals(x, fixed)
        h = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))
        row_owner = {0: np.repeat(self.obs.cam, 2), 1: np.repeat(self.obs.view, 2)}
        rows, cols, vals = [], [], []
        for kind in (0, 1):
            for j in np.unique(slot[kinds == kind]):
                group = np.flatnonzero((kinds == kind) & (slot == j))
                xp = x.copy()
                xp[group] += h[group]
                df = self.residuals(xp, fixed) - f0
                col_of = np.full(max(idx[group].max() + 1, 1), -1)
                col_of[idx[group]] = group
                owner = row_owner[kind]
                c = col_of[np.minimum(owner, len(col_of) - 1)]
                c[owner >= len(col_of)] = -1
                ok = c >= 0
                r = np.flatnonzero(ok)
                rows.append(r)
                cols.append(c[ok])
                vals.append(df[ok] / h[c[ok]])
        shape = (len(f0), len(x))
        jac = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=shape)
        return jac.toarray() if dense else jac.tocsr()

    def sparsity(self) -> coo_matrix:
        o = self.obs
        n = len(o.cam)
        cols = [np.stack([self.off_views + o.view * 6 + j for j in range(6)], 1)]
        if self.n_intr:
            base = (self.n_cams - 1) * 6 + o.cam * self.n_intr
            cols.append(np.stack([base + j for j in range(self.n_intr)], 1))
        ext = np.stack([(o.cam - 1) * 6 + j for j in range(6)], 1)
        ext[o.cam == 0] = -1  # the first camera is fixed
        cols.append(ext)
        cols = np.concatenate(cols, axis=1)  # (n, k)
        rows = np.repeat(np.arange(n), cols.shape[1]).reshape(n, -1)
        keep = cols >= 0
        r, c = rows[keep], cols[keep]
        r = np.concatenate([2 * r, 2 * r + 1])
        c = np.concatenate([c, c])
        shape = (2 * n, self.off_views + 6 * self.n_views)
        return coo_matrix((np.ones(len(r), np.int8), (r, c)), shape=shape).tocsr()


def bundle_adjust(obs: Observations, obj: np.ndarray, rvecs: np.ndarray, tvecs: np.ndarray,
                  matrices: np.ndarray, dists: np.ndarray, board_rvecs: np.ndarray,
                  board_tvecs: np.ndarray, refine_intrinsics: bool = True,
                  start_threshold: float = 10.0, end_threshold: float = 1.0, n_rounds: int = 4,
                  max_nfev: int = 200, free_dist: tuple[int, ...] | None = None) -> BundleResult:
    """Refine cameras (and boards) to minimise the corners' reprojection error.

    Round r keeps the observations whose error is below ``max(t_r, 3 x median error)``,
    ``t_r`` going geometrically from ``start_threshold`` to ``end_threshold`` px.
    BLAS runs single-threaded here: the solver's many small vector products are several
    times slower with threads on a busy machine.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _bundle_adjust(obs, obj, rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs,
                              refine_intrinsics, start_threshold, end_threshold, n_rounds,
                              max_nfev, free_dist)


def _bundle_adjust(obs, obj, rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs,
                   refine_intrinsics, start_threshold, end_threshold, n_rounds, max_nfev,
                   free_dist) -> BundleResult:
    n_cams, n_views = len(rvecs), len(board_rvecs)
    free = tuple(range(dists.shape[1])) if free_dist is None else tuple(free_dist)
    fixed = (rvecs, tvecs, matrices, dists)
    inliers = np.ones(len(obs.cam), dtype=bool)
    x = None
    thresholds: list[float] = []
    schedule = list(np.geomspace(start_threshold, end_threshold, n_rounds))
    r = 0
    while r < len(schedule):
        t = schedule[r]
        last = r == len(schedule) - 1
        sub = Observations(obs.cam[inliers], obs.view[inliers], obs.corner[inliers],
                           obs.px[inliers])
        prob = _Problem(sub, obj, n_cams, n_views, free, refine_intrinsics)
        x0 = prob.pack(rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs) if x is None \
            else x
        # early rounds only sort inliers from outliers: a loose tolerance does
        tol = 1e-8 if last else 1e-5
        # small problems: dense trust-region steps converge in a few iterations; large
        # ones: the sparse (lsmr) solver keeps memory bounded
        dense = 2 * len(sub.cam) * len(x0) <= DENSE_LIMIT
        solver = {"tr_solver": "exact"} if dense else {
            "tr_solver": "lsmr", "tr_options": {"atol": 1e-12, "btol": 1e-12}}
        res = least_squares(prob.residuals, x0, jac=lambda xx, fx, p=prob, d=dense:
                            p.jacobian(xx, fx, d), method="trf", x_scale="jac",
                            loss="linear" if last else "huber", f_scale=float(t),
                            max_nfev=max_nfev if last else 30, ftol=tol, xtol=tol, gtol=1e-8,
                            args=(fixed,), **solver)
        x = res.x
        rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs = prob.unpack(x, *fixed)
        fixed = (rvecs, tvecs, matrices, dists)
        full = _Problem(obs, obj, n_cams, n_views, free, refine_intrinsics)
        err = np.linalg.norm(full.residuals(
            full.pack(rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs), fixed)
            .reshape(-1, 2), axis=1)
        thr = max(float(t), 3.0 * float(np.median(err[inliers])))
        thresholds.append(thr)
        if not last:
            new = err < thr
            if np.array_equal(new, inliers) and not (err[new] > schedule[-1]).any():
                r = len(schedule) - 1  # nothing left to reject: go to the final round
                continue
            inliers = new
        r += 1
    return BundleResult(rvecs, tvecs, matrices, dists, board_rvecs, board_tvecs, err,
                        err < thresholds[-1], thresholds)
