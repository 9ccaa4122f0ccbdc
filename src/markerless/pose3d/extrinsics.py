"""Initial camera poses from board co-detections, and the checks that refuse bad geometry.

Every view gives the board's pose in that camera (PnP). Two cameras that saw the board
at the same moment give an estimate of their relative pose; robust averages over all
such moments weight the edges of a camera graph, and a maximum spanning tree from the
first camera chains the cameras together. Bundle adjustment (:mod:`.bundle`) refines it.

Refused, with a message naming the cameras:

* a camera that shares no board view with the others (the graph is disconnected);
* degenerate pairs: cameras that see the board together only nearly edge-on (two
  cameras facing each other), or whose shared views all fit poorly.

Views that disagree (unsynchronised images, mis-detections) are outliers of the robust
pair averages here and of bundle adjustment later, whose error check refuses the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from markerless.pose3d.distortion import rodrigues, rotation_to_rvec
from markerless.pose3d.errors import CalibrationError


@dataclass
class ViewPose:
    """The board's pose in one camera for one view: board -> camera."""

    rot: np.ndarray
    t: np.ndarray
    error: float  # PnP RMS reprojection error (px)
    tilt: float  # degrees between the board's normal and the line of sight
    n: int  # corners used


@dataclass
class PairEstimate:
    """Relative pose of camera ``b`` in camera ``a`` (x_a = rot @ x_b + t) from shared views."""

    a: int
    b: int
    n_shared: int
    n_good: int
    rot: np.ndarray | None = None
    t: np.ndarray | None = None
    spread_deg: float = 0.0
    tilts: tuple[float, float] = (0.0, 0.0)
    keys: list[str] = field(default_factory=list)


def board_pose(obj: np.ndarray, img: np.ndarray, matrix: np.ndarray, dist: np.ndarray):
    """PnP for a planar board: IPPE, refined by Levenberg-Marquardt."""
    import cv2

    o = obj.astype(np.float64).reshape(-1, 1, 3)
    i = img.astype(np.float64).reshape(-1, 1, 2)
    ok, rvec, tvec = cv2.solvePnP(o, i, matrix, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None
    rvec, tvec = cv2.solvePnPRefineLM(o, i, matrix, dist, rvec, tvec)
    proj, _ = cv2.projectPoints(o, rvec, tvec, matrix, dist)
    err = float(np.sqrt(np.mean(np.sum((proj - i) ** 2, axis=-1))))
    return rodrigues(rvec.ravel()), tvec.ravel(), err


def view_poses(obj_all: np.ndarray, keys: list[str], ids: list[np.ndarray],
               corners: list[np.ndarray], matrix: np.ndarray, dist: np.ndarray,
               centre_board: np.ndarray) -> dict[str, ViewPose]:
    out = {}
    for key, i, c in zip(keys, ids, corners, strict=True):
        if len(i) < 6:
            continue
        res = board_pose(obj_all[i], c, matrix, dist)
        if res is None:
            continue
        rot, t, err = res
        centre = rot @ centre_board + t
        normal = rot[:, 2]
        cos = abs(float(normal @ centre) / max(np.linalg.norm(centre), 1e-12))
        tilt = float(np.degrees(np.arccos(min(1.0, cos))))
        out[key] = ViewPose(rot, t, err, tilt, len(i))
    return out


def _angle(r: np.ndarray) -> np.ndarray:
    """Rotation angles (deg) of (..., 3, 3) matrices."""
    tr = np.clip((np.trace(r, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
    return np.degrees(np.arccos(tr))


def _mean_rotation(rots: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(rots.sum(axis=0))
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def _pnp_limit(poses: dict[str, ViewPose], floor: float = 3.0) -> float:
    """A view fits badly when its PnP error is well above the camera's typical one."""
    errs = [p.error for p in poses.values()]
    return max(floor, 3.0 * float(np.median(errs))) if errs else floor


def pair_estimate(a: int, b: int, poses_a: dict[str, ViewPose], poses_b: dict[str, ViewPose],
                  max_tilt: float) -> PairEstimate:
    shared = sorted(set(poses_a) & set(poses_b))
    lim_a, lim_b = _pnp_limit(poses_a), _pnp_limit(poses_b)
    good = [k for k in shared
            if poses_a[k].tilt < max_tilt and poses_b[k].tilt < max_tilt
            and poses_a[k].error < lim_a and poses_b[k].error < lim_b]
    est = PairEstimate(a, b, len(shared), 0, keys=good)
    if shared:
        est.tilts = (float(np.median([poses_a[k].tilt for k in shared])),
                     float(np.median([poses_b[k].tilt for k in shared])))
    if not good:
        return est
    rots = np.array([poses_a[k].rot @ poses_b[k].rot.T for k in good])
    ts = np.array([poses_a[k].t - r @ poses_b[k].t for k, r in zip(good, rots, strict=True)])
    # medoid rotation, then the mean of the estimates within 5 degrees of it
    d = _angle(np.einsum("aij,bkj->abik", rots, rots))
    medoid = int(np.argmin(np.median(d, axis=1)))
    close = d[medoid] < 5.0
    t_med = np.median(ts[close], axis=0)
    base = max(float(np.linalg.norm(t_med)), 1e-9)
    close &= np.linalg.norm(ts - t_med, axis=1) < 0.1 * base
    est.n_good = int(close.sum())
    est.rot = _mean_rotation(rots[close]) if close.any() else rots[medoid]
    est.t = ts[close].mean(axis=0) if close.any() else ts[medoid]
    est.spread_deg = float(np.median(d[medoid]))
    est.keys = [k for k, c in zip(good, close, strict=True) if c]
    return est


def spanning_tree(n_cams: int, pairs: dict[tuple[int, int], PairEstimate],
                  min_shared: int) -> list[tuple[int, int]]:
    """Prim's maximum spanning tree from camera 0 over edges with >= ``min_shared`` good
    views; returns (parent, child) edges in the order the cameras were reached."""
    reached = {0}
    edges: list[tuple[int, int]] = []
    while len(reached) < n_cams:
        best, best_w = None, 0
        for (a, b), est in pairs.items():
            if (a in reached) != (b in reached) and est.n_good >= min_shared \
                    and est.n_good > best_w:
                best, best_w = ((a, b) if a in reached else (b, a)), est.n_good
        if best is None:
            break
        edges.append(best)
        reached.add(best[1])
    return edges


def _refuse_unreached(names: list[str], reached: set[int], pairs, poses, max_tilt: float,
                      min_shared: int) -> None:
    lost = [i for i in range(len(names)) if i not in reached]
    msgs: list[str] = []
    told: set[frozenset] = set()
    for c in lost:
        mine = [est for (a, b), est in pairs.items() if c in (a, b)]
        if not any(est.n_shared for est in mine):
            msgs.append(
                f"camera {names[c]!r} shares no board view with the other cameras (it saw the "
                f"board in {len(poses[c])} views, none at the same moment as another camera): "
                "record views where the board is visible to it and to at least one other "
                "camera at once")
            continue
        best = max(mine, key=lambda e: (e.n_good, e.n_shared))
        other = best.b if best.a == c else best.a
        if frozenset((c, other)) in told:
            continue
        told.add(frozenset((c, other)))
        tilt_c, tilt_o = best.tilts if best.a == c else best.tilts[::-1]
        if best.n_good == 0 and min(tilt_c, tilt_o) < max_tilt:
            why = (f"their shared views disagree or fit poorly (relative-pose spread "
                   f"{best.spread_deg:.1f} degrees); check synchronisation and detections")
        elif best.n_good < min_shared and best.n_good > 0:
            why = (f"only {best.n_good} of their {best.n_shared} shared views are usable "
                   f"(at least {min_shared} are needed)")
        else:
            why = (f"in all {best.n_shared} of them the board is seen nearly edge-on "
                   f"(median tilt {tilt_c:.0f} and {tilt_o:.0f} degrees, limit {max_tilt:.0f}), "
                   "so their relative pose is undetermined - degenerate geometry, as with two "
                   "cameras facing each other")
        msgs.append(f"cameras {names[c]!r} and {names[other]!r} see the board together in "
                    f"{best.n_shared} views, but {why}. Record the board turned towards both, "
                    "or add a camera between them")
    raise CalibrationError("Calibration refused: " + "; ".join(msgs))


def initial_extrinsics(names: list[str], poses: list[dict[str, ViewPose]],
                       max_tilt: float = 70.0, min_shared: int = 2):
    """World (= first camera) -> camera rotations (C, 3, 3) and translations (C, 3), and the
    pair estimates. Raises :class:`CalibrationError` for disconnected or degenerate rigs."""
    n = len(names)
    pairs = {(a, b): pair_estimate(a, b, poses[a], poses[b], max_tilt)
             for a in range(n) for b in range(a + 1, n)}
    edges = spanning_tree(n, pairs, min_shared)
    reached = {0} | {c for _, c in edges}
    if len(reached) < n:
        _refuse_unreached(names, reached, pairs, poses, max_tilt, min_shared)
    rots = np.zeros((n, 3, 3))
    ts = np.zeros((n, 3))
    rots[0] = np.eye(3)
    for parent, child in edges:
        est = pairs[(min(parent, child), max(parent, child))]
        # est maps b -> a; we need child <- parent
        if est.a == child:
            r_cp, t_cp = est.rot, est.t
        else:
            r_cp, t_cp = est.rot.T, -est.rot.T @ est.t
        rots[child] = r_cp @ rots[parent]
        ts[child] = r_cp @ ts[parent] + t_cp
    return rots, ts, pairs


def initial_board_poses(keys: list[str], poses: list[dict[str, ViewPose]], cam_rots: np.ndarray,
                        cam_ts: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Board -> world (rvec, tvec) per view key, from the camera that saw it best."""
    out = {}
    for key in keys:
        seen = [(c, p[key]) for c, p in enumerate(poses) if key in p]
        if not seen:
            continue
        c, vp = min(seen, key=lambda cv: (cv[1].tilt > 60, -cv[1].n, cv[1].error))
        r_wc = cam_rots[c].T
        rot = r_wc @ vp.rot
        t = r_wc @ (vp.t - cam_ts[c])
        out[key] = (rotation_to_rvec(rot), t)
    return out
