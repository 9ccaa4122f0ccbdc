"""Linear (DLT) and RANSAC triangulation, vectorised over points and camera subsets.

No Python loop per point: every view contributes a 4x4 block ``A_c^T A_c`` to a
per-point normal matrix, so a subset of cameras is a sum of blocks and all points (and,
for RANSAC, all camera pairs) are solved at once by batched 3x3/4x4 solves. The
homogeneous DLT solution (the smallest eigenvector) is reached by two shifted
inverse-iteration steps from the inhomogeneous least-squares solution, which is several
times faster than a batched SVD and equal to it to rounding. World coordinates are
centred and scaled on the cameras (Hartley's normalisation) before solving.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from markerless.pose3d.camera import CameraGroup

#: points per block in RANSAC (bounds memory to ~n_pairs x CHUNK x 16 doubles).
CHUNK = 50_000


def _normaliser(extrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Projection matrices in a frame centred on the cameras, scaled to their spread."""
    rot, t = extrinsics[:, :, :3], extrinsics[:, :, 3]
    centres = -np.einsum("cji,cj->ci", rot, t)
    c = centres.mean(axis=0)
    s = float(np.mean(np.linalg.norm(centres - c, axis=1))) or 1.0
    T = np.eye(4)
    T[:3, :3] *= s
    T[:3, 3] = c
    return extrinsics @ T, c, s


def _rows(norm: np.ndarray, proj: np.ndarray, weights: np.ndarray | None):
    """The DLT rows ``sqrt(w) * (x P3 - P1)`` and ``sqrt(w) * (y P3 - P2)``: (C, 2, N, 4)
    (zero for a missing view)."""
    valid = np.isfinite(norm).all(axis=-1)
    w = valid.astype(np.float64)
    if weights is not None:
        wt = np.asarray(weights, dtype=np.float64)
        w = w * np.where(np.isfinite(wt) & (wt > 0), wt, 0.0)
    sw = np.sqrt(w)
    x = np.where(valid, norm[..., 0], 0.0)
    y = np.where(valid, norm[..., 1], 0.0)
    r1 = (x[..., None] * proj[:, None, 2, :] - proj[:, None, 0, :]) * sw[..., None]
    r2 = (y[..., None] * proj[:, None, 2, :] - proj[:, None, 1, :]) * sw[..., None]
    return np.stack([r1, r2], axis=1)


_PAIRS = [(i, j) for i in range(4) for j in range(i, 4)]


def view_blocks(norm: np.ndarray, proj: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Per camera and point, the weighted 4x4 block ``w * A^T A`` (zero for a missing view).

    ``norm`` (C, N, 2) normalised image coordinates, ``proj`` (C, 3, 4) (normalised frame).
    """
    rows = _rows(norm, proj, weights)  # (C, 2, N, 4)
    return np.einsum("crni,crnj->cnij", rows, rows)


def normal_matrix(rows: np.ndarray) -> np.ndarray:
    """Sum over cameras and rows of ``r r^T``: (..., N, 4) rows -> (N, 4, 4), computed as
    the 10 distinct products (much faster than a batched matmul of tiny matrices)."""
    flat = rows.reshape(-1, rows.shape[-2], 4)
    m = np.empty((flat.shape[1], 4, 4))
    for i, j in _PAIRS:
        v = np.einsum("kn,kn->n", flat[..., i], flat[..., j])
        m[:, i, j] = v
        m[:, j, i] = v
    return m


def _solve3(a: np.ndarray, b: np.ndarray):
    """Batched 3x3 solves by Cramer's rule: (N, 3, 3), (N, 3) -> (N, 3), det (N,)."""
    c0 = np.cross(a[:, :, 1], a[:, :, 2])
    c1 = np.cross(a[:, :, 2], a[:, :, 0])
    c2 = np.cross(a[:, :, 0], a[:, :, 1])
    det = np.einsum("ni,ni->n", a[:, :, 0], c0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.stack([np.einsum("ni,ni->n", b, c) for c in (c0, c1, c2)], axis=1) / det[:, None]
    return x, det


def solve_blocks(m: np.ndarray) -> np.ndarray:
    """Smallest-eigenvector (homogeneous DLT) solution of normal matrices (..., 4, 4) -> (..., 3).

    The eigenvector ``[X, 1]`` satisfies ``(M3 - lam I) X = -m`` with ``lam`` the smallest
    eigenvalue (the Rayleigh quotient): starting from the inhomogeneous least-squares
    solution (``lam = 0``), two such 3x3 solves converge to rounding. Degenerate systems
    (fewer than two independent rays) give NaN.
    """
    shape = m.shape[:-2]
    m = m.reshape(-1, 4, 4)
    a, b = m[:, :3, :3], -m[:, :3, 3]
    scale = np.trace(a, axis1=1, axis2=2) / 3.0
    x, det = _solve3(a, b)
    ok = (scale > 0) & (np.abs(det) > 1e-10 * np.where(scale > 0, scale, 1.0) ** 3)
    eye = np.eye(3)
    for _ in range(2):
        v = np.concatenate([x, np.ones((len(x), 1))], axis=1)
        with np.errstate(invalid="ignore"):
            lam = np.einsum("ni,nij,nj->n", v, m, v) / np.einsum("ni,ni->n", v, v)
        x, _ = _solve3(a - lam[:, None, None] * eye, b)
    x[~ok | ~np.isfinite(x).all(axis=1)] = np.nan
    return x.reshape(shape + (3,))


def dlt(norm: np.ndarray, extrinsics: np.ndarray, weights: np.ndarray | None = None,
        min_cams: int = 2) -> np.ndarray:
    """(C, N, 2) normalised coordinates + (C, 3, 4) ``[R|t]`` -> (N, 3) world points.

    A point with fewer than ``min_cams`` valid (finite, weight > 0) views is NaN.
    """
    norm = np.asarray(norm, dtype=np.float64)
    proj, c, s = _normaliser(np.asarray(extrinsics, dtype=np.float64))
    rows = _rows(norm, proj, weights)
    n_views = (np.abs(rows).sum(axis=(1, 3)) > 0).sum(axis=0)
    out = solve_blocks(normal_matrix(rows)) * s + c
    out[n_views < min_cams] = np.nan
    return out


@dataclass
class RansacResult:
    """``points`` (N, 3); ``inliers`` (C, N) the views used; ``error`` (N,) mean reprojection
    error (px) over them; ``ncams`` (N,) how many."""

    points: np.ndarray
    inliers: np.ndarray
    error: np.ndarray
    ncams: np.ndarray


def _errors(group: CameraGroup, points3d: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(C, ...) reprojection error norms of (..., 3) points against (C, ..., 2) pixels."""
    with np.errstate(invalid="ignore"):
        return np.linalg.norm(group.project(points3d) - pixels, axis=-1)


def ransac(group: CameraGroup, pixels: np.ndarray, threshold: float = 10.0, min_cams: int = 2,
           weights: np.ndarray | None = None) -> RansacResult:
    """Pick, per point, the camera pair whose triangulation has the most inlier views
    (ties: the smallest truncated error), then triangulate all its inliers.

    Every pair is a hypothesis (C choose 2 of them), evaluated for all points at once.
    Views more than ``threshold`` px from the hypothesis are outliers. Points with fewer
    than ``max(2, min_cams)`` consistent views - or fewer views than that at all - stay NaN.
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    n_cams, n_points = pixels.shape[:2]
    norm = group.undistort(pixels)
    proj, c, s = _normaliser(group.extrinsics())
    pairs = np.array(list(itertools.combinations(range(n_cams), 2)))
    valid = np.isfinite(norm).all(axis=-1)
    need = max(2, int(min_cams))
    out_pts = np.full((n_points, 3), np.nan)
    out_in = np.zeros((n_cams, n_points), dtype=bool)
    for lo in range(0, n_points, CHUNK):
        sl = slice(lo, min(lo + CHUNK, n_points))
        blocks = view_blocks(norm[:, sl], proj, weights[:, sl] if weights is not None else None)
        hyp = solve_blocks(blocks[pairs[:, 0]] + blocks[pairs[:, 1]]) * s + c  # (K, n, 3)
        pair_ok = valid[pairs[:, 0], sl] & valid[pairs[:, 1], sl]
        hyp[~pair_ok] = np.nan
        err = _errors(group, hyp, pixels[:, None, sl])  # (C, K, n)
        inl = err < threshold
        count = inl.sum(axis=0)
        cost = np.where(inl, err, threshold).sum(axis=0)
        score = np.where(pair_ok, count * (threshold * n_cams + 1.0) - cost, -np.inf)
        best = np.argmax(score, axis=0)
        take = np.arange(best.size)
        inliers = inl[:, best, take]  # (C, n)
        for _ in range(2):  # refit on the inliers, then re-collect views near the refit
            w = inliers.astype(np.float64)  # the blocks already carry the weights
            pts = solve_blocks(np.einsum("cnij,cn->nij", blocks, w)) * s + c
            pts[inliers.sum(axis=0) < 2] = np.nan
            e = _errors(group, pts, pixels[:, sl])
            inliers = e < threshold
        enough = inliers.sum(axis=0) >= need
        pts[~enough] = np.nan
        inliers &= enough
        out_pts[sl] = pts
        out_in[:, sl] = inliers
    err = _errors(group, out_pts, pixels)
    ncams = out_in.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean_err = np.where(ncams > 0, np.where(out_in, err, 0).sum(axis=0) / np.maximum(ncams, 1),
                            np.nan)
    return RansacResult(out_pts, out_in, mean_err, ncams)
