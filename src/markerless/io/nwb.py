"""NWB (Neurodata Without Borders) with ndx-pose 0.4: predictions and labels for DANDI.

Layout, the one ndx-pose documents and movement reads (``load_poses.from_nwb_file``):

* ``processing/behavior/Skeletons``: one ``Skeleton`` (nodes = bodyparts, edges from
  config.yaml's ``skeleton``), plus ``skeleton_single`` for DLC's unique bodyparts;
* ``processing/behavior/PoseEstimation`` (single animal) or ``PoseEstimation_<individual>``
  (one per individual): a ``PoseEstimationSeries`` per bodypart holding x, y (and z for 3D
  data) in pixels with the likelihood as ``confidence``, at the video's frame rate, with
  the source video, the scorer and the software version;
* labels (`export_nwb_labels`): ``processing/behavior/PoseTraining`` with one
  ``TrainingFrame`` per labeled image (a ``SkeletonInstance`` per individual) pointing at
  ``SourceVideos`` image series of the labeled-data PNGs, which sleap-io reads.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import LabelFileError
from markerless.poses import SINGLE_ANIMAL, UNIQUE_INDIVIDUAL, Poses

__all__ = ["NWB3D", "export_nwb", "export_nwb_labels", "read_nwb", "validate_nwb"]

REFERENCE_FRAME = ("(0, 0) is the top-left corner of the video frame, x to the right, y down, "
                   "pixel centres at integer coordinates (DeepLabCut's convention)")
CONFIDENCE = "likelihood: sigmoid of the network's score map at the keypoint (DeepLabCut's)"


@dataclass
class NWB3D:
    """3D poses read back from NWB: ``xyz`` (frames, individuals, keypoints, 3)."""

    xyz: np.ndarray
    bodyparts: list[str]
    individuals: list[str]
    likelihood: np.ndarray | None
    scorer: str
    fps: float | None


def _version() -> str:
    from markerless import __version__

    return __version__


def _pose_name(individual: str) -> str:
    return "PoseEstimation" if individual == SINGLE_ANIMAL else f"PoseEstimation_{individual}"


def _new_nwbfile(subject: Any, description: str, identifier: str | None,
                 start: _dt.datetime | None) -> Any:
    from pynwb import NWBFile
    from pynwb.file import Subject

    if isinstance(subject, str):
        subject = Subject(subject_id=subject)
    elif isinstance(subject, dict):
        subject = Subject(**subject)
    return NWBFile(session_description=description, identifier=identifier or str(uuid.uuid4()),
                   session_start_time=start or _dt.datetime.now(_dt.timezone.utc).astimezone(),
                   subject=subject, source_script="markerless " + _version(),
                   source_script_file_name="markerless")


def _behavior(nwbfile: Any) -> Any:
    if "behavior" in nwbfile.processing:
        return nwbfile.processing["behavior"]
    return nwbfile.create_processing_module("behavior", "pose estimation (markerless)")


def _skeletons(module: Any) -> Any:
    from ndx_pose import Skeletons

    if "Skeletons" in module.data_interfaces:
        return module["Skeletons"]
    container = Skeletons()
    module.add(container)
    return container


def _skeleton(module: Any, name: str, nodes: list[str], edges: list[tuple[str, str]],
              subject: Any = None) -> Any:
    from ndx_pose import Skeleton

    container = _skeletons(module)
    if name in container.skeletons:
        return container.skeletons[name]
    index = {n: i for i, n in enumerate(nodes)}
    pairs = [(index[a], index[b]) for a, b in edges if a in index and b in index]
    skel = Skeleton(name=name, nodes=list(nodes),
                    edges=np.asarray(pairs, dtype=np.uint8).reshape(-1, 2), subject=subject)
    container.add_skeletons(skel)
    return skel


def _write(nwbfile: Any, path: Path) -> Path:
    from pynwb import NWBHDF5IO

    from markerless.io.atomic import atomic_write

    def writer(tmp: Path) -> None:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, writer, backup=False)


# --- reading our inputs -----------------------------------------------------------------
def _read_3d(path: Path) -> tuple[np.ndarray, list[str], list[str], np.ndarray | None,
                                  str] | None:
    """A DeepLabCut / markerless 3D file (`markerless.pose3d.outputs.read_dlc_3d`) as
    (xyz (F, I, K, 3), bodyparts, individuals, score or None, scorer); None for 2D files."""
    if path.suffix.lower() not in (".h5", ".csv"):
        return None
    from markerless.pose3d.outputs import read_dlc_3d

    try:
        pts = read_dlc_3d(path)
    except LabelFileError:
        return None
    return pts.points, pts.bodyparts, pts.individuals, pts.score, pts.scorer


def _analysis_for(video: Path) -> Path:
    found = sorted((p for p in video.parent.glob(f"{video.stem}DLC*.h5")
                    if not p.stem.endswith(("_filtered", "_el", "_tr", "_full"))),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise LabelFileError(f"no analysis file {video.stem}DLC*.h5 next to {str(video)!r}: "
                             "run analyze_videos first (or pass the .h5)")
    return found[-1]


def _fps_and_video(h5: Path, video: Path | None) -> tuple[float, Path | None, tuple | None]:
    from markerless.analysis.outputs import read_metadata

    meta = read_metadata(h5.with_suffix(".h5")) or {}
    if video is None and meta.get("video"):
        video = Path(meta["video"])
    fps, dims = meta.get("fps"), meta.get("frame_dimensions")
    if (fps is None or dims is None) and video is not None and video.is_file():
        from markerless.io.video import probe_video

        info = probe_video(video)
        fps, dims = fps or info.fps, dims or (info.height, info.width)
    return float(fps or 30.0), video, tuple(dims) if dims else None


def _video_series(nwbfile: Any, video: Path, fps: float, dims: tuple | None, n: int) -> Any:
    """The analysed video as an external-file ``ImageSeries`` in ``acquisition`` (one per video,
    shared by the individuals' PoseEstimation objects: ndx-pose 0.4's ``source_video``)."""
    from pynwb.image import ImageSeries

    name = f"video_{video.stem}"
    if name in nwbfile.acquisition:
        return nwbfile.acquisition[name]
    kwargs = {"name": name, "description": f"the analysed video {video.name}", "unit": "n.a.",
              "format": "external", "external_file": [str(video)], "starting_frame": [0],
              "rate": fps}
    if dims:
        kwargs["dimension"] = [int(dims[1]), int(dims[0])]  # width, height
    if "num_samples" in {a["name"] for a in ImageSeries.__init__.__docval__["args"]}:
        kwargs["num_samples"] = int(n)
    series = ImageSeries(**kwargs)
    nwbfile.add_acquisition(series)
    return series


# --- predictions ------------------------------------------------------------------------
def export_nwb(
    config: str | os.PathLike | None,
    video_or_analysis_h5: str | os.PathLike,
    nwbfile: Any = None,
    subject: Any = None,
    destfolder: str | os.PathLike | None = None,
    session_description: str = "markerless pose estimation",
    identifier: str | None = None,
    session_start_time: _dt.datetime | None = None,
) -> Any:
    """Write an analysis result (2D or 3D) to NWB; returns the ``.nwb`` path.

    ``video_or_analysis_h5`` is the analysis ``.h5`` or the video it was made from (its
    newest ``<stem>DLC*.h5`` is used). ``config`` (optional) gives the skeleton. With an
    open ``pynwb.NWBFile`` as ``nwbfile`` the data are added to it and the object is
    returned instead (the caller writes it). ``subject``: a ``pynwb.file.Subject``, a dict
    of its arguments or a subject id; the file is ``<h5 stem>.nwb`` next to the ``.h5``
    (or in ``destfolder``).
    """
    from ndx_pose import PoseEstimation, PoseEstimationSeries

    from markerless.io.config import get_skeleton, read_config
    from markerless.io.dlc_analysis import read_analysis

    src = Path(video_or_analysis_h5)
    video = None
    if src.suffix.lower() not in (".h5", ".csv"):
        video, src = src, _analysis_for(src)
    fps, video, dims = _fps_and_video(src, video)
    edges = get_skeleton(read_config(config)) if config is not None else []
    three_d = _read_3d(src)
    if three_d is None:
        poses = read_analysis(src)
        data = poses.xy
        lik = poses.likelihood
        parts, inds, scorer = poses.bodyparts, poses.individuals, poses.scorer
        defined = poses.defined
    else:
        data, parts, inds, lik, scorer = three_d
        defined = ~np.isnan(data).all(axis=(0, 3))
    own = nwbfile is None
    if own:
        nwbfile = _new_nwbfile(subject, session_description, identifier, session_start_time)
    module = _behavior(nwbfile)
    unit = "pixels" if three_d is None else "mm"
    for i, ind in enumerate(inds):
        keep = [k for k in range(len(parts)) if defined is None or defined[i, k]]
        if not keep:
            continue
        names = [parts[k] for k in keep]
        skel_name = "skeleton" if ind != UNIQUE_INDIVIDUAL else "skeleton_single"
        skel = _skeleton(module, skel_name, names, edges, nwbfile.subject)
        series = [
            PoseEstimationSeries(
                name=parts[k], description=f"{parts[k]} of {ind or 'the animal'}",
                data=np.asarray(data[:, i, k], dtype=np.float64), unit=unit,
                reference_frame=REFERENCE_FRAME if three_d is None else
                "the world frame of the cameras' calibration (calibration.toml)",
                confidence=(np.asarray(lik[:, i, k], np.float64) if lik is not None
                            else np.full(len(data), np.nan)),
                confidence_definition=CONFIDENCE, rate=fps, starting_time=0.0)
            for k in keep]
        kwargs = {}
        if video is not None:
            kwargs["source_video"] = _video_series(nwbfile, video, fps, dims, len(data))
        module.add(PoseEstimation(
            name=_pose_name(ind), pose_estimation_series=series, skeleton=skel,
            description=f"{'3D ' if three_d else ''}pose of {ind or 'the animal'} "
                        f"estimated by markerless from {src.name}",
            scorer=scorer, source_software="markerless",
            source_software_version=_version(), **kwargs))
    if not own:
        return nwbfile
    folder = Path(destfolder) if destfolder is not None else src.parent
    return _write(nwbfile, folder / f"{src.stem}.nwb")


# --- labels -----------------------------------------------------------------------------
def export_nwb_labels(
    config: str | os.PathLike,
    nwbfile: Any = None,
    subject: Any = None,
    path: str | os.PathLike | None = None,
    session_description: str = "markerless labeled frames",
) -> Any:
    """Write a project's labeled frames as ndx-pose ``PoseTraining``; returns the path.

    One ``SourceVideos`` image series per ``labeled-data`` folder (its PNGs, by absolute
    path), one ``TrainingFrame`` per labeled image, one ``SkeletonInstance`` per labeled
    individual. Default path: ``<project>/labeled-data/<Task>-labels.nwb``.
    """
    from ndx_pose import (
        PoseTraining,
        SkeletonInstance,
        SkeletonInstances,
        SourceVideos,
        TrainingFrame,
        TrainingFrames,
    )
    from pynwb.image import ImageSeries

    from markerless.io.config import get_skeleton, read_config
    from markerless.io.dlc_labels import find_labels_file, read_labels

    config = Path(config)
    cfg = read_config(config)
    project = config.parent
    folders = sorted(p for p in (project / "labeled-data").glob("*") if p.is_dir())
    own = nwbfile is None
    if own:
        nwbfile = _new_nwbfile(subject, session_description, None, None)
    module = _behavior(nwbfile)
    edges = get_skeleton(cfg)
    series, frames = [], []
    for folder in folders:
        try:
            poses = read_labels(find_labels_file(folder))
        except (LabelFileError, FileNotFoundError):
            continue
        source, index = _label_source(cfg, project, folder, poses.frames)
        kwargs = {"name": folder.name, "description": f"labeled frames of {folder.name}",
                  "unit": "n.a.", "format": "external", "external_file": source,
                  "starting_frame": [0] if len(source) == 1 else list(range(len(source))),
                  "rate": float(cfg.get("fps", 0) or 30.0) if len(source) == 1 else 1.0}
        if "num_samples" in {a["name"] for a in ImageSeries.__init__.__docval__["args"]}:
            kwargs["num_samples"] = max(index) + 1 if len(source) == 1 else len(source)
        video = ImageSeries(**kwargs)
        series.append(video)
        for i, ind in enumerate(poses.individuals):
            keep = [k for k in range(poses.n_keypoints)
                    if poses.defined is None or poses.defined[i, k]]
            skel_name = "skeleton" if ind != UNIQUE_INDIVIDUAL else "skeleton_single"
            _skeleton(module, skel_name, [poses.bodyparts[k] for k in keep], edges,
                      nwbfile.subject)
        for f in range(poses.n_frames):
            instances = []
            for i, ind in enumerate(poses.individuals):
                skel_name = "skeleton" if ind != UNIQUE_INDIVIDUAL else "skeleton_single"
                skel = _skeletons(module).skeletons[skel_name]
                keep = [poses.bodyparts.index(n) for n in skel.nodes[:]]
                xy = poses.xy[f, i, keep]
                visible = ~np.isnan(xy).any(axis=1)
                if not visible.any():
                    continue
                instances.append(SkeletonInstance(
                    name=ind or "animal", id=np.uint8(len(instances)), skeleton=skel,
                    node_locations=xy, node_visibility=visible))
            if instances:
                frames.append(TrainingFrame(
                    name=f"{folder.name}-{Path(str(poses.frames[f])).name}",
                    annotator=str(cfg.get("scorer", poses.scorer)),
                    skeleton_instances=SkeletonInstances(skeleton_instances=instances),
                    source_video=video, source_video_frame_index=np.uint64(index[f])))
    if not frames:
        raise LabelFileError(f"{project}: no labeled frames to export")
    module.add(PoseTraining(training_frames=TrainingFrames(training_frames=frames),
                            source_videos=SourceVideos(image_series=series)))
    if not own:
        return nwbfile
    out = Path(path) if path is not None else (project / "labeled-data" /
                                               f"{cfg.get('Task', 'project')}-labels.nwb")
    return _write(nwbfile, out)


def _label_source(cfg: Any, project: Path, folder: Path, frames: list) -> tuple[list[str],
                                                                            list[int]]:
    """What a labeled-data folder's frames index: its video when the project has it
    (``img<frame>.png`` -> that frame; sleap-io opens it), else the PNGs themselves."""
    from markerless.project.frames import frame_index

    index = [frame_index(str(f)) for f in frames]
    if all(i is not None for i in index):
        for key in dict(cfg.get("video_sets") or {}):
            for video in (Path(key), project / "videos" / Path(key).name):
                if video.stem == folder.name and video.is_file():
                    return [str(video.resolve())], [int(i) for i in index]
    return [str((project / f).resolve()) for f in frames], list(range(len(frames)))


# --- reading back -----------------------------------------------------------------------
def read_nwb(path: str | os.PathLike) -> Poses | NWB3D:
    """Poses of an NWB file's ``PoseEstimation`` objects (a `NWB3D` for 3D data).

    Individuals are ``""`` for ``PoseEstimation`` and ``<name>`` for
    ``PoseEstimation_<name>``; ``frames`` are the frame numbers. Files with only
    ``PoseTraining`` give their labels (frames = training frame names, no likelihood).
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"NWB file {str(path)!r} not found")
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        if "behavior" not in nwb.processing:
            raise LabelFileError(f"{str(path)!r} has no behavior processing module")
        module = nwb.processing["behavior"]
        estimations = {n: obj for n, obj in module.data_interfaces.items()
                       if type(obj).__name__ == "PoseEstimation"}
        if not estimations:
            if "PoseTraining" in module.data_interfaces:
                return _read_training(module["PoseTraining"])
            raise LabelFileError(f"{str(path)!r} has no PoseEstimation or PoseTraining")
        inds, parts, blocks = [], [], {}
        scorer, fps = "", None
        for name, pe in estimations.items():
            ind = "" if name == "PoseEstimation" else name.removeprefix("PoseEstimation_")
            inds.append(ind)
            scorer = pe.scorer or scorer
            # series are stored by name (alphabetical); the skeleton keeps the file's order
            order = list(pe.skeleton.nodes[:]) if pe.skeleton is not None else []
            order += [p for p in pe.pose_estimation_series if p not in order]
            for part in order:
                s = pe.pose_estimation_series[part]
                if part not in parts:
                    parts.append(part)
                fps = fps or s.rate
                conf = None if s.confidence is None else np.asarray(s.confidence[:], float)
                blocks[(ind, part)] = (np.asarray(s.data[:], float), conf)
    n = max(len(d) for d, _ in blocks.values())
    dim = next(iter(blocks.values()))[0].shape[1]
    xy = np.full((n, len(inds), len(parts), dim), np.nan)
    lik = np.full((n, len(inds), len(parts)), np.nan)
    defined = np.zeros((len(inds), len(parts)), bool)
    for (ind, part), (d, c) in blocks.items():
        i, k = inds.index(ind), parts.index(part)
        xy[: len(d), i, k] = d
        defined[i, k] = True
        if c is not None:
            lik[: len(c), i, k] = c
    if dim == 3:
        return NWB3D(xy, parts, inds, lik, scorer, fps)
    return Poses(xy, parts, inds, list(range(n)), scorer or "markerless", lik,
                 None if defined.all() else defined)


def _read_training(training: Any) -> Poses:
    frames = list(training.training_frames.training_frames.values())
    skel = None
    names, inds, rows = [], [], []
    for fr in frames:
        for inst in fr.skeleton_instances.skeleton_instances.values():
            skel = skel or inst.skeleton
            if inst.name not in inds:
                inds.append(inst.name)
    parts = list(skel.nodes[:]) if skel is not None else []
    xy = np.full((len(frames), len(inds), len(parts), 2), np.nan)
    for f, fr in enumerate(frames):
        names.append(fr.name)
        for inst in fr.skeleton_instances.skeleton_instances.values():
            loc = np.asarray(inst.node_locations[:], float)
            vis = (np.asarray(inst.node_visibility[:], bool) if inst.node_visibility is not None
                   else ~np.isnan(loc).any(axis=1))
            loc[~vis] = np.nan
            xy[f, inds.index(inst.name), : len(loc)] = loc
        rows.append(fr.annotator)
    inds = ["" if i == "animal" else i for i in inds]
    return Poses(xy, parts, inds, names, rows[0] if rows else "markerless")


def validate_nwb(path: str | os.PathLike) -> list[str]:
    """pynwb's validator on ``path``: the list of problems (empty when the file is valid)."""
    from pynwb import validate

    result = validate(path=str(path))
    errors = result[0] if isinstance(result, tuple) else result
    return [str(e) for e in errors]

