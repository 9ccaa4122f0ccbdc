"""SLEAP ``.slp`` files <-> :class:`~markerless.poses.Poses`, through ``sleap-io``.

Reading (:func:`read_slp`): one :class:`SlpVideo` per video in the file, with
the poses of every labeled frame (frame names = video frame indices),
individuals from the tracks, bodyparts and edges from the skeleton, and the
video file found even when the stored path is stale or a Windows path
(:func:`resolve_video`).

Coordinates: SLEAP files with ``format_id`` >= 1.1 store pixel-centre
coordinates (the image's top-left corner at (-0.5, -0.5)), which is
DeepLabCut's convention too, so they pass unchanged; older files stored the
top-left corner at (0, 0), and sleap-io's reader already shifts them by -0.5
(SLEAP's own behaviour), so every :class:`Poses` is in one convention.

User instances win over predicted ones (SLEAP's rule); untracked instances
take the free individuals of their frame (a warning names the frames); a point
that SLEAP marks invisible is missing (NaN): DeepLabCut has no "occluded" state.

Writing (:func:`write_slp`, :func:`export_slp`): labels become user
instances, predictions (a Poses with likelihood) ``PredictedInstance``\\s with
point scores, individuals become tracks, unique bodyparts a second skeleton
on track ``single``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, LabelFileError, VideoError
from markerless.poses import UNIQUE_INDIVIDUAL, Poses

__all__ = ["SlpVideo", "SlpWarning", "export_slp", "read_slp", "resolve_video", "write_slp"]


class SlpWarning(UserWarning):
    """Something in a .slp needed a decision (several videos, untracked instances...)."""


def _sio():
    try:
        import sleap_io
    except ImportError as err:  # pragma: no cover - the extra is installed in CI
        raise ImportError(
            "SLEAP files need sleap-io: pip install 'markerless[sleap]'"
        ) from err
    return sleap_io


@dataclass
class SlpVideo:
    """The labels of one video of a .slp file."""

    poses: Poses  # frames = video frame indices; likelihood set when predictions are included
    video: Path | None  # the video file found on disk (None if not found)
    stored_video: str  # the path the .slp stores
    edges: list[tuple[str, str]] = field(default_factory=list)
    user: np.ndarray | None = None  # (F, I) bool: instance drawn by a person
    format_id: float | None = None


# ---------------------------------------------------------------- video paths
def _path_parts(stored: str) -> list[str]:
    """Components of a stored path, POSIX or Windows (``tests/data\\\\clip.mp4``)."""
    parts = PureWindowsPath(stored).parts if "\\" in stored else Path(stored).parts
    return [p for p in parts if p not in ("/", "\\") and not re.fullmatch(r"[A-Za-z]:\\?", p)]


def resolve_video(stored: str, slp_path: str | os.PathLike) -> Path | None:
    """Find the video a .slp names: as stored, then relative to the .slp (with ever fewer
    leading folders, so ``tests/data/tracks\\\\clip.mp4`` finds ``clip.mp4`` beside the .slp)."""
    slp_dir = Path(slp_path).resolve().parent
    p = Path(stored)
    if "\\" not in stored and p.is_absolute() and p.is_file():
        return p
    parts = _path_parts(stored)
    candidates = [] if "\\" in stored else [slp_dir / stored]
    candidates += [slp_dir.joinpath(*parts[i:]) for i in range(len(parts)) if parts[i:]]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    return None


def _format_id(path: Path) -> float | None:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return float(f["metadata"].attrs["format_id"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


# ------------------------------------------------------------------- reading
def read_slp(
    path: str | os.PathLike, include_predictions: bool | None = None
) -> list[SlpVideo]:
    """Every video's labels in a SLEAP file (see the module docstring for the rules).

    ``include_predictions``: None (default) uses predicted instances only in
    files without user instances (prediction files); True adds them where no
    user instance has their track; False ignores them.
    """
    sio = _sio()
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"SLEAP file {str(path)!r} not found")
    try:
        labels = sio.load_slp(str(path), open_videos=False)
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad file
        raise LabelFileError(f"{str(path)!r} is not a readable SLEAP file: {err}") from err
    if not labels.skeletons:
        raise LabelFileError(f"{str(path)!r} has no skeleton")
    skel = labels.skeletons[0]
    nodes = list(skel.node_names)
    for other in labels.skeletons[1:]:
        if list(other.node_names) != nodes and set(other.node_names) - set(nodes):
            raise LabelFileError(
                f"{str(path)!r} has several skeletons with different nodes ({nodes} and "
                f"{list(other.node_names)}); import one skeleton's labels at a time"
            )
    edges = [(skel.nodes[a].name, skel.nodes[b].name) for a, b in skel.edge_inds]
    n_user = sum(1 for lf in labels.labeled_frames for i in lf.instances
                 if type(i).__name__ == "Instance")
    if include_predictions is None:
        include_predictions = n_user == 0
    if len(labels.videos) > 1:
        warnings.warn(
            f"{str(path)!r} holds {len(labels.videos)} videos "
            f"({[v.filename for v in labels.videos]}); each is read separately",
            SlpWarning, stacklevel=2,
        )
    fmt = _format_id(path)
    track_names = [t.name or f"track{i}" for i, t in enumerate(labels.tracks)]
    out = []
    for video in labels.videos:
        lfs = [lf for lf in labels.labeled_frames if lf.video is video]
        out.append(_video_poses(path, video, lfs, nodes, track_names, include_predictions,
                                edges, fmt))
    return out


def _instance_xy(inst, nodes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    pts = inst.points
    xy = np.array(pts["xy"], dtype=np.float64)
    xy[~np.asarray(pts["visible"], bool)] = np.nan
    score = np.array(pts["score"], dtype=np.float64) if "score" in pts.dtype.names else None
    names = list(inst.skeleton.node_names)
    if names != nodes:  # same nodes in another order (checked in read_slp)
        idx = [names.index(n) if n in names else -1 for n in nodes]
        xy = np.array([xy[i] if i >= 0 else (np.nan, np.nan) for i in idx])
        if score is not None:
            score = np.array([score[i] if i >= 0 else np.nan for i in idx])
    return xy, score


def _video_poses(path, video, lfs, nodes, track_names, include_predictions, edges, fmt):
    stored = video.filename if isinstance(video.filename, str) else str(video.filename[0])
    names = list(track_names)
    rows: dict[int, list] = {}
    untracked_frames: list[int] = []
    for lf in sorted(lfs, key=lambda lf: int(lf.frame_idx)):
        user = [i for i in lf.instances if type(i).__name__ == "Instance"]
        pred = [i for i in lf.instances if type(i).__name__ == "PredictedInstance"]
        chosen = [(i, True) for i in user]
        if include_predictions:
            taken = {id(i.track) for i in user if i.track is not None}
            linked = {id(i.from_predicted) for i in user if i.from_predicted is not None}
            chosen += [(i, False) for i in pred if id(i) not in linked
                       and (i.track is None or id(i.track) not in taken)]
        if not chosen:
            continue
        slots: dict[int, tuple] = {}
        loose = []
        for inst, is_user in chosen:
            if inst.track is not None and inst.track.name in names:
                k = names.index(inst.track.name)
                if k in slots and slots[k][1] and not is_user:
                    continue
                if k in slots:  # two instances on one track: keep both, the second loose
                    loose.append((inst, is_user))
                    continue
                slots[k] = (inst, is_user)
            else:
                loose.append((inst, is_user))
        for inst, is_user in loose:
            free = next((k for k in range(len(names)) if k not in slots), None)
            if free is None:
                names.append(f"individual{len(names) + 1}")
                free = len(names) - 1
            slots[free] = (inst, is_user)
            untracked_frames.append(int(lf.frame_idx))
        rows[int(lf.frame_idx)] = [(k, *_instance_xy(inst, nodes), is_user, inst)
                                   for k, (inst, is_user) in slots.items()]
    if not names:
        names = ["individual1"]
    frames = sorted(rows)
    xy = np.full((len(frames), len(names), len(nodes), 2), np.nan)
    lik = np.full(xy.shape[:3], np.nan)
    user = np.zeros(xy.shape[:2], bool)
    for r, f in enumerate(frames):
        for k, pts, score, is_user, _ in rows[f]:
            xy[r, k] = pts
            lik[r, k] = 1.0 if is_user or score is None else score
            user[r, k] = is_user
    lik[~np.isfinite(xy).all(-1)] = np.nan
    if untracked_frames:
        from markerless.tracking.stitch import frame_ranges

        warnings.warn(
            f"{str(path)!r}: {len(untracked_frames)} untracked instances (frames "
            f"{frame_ranges(untracked_frames)}) were given the free individuals of their "
            f"frame in order; individuals are {names}",
            SlpWarning, stacklevel=3,
        )
    has_pred = bool((~user & np.isfinite(xy).all(-1).any(-1)).any())
    poses = Poses(xy, nodes, names, frames, scorer="sleap", likelihood=lik if has_pred else None)
    return SlpVideo(poses, resolve_video(stored, path), stored, edges, user, fmt)


# ------------------------------------------------------------------- writing
def _skeleton(sio, bodyparts: Sequence[str], edges: Sequence[Sequence[str]], name: str):
    bps = list(bodyparts)
    edge_idx = [(bps.index(a), bps.index(b)) for a, b in edges if a in bps and b in bps]
    skel = sio.Skeleton(nodes=[sio.Node(n) for n in bps], name=name)
    for a, b in edge_idx:
        skel.add_edge(bps[a], bps[b])
    return skel


def write_slp(
    items: Sequence[tuple[Poses, Any]],
    output: str | os.PathLike,
    edges: Sequence[Sequence[str]] = (),
    predicted: bool | None = None,
) -> Path:
    """Write ``(poses, video)`` pairs to one .slp.

    ``video`` is a video path (frames are its frame indices) or a list of image
    paths (one per frame of ``poses``). ``predicted`` (default: poses with a
    likelihood) writes ``PredictedInstance``\\s with point scores.
    """
    sio = _sio()
    output = Path(output)
    if output.suffix.lower() != ".slp":
        raise ArgumentError(f"SLEAP files end in .slp, got {str(output)!r}")
    first = items[0][0]
    multi = [i for i, n in enumerate(first.individuals) if n != UNIQUE_INDIVIDUAL]
    mk = np.flatnonzero(first.defined[multi].any(0))
    skel = _skeleton(sio, [first.bodyparts[k] for k in mk], edges, "skeleton")
    skeletons = [skel]
    uniq_skel = None
    if UNIQUE_INDIVIDUAL in first.individuals:
        s = first.individuals.index(UNIQUE_INDIVIDUAL)
        uk = np.flatnonzero(first.defined[s])
        uniq_skel = _skeleton(sio, [first.bodyparts[k] for k in uk], (), "unique")
        skeletons.append(uniq_skel)
    tracks: dict[str, Any] = {}
    videos, frames_out = [], []
    for poses, video in items:
        pred = poses.likelihood is not None if predicted is None else predicted
        if isinstance(video, (list, tuple)):
            vid = sio.Video(filename=[str(v) for v in video], open_backend=False)
            frame_idx = list(range(poses.n_frames))
        else:
            vid = sio.Video(filename=str(video), open_backend=False)
            frame_idx = [int(f) for f in poses.frames]
        videos.append(vid)
        inds = [(i, n) for i, n in enumerate(poses.individuals)]
        for n in (n for _, n in inds):
            tracks.setdefault(n, sio.Track(name=n))
        lik = poses.likelihood
        for r, fi in enumerate(frame_idx):
            insts = []
            for i, n in inds:
                is_u = n == UNIQUE_INDIVIDUAL
                kp = np.flatnonzero(poses.defined[i])
                xy = poses.xy[r, i, kp]
                if not np.isfinite(xy).all(-1).any():
                    continue
                sk = uniq_skel if is_u else skel
                track = tracks[n] if (poses.multianimal or is_u) else None
                if pred:
                    sc = np.nan_to_num(lik[r, i, kp]) if lik is not None else np.ones(len(kp))
                    vis = np.isfinite(xy).all(-1)
                    insts.append(sio.PredictedInstance.from_numpy(
                        xy, sk, point_scores=sc, score=float(sc[vis].mean()), track=track))
                else:
                    insts.append(sio.Instance.from_numpy(xy, sk, track=track))
            if insts:
                frames_out.append(sio.LabeledFrame(video=vid, frame_idx=int(fi), instances=insts))
    used = [t for t in tracks.values() if any(
        inst.track is t for lf in frames_out for inst in lf.instances)]
    labels = sio.Labels(labeled_frames=frames_out, videos=videos, skeletons=skeletons,
                        tracks=used)
    from markerless.io.atomic import atomic_write

    def _save(tmp: Path) -> None:
        sio.save_slp(labels, str(tmp), embed=False, verbose=False)

    return atomic_write(output, _save, backup=True)


def _video_of_analysis(path: Path) -> Path | None:
    """The video an analysis/tracks file ``<video><scorer>[_el].h5`` belongs to (beside it)."""
    from markerless.project.create import VIDEO_EXTENSIONS

    name = path.stem
    for v in sorted(path.parent.iterdir()):
        if v.suffix.lower() in VIDEO_EXTENSIONS and name.startswith(v.stem) and v.stem:
            return v
    return None


def export_slp(
    source: str | os.PathLike | Poses,
    output: str | os.PathLike | None = None,
    video: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
) -> Path:
    """Export labels or predictions to a .slp that SLEAP opens.

    ``source`` is a project's config.yaml (all its ``CollectedData`` files,
    each folder's frames referring to its video in ``video_sets`` or to the
    PNGs), a DeepLabCut labels/analysis/tracks file (.h5/.csv), or a
    :class:`Poses` (with ``video``). ``config`` supplies the skeleton's edges.
    Returns the .slp path (default: beside the source, ``.slp`` suffix).
    """
    from markerless.io.config import get_skeleton, read_config

    edges: list = []
    if config is not None:
        edges = list(get_skeleton(read_config(config)))
    if isinstance(source, Poses):
        if output is None or video is None:
            raise ArgumentError("exporting a Poses needs output= and video=")
        return write_slp([(source, Path(video))], output, edges)
    source = Path(source)
    if source.name == "config.yaml" or source.is_dir():
        return _export_project(source, output, edges)
    from markerless.io.dlc_analysis import read_table, table_to_poses

    poses = table_to_poses(read_table(source))
    vid = Path(video) if video is not None else _video_of_analysis(source)
    if vid is None:
        raise VideoError(f"no video found beside {str(source)!r} for the .slp; pass video=",
                         source)
    out = Path(output) if output is not None else source.with_suffix(".slp")
    return write_slp([(poses, vid)], out, edges)


def _export_project(config: Path, output, edges) -> Path:
    from markerless.io.config import get_skeleton, read_config
    from markerless.io.dlc_labels import find_labels_file, read_labels
    from markerless.project.frames import frame_index

    cfg_path = config / "config.yaml" if config.is_dir() else config
    cfg = read_config(cfg_path)
    project = cfg_path.parent
    edges = edges or list(get_skeleton(cfg))
    videos = {Path(v).stem: Path(v) for v in (cfg.get("video_sets") or {})}
    items = []
    for folder in sorted((project / "labeled-data").iterdir()):
        if not folder.is_dir() or folder.name.endswith("_labeled"):
            continue
        try:
            labels_file = find_labels_file(folder)
        except (LabelFileError, FileNotFoundError):
            continue
        poses = read_labels(labels_file)
        idx = [frame_index(str(f)) for f in poses.frames]
        vid = videos.get(folder.name)
        if vid is not None and not vid.is_absolute():
            vid = project / vid
        if vid is not None and vid.exists() and all(i is not None for i in idx):
            items.append((Poses(poses.xy, poses.bodyparts, poses.individuals, idx, poses.scorer,
                                None, poses.defined), vid))
        else:
            items.append((poses, [str(project / str(f)) for f in poses.frames]))
    if not items:
        raise LabelFileError(f"no CollectedData files under {str(project / 'labeled-data')!r}")
    out = Path(output) if output is not None else project / f"{project.name}.slp"
    return write_slp(items, out, edges, predicted=False)
