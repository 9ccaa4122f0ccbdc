"""Score tracks against ground-truth identities: IDF1, MOTA, ID switches (motmetrics), HOTA
(trackeval).

A predicted track and a ground-truth animal are compared per frame by OKS
(:func:`~markerless.evaluation.multianimal.oks_matrix`, ``sigma`` as there): they
can be matched when OKS >= ``oks_threshold`` (CLEAR-MOT distance ``1 - OKS``);
HOTA integrates over its own similarity thresholds on the same OKS. Animals
whose labels have fewer than two keypoints get the median box area so they
still have a similarity. Ground truth is a maDLC table (``CollectedData`` or
``_el.h5``, .h5/.csv) or a SLEAP ``.slp``; tracks a ``_el.h5``/.csv or .slp.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from markerless.errors import ArgumentError, LabelFileError
from markerless.evaluation.multianimal import animal_arrays, gt_areas, oks_matrix
from markerless.poses import Poses

__all__ = ["TrackingScores", "evaluate_tracking", "load_tracks", "tracking_scores"]


@dataclass
class TrackingScores:
    idf1: float
    mota: float
    id_switches: int
    hota: float
    deta: float
    assa: float
    motp: float  # mean (1 - OKS) of matches
    precision: float
    recall: float
    n_frames: int
    n_ground_truth: int  # animal-frames with labels
    n_predicted: int  # track-frames with keypoints
    sigma: float
    oks_threshold: float

    def __str__(self) -> str:
        return (f"IDF1 {self.idf1:.3f}  MOTA {self.mota:.3f}  ID switches {self.id_switches}  "
                f"HOTA {self.hota:.3f} (DetA {self.deta:.3f}, AssA {self.assa:.3f})  "
                f"[{self.n_frames} frames, {self.n_ground_truth} animal-frames; OKS sigma="
                f"{self.sigma}, match at OKS >= {self.oks_threshold}]")

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, (np.floating, float)) else v)
                for k, v in asdict(self).items()}


def _frame_numbers(poses: Poses) -> np.ndarray:
    """Video frame index of each frame: ints as they are, ``.../img0042.png`` -> 42."""
    from markerless.project.frames import frame_index

    out = []
    for f in poses.frames:
        if isinstance(f, (int, np.integer)):
            out.append(int(f))
            continue
        i = frame_index(str(f))
        if i is None and str(f).isdigit():
            i = int(str(f))
        if i is None:
            raise LabelFileError(f"frame {f!r} is not a video frame number (img<N>.png or N)")
        out.append(i)
    return np.asarray(out, dtype=np.int64)


def _similarity(pred: Poses, gt: Poses, sigma: float):
    """(frames, pred_xy, gt_xy, oks (F, T, G)) on the frames ``gt`` labels."""
    gf, pf = _frame_numbers(gt), _frame_numbers(pred)
    where = {int(f): i for i, f in enumerate(pf)}
    pxy_all, _ = animal_arrays(pred)
    gxy, _ = animal_arrays(gt)
    if pxy_all.shape[2] != gxy.shape[2]:
        raise ArgumentError(f"tracks have {pxy_all.shape[2]} bodyparts but the ground truth "
                            f"{gxy.shape[2]} ({gt.bodyparts})")
    pxy = np.full((len(gf),) + pxy_all.shape[1:], np.nan)
    have = np.array([int(f) in where for f in gf], bool)
    pxy[have] = pxy_all[[where[int(f)] for f in gf[have]]]
    area = gt_areas(gxy)
    fill = np.nanmedian(area) if np.isfinite(area).any() else 1.0
    labeled = np.isfinite(gxy).all(-1).any(-1)
    area = np.where(np.isfinite(area) & (area > 0), area, fill)
    return gf, pxy, gxy, oks_matrix(pxy, gxy, sigma, area), labeled


def _import_trackeval():
    """trackeval; older releases use NumPy aliases removed in NumPy 1.24 (np.float, np.int,
    np.bool): provide them, without touching anything that exists."""
    try:
        import trackeval
    except AttributeError:
        for name, typ in (("float", float), ("int", int), ("bool", bool), ("object", object)):
            if name not in np.__dict__:
                setattr(np, name, typ)
        import trackeval
    except ImportError as err:
        from markerless.errors import MarkerlessError

        raise MarkerlessError(
            "HOTA needs trackeval: pip install --no-deps trackeval (without --no-deps it "
            "replaces the headless OpenCV that 3D calibration uses)") from err
    return trackeval


def tracking_scores(
    pred: Poses, gt: Poses, sigma: float = 0.1, oks_threshold: float = 0.5
) -> TrackingScores:
    """IDF1, MOTA, ID switches (motmetrics) and HOTA (trackeval) of ``pred`` vs ``gt``."""
    import motmetrics as mm

    if not 0 < oks_threshold <= 1:
        raise ArgumentError(f"oks_threshold must be in (0, 1], got {oks_threshold}")
    frames, pxy, gxy, oks, labeled = _similarity(pred, gt, sigma)
    present = np.isfinite(pxy).all(-1).any(-1)  # (F, T)
    oks = np.nan_to_num(oks, nan=0.0)
    acc = mm.MOTAccumulator(auto_id=False)
    gt_ids, tr_ids, sims = [], [], []
    for i, f in enumerate(frames):  # motmetrics and trackeval take one frame at a time
        g = np.flatnonzero(labeled[i])
        t = np.flatnonzero(present[i])
        s = oks[i][np.ix_(t, g)].T  # (G, T)
        dist = np.where(s >= oks_threshold, 1.0 - s, np.nan)
        acc.update(g.tolist(), t.tolist(), dist, frameid=int(f))
        gt_ids.append(g)
        tr_ids.append(t)
        sims.append(s)
    mh = mm.metrics.create()
    summary = mh.compute(acc, metrics=["idf1", "mota", "num_switches", "motp", "precision",
                                       "recall"], name="tracks")
    row = summary.iloc[0]
    te = _import_trackeval()
    data = {
        "num_timesteps": len(frames), "num_gt_ids": gxy.shape[1], "num_tracker_ids": pxy.shape[1],
        "num_gt_dets": int(sum(len(g) for g in gt_ids)),
        "num_tracker_dets": int(sum(len(t) for t in tr_ids)),
        "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims,
    }
    hota = te.metrics.HOTA().eval_sequence(data)
    return TrackingScores(
        idf1=float(row["idf1"]), mota=float(row["mota"]), id_switches=int(row["num_switches"]),
        hota=float(np.mean(hota["HOTA"])), deta=float(np.mean(hota["DetA"])),
        assa=float(np.mean(hota["AssA"])), motp=float(row["motp"]),
        precision=float(row["precision"]), recall=float(row["recall"]), n_frames=len(frames),
        n_ground_truth=data["num_gt_dets"], n_predicted=data["num_tracker_dets"],
        sigma=float(sigma), oks_threshold=float(oks_threshold),
    )


def load_tracks(path: str | os.PathLike) -> Poses:
    """Tracks or labels from a maDLC table (.h5/.csv) or a SLEAP .slp (first video)."""
    path = Path(path)
    if path.suffix.lower() == ".slp":
        from markerless.io.slp import read_slp

        parts = read_slp(path, include_predictions=None)
        return parts[0].poses
    from markerless.io.dlc_analysis import read_table, table_to_poses

    poses = table_to_poses(read_table(path))
    if not poses.multianimal:
        raise LabelFileError(f"{str(path)!r} is a single-animal table (no individuals level)")
    return poses


def evaluate_tracking(
    tracks: str | os.PathLike | Poses,
    ground_truth: str | os.PathLike | Poses,
    sigma: float = 0.1,
    oks_threshold: float = 0.5,
    output: str | os.PathLike | None = None,
) -> TrackingScores:
    """Score ``tracks`` (``_el.h5``, .csv, .slp or Poses) against ``ground_truth``
    (maDLC labels/tracks or .slp). ``output`` (.json) saves the scores."""
    pred = tracks if isinstance(tracks, Poses) else load_tracks(tracks)
    gt = ground_truth if isinstance(ground_truth, Poses) else load_tracks(ground_truth)
    scores = tracking_scores(pred, gt, sigma, oks_threshold)
    if output is not None:
        from markerless.io.atomic import atomic_write_text

        atomic_write_text(Path(output), json.dumps(scores.to_dict(), indent=1), backup=False)
    return scores
