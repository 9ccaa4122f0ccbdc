"""3D results in memory (:class:`Points3D`) and on disk in the field's formats.

* DeepLabCut's ``<name>_DLC_3D.h5``: key ``df_with_missing``, columns
  ``scorer / [individuals /] bodyparts / coords`` with coords ``x, y, z``, one row per
  frame (and ``.csv`` with ``save_as_csv``);
* anipose's CSV: ``<bp>_x, _y, _z, _error, _ncams, _score`` per bodypart, then
  ``M_00 .. M_22``, ``center_0 .. center_2`` and ``fnum`` (what movement's
  ``from_anipose_file`` validates); one file per individual;
* the 3D points reprojected into each camera, as a DeepLabCut analysis file
  ``<video stem>DLC_3D_reprojected.h5`` (likelihood = the 3D point's score), so the
  video and the reprojection open together anywhere DeepLabCut files open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.io.atomic import atomic_write
from markerless.io.dlc_analysis import write_analysis, write_table
from markerless.io.dlc_tables import H5_KEY
from markerless.poses import SINGLE_ANIMAL, Poses

ANIPOSE_STATS = ("error", "ncams", "score")


@dataclass(eq=False)
class Points3D:
    """Triangulated keypoints of one recording.

    ``points`` (F, I, J, 3) mm; ``error`` (F, I, J) mean reprojection error (px) over the
    views used; ``ncams`` (F, I, J) how many views were used; ``score`` (F, I, J) the
    lowest 2D likelihood among them (anipose's). NaN where fewer than 2 views agree.
    ``reprojected`` (C, F, I, J, 2): the points projected into every camera.
    """

    points: np.ndarray
    bodyparts: list[str]
    individuals: list[str] = field(default_factory=lambda: [SINGLE_ANIMAL])
    error: np.ndarray | None = None
    ncams: np.ndarray | None = None
    score: np.ndarray | None = None
    camera_names: list[str] = field(default_factory=list)
    reprojected: np.ndarray | None = None
    scorer: str = "DLC_3D"
    skeleton: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64)
        if self.points.ndim == 3:
            self.points = self.points[:, None]
        F, NI, J, _ = self.points.shape
        if len(self.bodyparts) != J or len(self.individuals) != NI:
            raise ValueError(f"points {self.points.shape} do not match {len(self.individuals)} "
                             f"individuals x {len(self.bodyparts)} bodyparts")
        nan = np.isnan(self.points).any(axis=-1)
        if self.error is None:
            self.error = np.full((F, NI, J), np.nan)
        if self.ncams is None:
            self.ncams = np.where(nan, 0, 2).astype(np.float64)
        if self.score is None:
            self.score = np.where(nan, np.nan, 1.0)

    @property
    def n_frames(self) -> int:
        return self.points.shape[0]

    @property
    def multianimal(self) -> bool:
        return self.individuals != [SINGLE_ANIMAL]

    # --- views for napari and plots ----------------------------------------------------
    def points_tzyx(self, individual: int | None = None):
        """napari Points data: (n, 4) rows ``(t, z, y, x)`` of the finite points, and per row
        the bodypart, individual and reprojection error (``properties``)."""
        sel = range(len(self.individuals)) if individual is None else [individual]
        rows, bps, inds, errs = [], [], [], []
        for i in sel:
            p = self.points[:, i]
            ok = np.isfinite(p).all(axis=-1)
            t, j = np.nonzero(ok)
            xyz = p[t, j]
            rows.append(np.column_stack([t, xyz[:, 2], xyz[:, 1], xyz[:, 0]]))
            bps += [self.bodyparts[k] for k in j]
            inds += [self.individuals[i]] * len(t)
            errs.append(self.error[t, i, j])
        data = np.concatenate(rows) if rows else np.zeros((0, 4))
        props = {"bodypart": np.array(bps, dtype=object),
                 "individual": np.array(inds, dtype=object),
                 "error": np.concatenate(errs) if errs else np.zeros(0)}
        return data, props

    def skeleton_tzyx(self, skeleton: list[tuple[str, str]] | None = None):
        """napari Shapes (lines) of the skeleton: ``(n, 2, 4)`` segments ``(t, z, y, x)``, one
        per bone, individual and frame where both ends exist, and each segment's bone index
        (into ``skeleton``) for colouring."""
        edges = skeleton if skeleton is not None else self.skeleton
        idx = [(k, self.bodyparts.index(a), self.bodyparts.index(b))
               for k, (a, b) in enumerate(edges) if a in self.bodyparts and b in self.bodyparts]
        segs, bones = [np.zeros((0, 2, 4))], [np.zeros(0, dtype=int)]
        frames = np.arange(self.n_frames, dtype=np.float64)
        for k, a, b in idx:
            pa, pb = self.points[:, :, a], self.points[:, :, b]  # (F, I, 3)
            ok = np.isfinite(pa).all(-1) & np.isfinite(pb).all(-1)
            t, i = np.nonzero(ok)
            ends = [np.column_stack([frames[t], p[t, i, ::-1]]) for p in (pa, pb)]
            segs.append(np.stack(ends, axis=1))
            bones.append(np.full(len(t), k))
        return np.concatenate(segs), np.concatenate(bones)

    def reprojected_tyx(self, camera: int | str):
        """napari Points data for one camera's video: (n, 3) rows ``(t, y, x)`` and properties
        (bodypart, individual, error)."""
        if self.reprojected is None:
            raise ValueError("no reprojection stored (triangulate computes it)")
        c = self.camera_names.index(camera) if isinstance(camera, str) else int(camera)
        xy = self.reprojected[c]
        ok = np.isfinite(xy).all(axis=-1)
        t, i, j = np.nonzero(ok)
        data = np.column_stack([t, xy[t, i, j, 1], xy[t, i, j, 0]])
        props = {"bodypart": np.array([self.bodyparts[k] for k in j], dtype=object),
                 "individual": np.array([self.individuals[k] for k in i], dtype=object),
                 "error": self.error[t, i, j]}
        return data, props

    def reprojected_poses(self, camera: int | str) -> Poses:
        """One camera's reprojection as :class:`~markerless.poses.Poses` (likelihood = score)."""
        c = self.camera_names.index(camera) if isinstance(camera, str) else int(camera)
        lik = np.where(np.isfinite(self.reprojected[c]).all(-1), np.nan_to_num(self.score), np.nan)
        return Poses(self.reprojected[c], list(self.bodyparts), list(self.individuals),
                     list(range(self.n_frames)), self.scorer, lik)


# --- DeepLabCut's 3D file ----------------------------------------------------------------------
def points_to_frame(res: Points3D) -> pd.DataFrame:
    F, NI, J, _ = res.points.shape
    cols = [[res.scorer]] + ([list(res.individuals)] if res.multianimal else []) + \
        [list(res.bodyparts), ["x", "y", "z"]]
    names = ["scorer"] + (["individuals"] if res.multianimal else []) + ["bodyparts", "coords"]
    columns = pd.MultiIndex.from_product(cols, names=names)
    return pd.DataFrame(res.points.reshape(F, NI * J * 3), columns=columns,
                        index=pd.RangeIndex(F))


def write_dlc_3d(res: Points3D, path: str | os.PathLike, save_as_csv: bool = False) -> Path:
    """DeepLabCut's ``_DLC_3D.h5`` (table format, key ``df_with_missing``)."""
    path = Path(path)
    return write_table(points_to_frame(res), path.with_suffix(".h5"), backup=False,
                       csv_too=save_as_csv)


def read_dlc_3d(path: str | os.PathLike) -> Points3D:
    """Read a DeepLabCut (or markerless) ``_DLC_3D.h5`` / ``.csv``."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            head = pd.read_csv(path, nrows=4, header=None, index_col=0)
            n_levels = 4 if str(head.index[1]).lower() == "individuals" else 3
            df = pd.read_csv(path, header=list(range(n_levels)), index_col=0)
        else:
            df = pd.read_hdf(path, key=H5_KEY)
    except (OSError, ValueError, KeyError) as err:
        raise LabelFileError(f"cannot read 3D file {str(path)!r}: {err}") from err
    cols = df.columns
    if cols.nlevels not in (3, 4) or list(cols.get_level_values(-1).unique()) != ["x", "y", "z"]:
        raise LabelFileError(f"{str(path)!r} is not a DeepLabCut 3D file (coords x, y, z)")
    bps = list(pd.unique(cols.get_level_values("bodyparts")))
    inds = list(pd.unique(cols.get_level_values("individuals"))) if cols.nlevels == 4 \
        else [SINGLE_ANIMAL]
    pts = np.full((len(df), len(inds), len(bps), 3), np.nan)
    values = df.to_numpy(dtype=np.float64)
    for k, col in enumerate(cols):
        i = inds.index(col[1]) if cols.nlevels == 4 else 0
        pts[:, i, bps.index(col[-2]), "xyz".index(col[-1])] = values[:, k]
    return Points3D(pts, bps, inds, scorer=str(cols.get_level_values(0)[0]))


# --- anipose's CSV ----------------------------------------------------------------------------
def anipose_frame(res: Points3D, individual: int = 0) -> pd.DataFrame:
    data: dict[str, np.ndarray] = {}
    for j, bp in enumerate(res.bodyparts):
        for a, axis in enumerate("xyz"):
            data[f"{bp}_{axis}"] = res.points[:, individual, j, a]
        data[f"{bp}_error"] = res.error[:, individual, j]
        data[f"{bp}_ncams"] = res.ncams[:, individual, j]
        data[f"{bp}_score"] = res.score[:, individual, j]
    eye = np.eye(3)
    for r in range(3):
        for c in range(3):
            data[f"M_{r}{c}"] = np.full(res.n_frames, eye[r, c])
    for r in range(3):
        data[f"center_{r}"] = np.zeros(res.n_frames)
    data["fnum"] = np.arange(res.n_frames)
    return pd.DataFrame(data)


def write_anipose_csv(res: Points3D, path: str | os.PathLike, individual: int = 0) -> Path:
    df = anipose_frame(res, individual)
    return atomic_write(Path(path), lambda tmp: df.to_csv(tmp, index=False), backup=False)


def read_anipose_csv(path: str | os.PathLike) -> Points3D:
    """Read anipose's 3D CSV (ours or anipose's), bodyparts in column order."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise LabelFileError(f"cannot read anipose CSV {str(path)!r}: {err}") from err
    bps = [c[:-2] for c in df.columns if c.endswith("_x") and f"{c[:-2]}_z" in df.columns]
    if not bps:
        raise LabelFileError(f"{str(path)!r} has no <bodypart>_x/_y/_z columns")
    F = len(df)

    def col(name, default):
        return df[name].to_numpy(dtype=np.float64) if name in df else np.full(F, default)

    pts = np.stack([np.stack([col(f"{bp}_{a}", np.nan) for a in "xyz"], -1) for bp in bps], 1)
    err = np.stack([col(f"{bp}_error", np.nan) for bp in bps], 1)
    ncams = np.stack([col(f"{bp}_ncams", np.nan) for bp in bps], 1)
    score = np.stack([col(f"{bp}_score", np.nan) for bp in bps], 1)
    return Points3D(pts[:, None], bps, [SINGLE_ANIMAL], err[:, None], ncams[:, None],
                    score[:, None])


# --- reprojections ----------------------------------------------------------------------------
def write_reprojected(res: Points3D, camera: int | str, path: str | os.PathLike) -> Path:
    """One camera's reprojected 2D points as a DeepLabCut analysis .h5."""
    return write_analysis(res.reprojected_poses(camera), Path(path))
