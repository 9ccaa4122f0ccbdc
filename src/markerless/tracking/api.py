"""DeepLabCut's tracking functions: ``convert_detections2tracklets`` and ``stitch_tracklets``.

For video ``v.mp4`` analysed with scorer ``S`` (files next to the video, or in
``destfolder``)::

    vS_assemblies.pickle  --convert_detections2tracklets-->  vS_el.pickle
    vS_el.pickle          --stitch_tracklets-->              vS_el.h5 (+ vS_el.csv)

(``_bx``/``_sk`` for the box and skeleton trackers). The files are DeepLabCut
3's, so either tool can run either step. :func:`track_and_stitch` does both in
memory for callers that already hold :class:`~.detections.Assemblies`.
"""

from __future__ import annotations

import glob
import os
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from markerless.errors import ArgumentError, ConfigError, LabelFileError, ModelError
from markerless.poses import UNIQUE_INDIVIDUAL, Poses
from markerless.tracking.detections import Assemblies, read_assemblies_pickle
from markerless.tracking.stitch import StitchResult, stitch
from markerless.tracking.trackers import TRACK_METHODS, Tracker, TrackerConfig
from markerless.tracking.tracklets import (
    Tracklets,
    read_tracklets_pickle,
    write_tracklets_pickle,
)
from markerless.tracking.tracks_io import write_tracks

__all__ = [
    "convert_detections2tracklets",
    "identity_labels",
    "prepare_assemblies",
    "stitch_tracklets",
    "track_and_stitch",
]

_VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".webm", ".wmv")
DEFAULT_CHUNK_FRAMES = 10_000


# ----------------------------------------------------------------- in memory
def prepare_assemblies(
    a: Assemblies, pcutoff: float | None = 0.1, topktoretain: int | None = None
) -> Assemblies:
    """DeepLabCut's clean-up before tracking: keypoints below ``pcutoff`` are dropped
    (coordinates NaN) and only the ``topktoretain`` most confident animals per frame kept."""
    data = a.data.copy()
    ident = None if a.identity is None else a.identity.copy()
    if pcutoff is not None:
        low = data[..., 2] < pcutoff
        data[low] = np.nan
    if topktoretain and topktoretain < a.max_individuals:
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            score = np.nanmean(data[..., 2], axis=-1)
        score = np.where(np.isfinite(score), score, -np.inf)
        drop = np.argsort(-score, axis=1, kind="stable")[:, int(topktoretain):]
        np.put_along_axis(data, drop[..., None, None], np.nan, axis=1)
        if ident is not None:
            np.put_along_axis(ident, drop[..., None], np.nan, axis=1)
    return Assemblies(data, a.bodyparts, ident, a.unique, a.unique_bodyparts, a.identities,
                      a.first_frame)


def identity_labels(a: Assemblies) -> np.ndarray:
    """``identity_only``: each assembly goes to its most probable identity, one per frame.

    Argmax where it is unambiguous; frames where two assemblies claim the same
    identity are solved by the Hungarian algorithm on the probabilities.
    """
    if a.identity is None:
        raise ArgumentError("identity_only=True needs an identity head (config identity: true)")
    p = np.nan_to_num(a.identity.astype(np.float64), nan=-1.0)
    present = a.present & (p.max(-1) >= 0)
    lab = np.where(present, np.argmax(p, -1), -1)
    n_id = p.shape[-1]
    counts = np.stack([(lab == i).sum(1) for i in range(n_id)], 1)
    for f in np.flatnonzero((counts > 1).any(1)):
        rows = np.flatnonzero(present[f])
        r, c = linear_sum_assignment(p[f, rows], maximize=True)
        lab[f] = -1
        lab[f, rows[r]] = c
    return lab.astype(np.int64)


def track_and_stitch(
    assemblies: Assemblies,
    n_tracks: int,
    track_method: str = "ellipse",
    inference_cfg: dict | None = None,
    identity_only: bool = False,
    min_length: int = 10,
    max_gap: int | None = None,
    animal_names: Sequence[str] | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    ignore_bodyparts: Sequence[str] | None = None,
    **tracker_kw: Any,
) -> StitchResult:
    """Assemblies -> tracklets -> ``n_tracks`` tracks, all in memory."""
    tracklets = make_tracklets(assemblies, track_method, inference_cfg, identity_only,
                               chunk_frames, ignore_bodyparts, **tracker_kw)
    w = (inference_cfg or {}).get("stitch_identity_weight", 0.5)
    return stitch(tracklets, n_tracks, min_length=min_length, max_gap=max_gap,
                  identity_weight=w, animal_names=animal_names)


def make_tracklets(
    assemblies: Assemblies,
    track_method: str = "ellipse",
    inference_cfg: dict | None = None,
    identity_only: bool = False,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    ignore_bodyparts: Sequence[str] | None = None,
    **tracker_kw: Any,
) -> Tracklets:
    """Run the tracker over ``assemblies`` chunk by chunk (after :func:`prepare_assemblies`)."""
    icfg = dict(inference_cfg or {})
    a = prepare_assemblies(assemblies, icfg.get("pcutoff", 0.1), icfg.get("topktoretain"))
    if identity_only:
        return Tracklets(a, identity_labels(a))
    config = TrackerConfig.from_inference_cfg(icfg, track_method, **tracker_kw)
    tracker = Tracker(config)
    seen = a
    if ignore_bodyparts:
        missing = sorted(set(ignore_bodyparts) - set(a.bodyparts))
        if missing:
            raise ArgumentError(f"ignore_bodyparts {missing} are not bodyparts {a.bodyparts}")
        keep = np.array([b not in set(ignore_bodyparts) for b in a.bodyparts])
        data = a.data.copy()
        data[:, :, ~keep] = np.nan
        seen = Assemblies(data, a.bodyparts, a.identity, None, [], a.identities, a.first_frame)
    labels = np.concatenate([tracker.update(c) for c in seen.chunks(max(int(chunk_frames), 1))])
    return Tracklets(a, labels).drop_short(config.min_hits)


# ------------------------------------------------------------------- files
def _videos(videos: Any, videotype: str | Sequence[str] | None) -> list[Path]:
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    if isinstance(videotype, str) or videotype is None:
        exts = [videotype] if videotype else []
    else:
        exts = list(videotype)
    exts = [e if e.startswith(".") else f".{e}" for e in exts]
    out: list[Path] = []
    for v in videos:
        p = Path(v)
        if p.is_dir():
            allowed = tuple(e.lower() for e in exts) or _VIDEO_EXTENSIONS
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in allowed)
        elif not exts or p.suffix.lower() in [e.lower() for e in exts]:
            out.append(p)
    return out


def _project(config: str | os.PathLike):
    from markerless.postprocessing.common import read_project

    cfg, project = read_project(config)
    if not cfg.get("multianimalproject"):
        raise ConfigError(
            f"{str(Path(project) / 'config.yaml')!r} is not a multi-animal project "
            "(multianimalproject: false): tracking is for several animals"
        )
    return cfg, project


def _track_method(cfg: dict, track_method: str) -> str:
    method = track_method or cfg.get("default_track_method") or "ellipse"
    if method not in TRACK_METHODS:
        raise ArgumentError(f"track_method {method!r} is not one of {sorted(TRACK_METHODS)}")
    return method


def _find_prefix(
    video: Path, suffix: str, destfolder, scorer: str | None, config, shuffle, trainingsetindex,
    snapshot_index,
) -> tuple[Path, str]:
    """``(folder / (stem + scorer), scorer)`` of the file ``<stem><scorer><suffix>``.

    The scorer is ``scorer`` if given, else the project's model's (as
    ``analyze_videos`` names files), else the only matching file's.
    """
    folder = Path(destfolder) if destfolder is not None else video.parent
    if scorer is None:
        from markerless.postprocessing.common import model_scorer

        try:
            scorer = model_scorer(config, shuffle, trainingsetindex, snapshot_index)
        except (ModelError, ConfigError, OSError):
            scorer = None
        if scorer is None or not (folder / f"{video.stem}{scorer}{suffix}").exists():
            found = sorted(folder.glob(glob.escape(video.stem) + "*" + suffix))
            if len(found) > 1:
                names = [f.name for f in found]
                raise ArgumentError(
                    f"several results for {video.name} in {str(folder)!r} ({names}); "
                    "pass scorer=... to choose one"
                )
            if found:
                scorer = found[0].name[len(video.stem): -len(suffix)]
    if scorer is None:
        raise LabelFileError(
            f"No {suffix} file for video {str(video)!r} in {str(folder)!r}: "
            "run analyze_videos on it first"
        )
    return folder / f"{video.stem}{scorer}", scorer


def _n_frames(prefix: Path) -> int | None:
    """The video's frame count from the analysis metadata (``_meta.pickle``/``.json``)."""
    import json

    for path, load in ((prefix.with_name(prefix.name + "_meta.json"), "json"),
                       (prefix.with_name(prefix.name + "_meta.pickle"), "pickle")):
        try:
            if load == "json":
                data = json.loads(path.read_text())["data"]
            else:
                with open(path, "rb") as f:
                    data = pickle.load(f)["data"]
            return int(data["nframes"])
        except (OSError, ValueError, KeyError, TypeError, pickle.UnpicklingError, EOFError):
            continue
    return None


def _inference_cfg(config, cfg, shuffle, trainingsetindex, modelprefix, given) -> dict:
    from markerless.tracking.inference_cfg import (
        default_inferencecfg,
        inferencecfg_path,
        read_inferencecfg,
    )

    if given is not None:
        values = default_inferencecfg(cfg)
        values.update(given)
        return values
    try:
        path = inferencecfg_path(config, shuffle, trainingsetindex, modelprefix)
    except ConfigError:
        return default_inferencecfg(cfg)
    if path.parent.parent.is_dir():  # the model folder exists: DeepLabCut creates the file
        return read_inferencecfg(path, cfg)
    return default_inferencecfg(cfg)


def convert_detections2tracklets(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str | Sequence[str] | None = None,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    overwrite: bool = False,
    destfolder: str | os.PathLike | None = None,
    ignore_bodyparts: Sequence[str] | None = None,
    inferencecfg: dict | None = None,
    modelprefix: str = "",
    greedy: bool = False,
    calibrate: bool = False,
    window_size: int = 0,
    identity_only: bool = False,
    track_method: str = "",
    snapshot_index: int | str | None = None,
    detector_snapshot_index: int | str | None = None,
    *,
    video_extensions: str | Sequence[str] | None = None,
    scorer: str | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
) -> list[Path]:
    """Link each video's assemblies into tracklets (DeepLabCut's function and arguments).

    Reads ``<video><scorer>_assemblies.pickle`` and writes
    ``<video><scorer>_el.pickle`` (``_bx``/``_sk``). Tracker parameters come
    from the model's ``inference_cfg.yaml`` (or ``inferencecfg``). ``greedy``,
    ``calibrate``, ``window_size`` and ``detector_snapshot_index`` concern
    assembly and are accepted for compatibility. ``scorer`` picks the analysis
    files when the project has no trained model (e.g. results from DeepLabCut).
    Returns the tracklet pickles written (or found, without ``overwrite``).
    """
    cfg, _ = _project(config)
    method = _track_method(cfg, track_method)
    bodyparts = list(cfg.get("multianimalbodyparts") or [])
    if len(bodyparts) == 1 and method != "box":
        warnings.warn("one multi-animal bodypart: switching to the box tracker", stacklevel=2)
        method = "box"
    icfg = _inference_cfg(config, cfg, shuffle, trainingsetindex, modelprefix, inferencecfg)
    if len(bodyparts) == 1:
        icfg["boundingboxslack"] = max(float(icfg.get("boundingboxslack") or 0), 40.0)
    unique = list(cfg.get("uniquebodyparts") or [])
    identities = list(cfg.get("individuals") or []) if cfg.get("identity") else None
    out = []
    for video in _videos(videos, video_extensions or videotype):
        prefix, sc = _find_prefix(video, "_assemblies.pickle", destfolder, scorer, config,
                                  shuffle, trainingsetindex, snapshot_index)
        target = prefix.with_name(prefix.name + TRACK_METHODS[method] + ".pickle")
        if target.exists() and not overwrite:
            out.append(target)
            continue
        a = read_assemblies_pickle(prefix.with_name(prefix.name + "_assemblies.pickle"),
                                   bodyparts, n_frames=_n_frames(prefix),
                                   unique_bodyparts=unique, identities=identities)
        tracklets = make_tracklets(a, method, icfg, identity_only, chunk_frames,
                                   ignore_bodyparts)
        out.append(write_tracklets_pickle(target, tracklets, sc, a.n_frames))
    return out


def _with_unique(poses: Poses, a: Assemblies) -> Poses:
    """Add the unique bodyparts as individual ``single`` (DeepLabCut's layout)."""
    if a.unique is None or not a.unique_bodyparts:
        return poses
    n_f = poses.n_frames
    n_ind, n_mk, n_u = poses.n_individuals, poses.n_keypoints, len(a.unique_bodyparts)
    xy = np.full((n_f, n_ind + 1, n_mk + n_u, 2), np.nan)
    lik = np.full(xy.shape[:3], np.nan)
    xy[:, :n_ind, :n_mk] = poses.xy
    lik[:, :n_ind, :n_mk] = poses.likelihood
    rows = np.arange(a.n_frames) + a.first_frame
    ok = rows < n_f
    xy[rows[ok], n_ind, n_mk:] = a.unique[ok, :, :2]
    lik[rows[ok], n_ind, n_mk:] = a.unique[ok, :, 2]
    defined = np.zeros((n_ind + 1, n_mk + n_u), bool)
    defined[:n_ind, :n_mk] = True
    defined[n_ind, n_mk:] = True
    return Poses(xy, poses.bodyparts + a.unique_bodyparts, poses.individuals + [UNIQUE_INDIVIDUAL],
                 poses.frames, poses.scorer, lik, defined)


def stitch_tracklets(
    config_path: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str | Sequence[str] | None = None,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    n_tracks: int | None = None,
    animal_names: Sequence[str] | None = None,
    min_length: int = 10,
    split_tracklets: bool = True,
    prestitch_residuals: bool = True,
    max_gap: int | None = None,
    weight_func: Any = None,
    destfolder: str | os.PathLike | None = None,
    modelprefix: str = "",
    track_method: str = "",
    output_name: str = "",
    transformer_checkpoint: str = "",
    save_as_csv: bool = False,
    *,
    video_extensions: str | Sequence[str] | None = None,
    scorer: str | None = None,
    identity_weight: float | None = None,
    **kwargs: Any,
) -> list[Path]:
    """Stitch each video's tracklets into ``n_tracks`` tracks (DeepLabCut's function).

    Reads ``<video><scorer>_el.pickle`` and writes ``<video><scorer>_el.h5``
    (+ ``.csv`` with ``save_as_csv``). ``n_tracks`` defaults to the number of
    ``animal_names``, itself config.yaml's ``individuals``. Never raises on an
    infeasible problem: a :class:`~.stitch.StitchWarning` names the frames
    that could not be placed. ``weight_func`` and ``transformer_checkpoint``
    (DeepLabCut's re-identification transformer) are not supported: the cost
    combines motion and the identity head (``identity_weight``).
    Returns the track files written.
    """
    cfg, _ = _project(config_path)
    method = _track_method(cfg, track_method)
    if weight_func is not None or transformer_checkpoint:
        warnings.warn("weight_func / transformer_checkpoint are not supported and are ignored",
                      stacklevel=2)
    if animal_names is None:
        animal_names = list(cfg.get("individuals") or [])
    elif n_tracks is not None and int(n_tracks) != len(animal_names):
        raise ArgumentError(
            f"n_tracks={n_tracks} but {len(animal_names)} animal_names {list(animal_names)}: "
            "give one or make them agree"
        )
    if n_tracks is None:
        n_tracks = len(animal_names)
    if int(n_tracks) < 1:
        raise ArgumentError("n_tracks must be at least 1 (config.yaml lists no individuals)")
    icfg = _inference_cfg(config_path, cfg, shuffle, trainingsetindex, modelprefix, None)
    w = icfg.get("stitch_identity_weight", 0.5) if identity_weight is None else identity_weight
    bodyparts = list(cfg.get("multianimalbodyparts") or [])
    suffix = TRACK_METHODS[method]
    snapshot_index = kwargs.get("snapshot_index")
    written = []
    vids = _videos(videos, video_extensions or videotype)
    for video in vids:
        prefix, sc = _find_prefix(video, suffix + ".pickle", destfolder, scorer, config_path,
                                  shuffle, trainingsetindex, snapshot_index)
        pkl = prefix.with_name(prefix.name + suffix + ".pickle")
        tracklets, file_scorer = read_tracklets_pickle(
            pkl, n_frames=_n_frames(prefix), bodyparts=None,
            n_identities=len(cfg.get("individuals") or []) if cfg.get("identity") else None,
        )
        a = tracklets.assemblies
        if a.n_bodyparts == len(bodyparts):
            a.bodyparts = bodyparts
        elif bodyparts:
            raise LabelFileError(
                f"{str(pkl)!r} has {a.n_bodyparts} bodyparts per animal but config.yaml lists "
                f"{len(bodyparts)} multianimalbodyparts {bodyparts}"
            )
        result = stitch(tracklets, int(n_tracks), min_length=min_length, max_gap=max_gap,
                        split_tracklets=split_tracklets, identity_weight=w,
                        animal_names=animal_names, scorer=file_scorer or sc)
        poses = _with_unique(result.poses, a)
        out = Path(output_name) if output_name else prefix.with_name(prefix.name + suffix + ".h5")
        written.append(write_tracks(poses, out, save_as_csv=save_as_csv))
    return written
