"""Track a long video chunk by chunk: memory flat in video length.

:func:`track_video` takes the assemblies of a video as consecutive chunks
(what analysis produces), and

1. tracks each chunk (the tracker's state carries over), keeps only a
   :class:`~.tracklets.RowTable` summary of it (~32 bytes per animal-frame) and
   spools the chunk to a temporary folder next to the output;
2. plans the ``n_tracks`` tracks from the summaries (:func:`~.stitch.plan_tracks`);
3. reads the spooled chunks back one at a time and appends them to the final
   ``_el.h5`` (+ ``.csv``) and, optionally, DeepLabCut's tracklet pickle.

So a 10-minute and a 60-minute video need the same memory apart from the
summaries (6 MiB per hour of 2 animals at 30 fps). Results equal the
in-memory path (:func:`~.api.track_and_stitch`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from markerless.io.atomic import atomic_write
from markerless.poses import UNIQUE_INDIVIDUAL, Poses
from markerless.tracking.detections import Assemblies, frame_key, key_width
from markerless.tracking.pickle_stream import DictPickleWriter
from markerless.tracking.stitch import plan_tracks, scatter_tracks
from markerless.tracking.trackers import Tracker, TrackerConfig
from markerless.tracking.tracklets import RowTable, tracklets_header

__all__ = ["track_video"]


def _spool(folder: Path, i: int, a: Assemblies, labels: np.ndarray) -> None:
    np.save(folder / f"{i}.data.npy", a.data)
    np.save(folder / f"{i}.labels.npy", labels.astype(np.int64))
    if a.identity is not None:
        np.save(folder / f"{i}.identity.npy", a.identity)
    if a.unique is not None:
        np.save(folder / f"{i}.unique.npy", a.unique)


def _unspool(folder: Path, i: int, meta: dict) -> tuple[Assemblies, np.ndarray]:
    def opt(name):
        p = folder / f"{i}.{name}.npy"
        return np.load(p) if p.exists() else None

    a = Assemblies(np.load(folder / f"{i}.data.npy"), meta["bodyparts"], opt("identity"),
                   opt("unique"), meta["unique_bodyparts"], meta["identities"],
                   meta["first"][i])
    return a, np.load(folder / f"{i}.labels.npy")


def _chunk_poses(xy, lik, a: Assemblies, names, scorer) -> Poses:
    frames = list(range(a.first_frame, a.first_frame + a.n_frames))
    if a.unique is None or not a.unique_bodyparts:
        return Poses(xy, list(a.bodyparts), names, frames, scorer, lik)
    n_t, n_k, n_u = xy.shape[1], xy.shape[2], len(a.unique_bodyparts)
    full = np.full((a.n_frames, n_t + 1, n_k + n_u, 2), np.nan)
    flik = np.full(full.shape[:3], np.nan)
    full[:, :n_t, :n_k], flik[:, :n_t, :n_k] = xy, lik
    full[:, n_t, n_k:], flik[:, n_t, n_k:] = a.unique[..., :2], a.unique[..., 2]
    defined = np.zeros((n_t + 1, n_k + n_u), bool)
    defined[:n_t, :n_k] = True
    defined[n_t, n_k:] = True
    return Poses(full, list(a.bodyparts) + list(a.unique_bodyparts), names + [UNIQUE_INDIVIDUAL],
                 frames, scorer, flik, defined)


def track_video(
    chunks: Iterable[Assemblies],
    output: str | os.PathLike,
    n_tracks: int,
    track_method: str = "ellipse",
    inference_cfg: dict | None = None,
    identity_only: bool = False,
    min_length: int = 10,
    max_gap: int | None = None,
    split_tracklets: bool = True,
    animal_names: Sequence[str] | None = None,
    scorer: str = "markerless",
    tracklets_pickle: str | os.PathLike | None = None,
    save_as_csv: bool = False,
    n_frames: int | None = None,
    **tracker_kw: Any,
) -> Path:
    """Assembly chunks -> ``output`` (``<video><scorer>_el.h5``), streaming; returns it.

    ``tracklets_pickle`` also writes DeepLabCut's ``_el.pickle`` of the tracker's
    tracklets. Chunks must be consecutive (``first_frame`` of each = end of the last).
    """
    from markerless.io.dlc_analysis import H5_KEY, _stamp_pandas_version, poses_to_frame
    from markerless.tracking.api import identity_labels, prepare_assemblies
    from markerless.tracking.tracks_io import TRACKS_LINK

    output = Path(output).with_suffix(".h5")
    icfg = dict(inference_cfg or {})
    config = TrackerConfig.from_inference_cfg(icfg, track_method, **tracker_kw)
    tracker = Tracker(config)
    spool = Path(tempfile.mkdtemp(prefix=f".{output.stem}.spool-", dir=output.parent))
    try:
        meta: dict[str, Any] = {"first": []}
        summaries = []
        expected = None
        for i, raw in enumerate(chunks):
            if expected is not None and raw.first_frame != expected:
                raise ValueError(f"chunk {i} starts at frame {raw.first_frame}, "
                                 f"expected {expected}")
            expected = raw.first_frame + raw.n_frames
            a = prepare_assemblies(raw, icfg.get("pcutoff", 0.1), icfg.get("topktoretain"))
            labels = identity_labels(a) if identity_only else tracker.update(a)
            summaries.append(RowTable.from_chunk(a, labels))
            meta["first"].append(a.first_frame)
            meta.update(bodyparts=a.bodyparts, unique_bodyparts=a.unique_bodyparts,
                        identities=a.identities)
            _spool(spool, i, a, labels)
        if not summaries:
            raise ValueError("no assemblies to track")
        rows = RowTable.concatenate(summaries)
        keep = np.ones(len(rows), bool)
        if config.min_hits > 1 and not identity_only:
            _, inv, counts = np.unique(rows.tid, return_inverse=True, return_counts=True)
            keep = counts[inv] >= config.min_hits
        n_total = max(n_frames or 0, expected)
        kept = RowTable(rows.frame[keep], rows.tid[keep], rows.center[keep], rows.lik[keep],
                        rows.diag[keep], None if rows.identity is None else rows.identity[keep])
        plan = plan_tracks(kept, n_tracks, min_length, max_gap, split_tracklets,
                           icfg.get("stitch_identity_weight", 0.5), n_total)
        row_track = np.full(len(rows), -1, np.int64)
        row_track[keep] = plan.row_track
        names = list(animal_names or [])
        if len(names) < int(n_tracks):
            names = [f"ind{k}" for k in range(1, int(n_tracks) + 1)]
        names = names[: int(n_tracks)]
        width = key_width(n_total)

        def _write(tmp: Path) -> None:
            csv = tmp.with_name(tmp.stem + ".part.csv")
            pkl = DictPickleWriter(tracklets_pickle) if tracklets_pickle else None
            start = 0
            try:
                with pd.HDFStore(tmp, mode="w") as store, warnings.catch_warnings():
                    warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
                    for i in range(len(summaries)):
                        a, labels = _unspool(spool, i, meta)
                        n_rows = int((labels >= 0).sum())
                        rt = row_track[start:start + n_rows]
                        xy, lik = scatter_tracks(a, labels, rt, int(n_tracks))
                        df = poses_to_frame(_chunk_poses(xy, lik, a, names, scorer), True)
                        store.append(H5_KEY, df, format="table", index=False)
                        if save_as_csv:
                            df.to_csv(csv, mode="w" if i == 0 else "a", header=i == 0)
                        if pkl is not None:
                            _pickle_chunk(pkl, a, labels, width)
                        start += n_rows
                    if n_total > expected:  # frames past the last chunk: empty rows
                        pad = pd.DataFrame(np.nan, index=pd.RangeIndex(expected, n_total),
                                           columns=df.columns)
                        store.append(H5_KEY, pad, format="table", index=False)
                        if save_as_csv:
                            pad.to_csv(csv, mode="a", header=False)
                if pkl is not None:
                    pkl["header"] = tracklets_header(
                        list(meta["bodyparts"]) + list(meta["unique_bodyparts"]), scorer)
                    pkl.close()
            except BaseException:
                if pkl is not None:
                    pkl.abort()
                raise
            _stamp_pandas_version(tmp)
            import tables

            with tables.open_file(tmp, mode="a") as f:
                f.create_soft_link("/", TRACKS_LINK, "/" + H5_KEY)
            if save_as_csv:
                atomic_write(output.with_suffix(".csv"), lambda t: os.replace(csv, t))

        atomic_write(output, _write, backup=True)
        return output
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _pickle_chunk(pkl: DictPickleWriter, a: Assemblies, labels: np.ndarray, width: int) -> None:
    """Append this chunk's rows to DeepLabCut's tracklet dict (tracklet -> frame -> row)."""
    f, n = np.nonzero(labels >= 0)
    tid = labels[f, n]
    rows = a.data[f, n].astype(np.float64)
    ids = -np.ones(f.size)
    if a.identity is not None:
        ident = a.identity[f, n]
        ok = np.isfinite(ident).all(-1)
        ids[ok] = np.argmax(ident[ok], -1)
    rows[..., 3] = ids[:, None]
    rows[~np.isfinite(rows[..., :2]).all(-1)] = np.nan
    o = np.lexsort((f, tid))
    bounds = np.flatnonzero(np.r_[True, tid[o][1:] != tid[o][:-1], True])
    for s, e in zip(bounds[:-1], bounds[1:], strict=False):
        idx = o[s:e]
        pkl.update_nested(int(tid[idx[0]]), {
            frame_key(a.first_frame + f[i], width): rows[i] for i in idx})
    if a.unique is not None and a.unique_bodyparts:
        u = a.unique.astype(np.float64)
        keep = np.flatnonzero(np.isfinite(u[..., :2]).all(-1).any(-1))
        pkl.update_nested("single", {int(a.first_frame + i): u[i] for i in keep})
