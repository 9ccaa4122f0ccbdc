"""One video's analysis as data: what to compute, where partial and final results go.

Shared by the in-process loop and the dask driver: :func:`prepare_job` probes
the video, validates the crop and opens the partial-results store;
:func:`finalize_job` assembles the chunks and writes DeepLabCut's files.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from markerless.analysis.chunks import DEFAULT_CHUNK_FRAMES, plan_chunks
from markerless.analysis.dynamic import DEFAULT_DYNAMIC, resolve_two_stage, stage_summary
from markerless.analysis.inference import Geometry, info_get
from markerless.analysis.outputs import (
    OutputPaths,
    coords_to_poses,
    output_paths,
    read_metadata,
    write_metadata,
)
from markerless.analysis.resume import (
    MultiPartialStore,
    PartialStore,
    bad_frame_ranges,
    video_fingerprint,
)
from markerless.errors import ConfigError, ModelError

__all__ = ["ModelSpec", "VideoJob", "analysis_metadata", "finalize_job", "model_spec",
           "prepare_job"]


@dataclass(frozen=True)
class ModelSpec:
    """What analysis needs to know about a model besides its weights."""

    net_type: str
    stride: float
    locref_stdev: float
    bodyparts: list[str]
    individuals: list[str]
    scorer: str
    fingerprint: str
    snapshot: str | None = None
    global_scale: float = 1.0
    pad_multiple: int = 32
    extra: dict = field(default_factory=dict)


def _fingerprint(model: Any) -> str:
    """Hash of the weights: resuming with other weights must not reuse partial results."""
    from flax import nnx

    digest = hashlib.blake2b(digest_size=12)
    for leaf in jax.tree.leaves(nnx.state(model)):
        arr = np.asarray(leaf)
        digest.update(str((arr.shape, arr.dtype)).encode())
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def model_spec(model: Any, info: Any) -> ModelSpec:
    """Merge ``info`` (from ``load_model_for_inference`` or hand-made) with the model itself."""
    from markerless.decoding import DEFAULT_LOCREF_STDEV

    cfg = getattr(model, "config", None)
    net_type = info_get(info, "net_type") or getattr(cfg, "net_type", None)
    stride = info_get(info, "stride") or getattr(model, "stride", None)
    bodyparts = info_get(info, "bodyparts")
    if not net_type or not stride or not bodyparts:
        raise ModelError("model info must give net_type, stride and bodyparts (got "
                         f"net_type={net_type!r}, stride={stride!r}, bodyparts={bodyparts!r})")
    snapshot = info_get(info, "snapshot") or info_get(info, "snapshot_path")
    extra = {k: info_get(info, k) for k in ("step", "shuffle", "train_fraction", "iteration")
             if info_get(info, k) is not None}
    meta = info_get(info, "meta") or {}
    sizes = meta.get("image_sizes") or info_get(info, "image_sizes")
    if sizes:
        extra["image_sizes"] = [tuple(int(v) for v in s) for s in sizes]
    # what two-stage inference needs: the training crop (network pixels) and the keypoints'
    # spread (frame pixels); hand-made infos may give them directly
    crop = (meta.get("train_config") or {}).get("crop_size") or info_get(info, "train_crop_size")
    if crop:
        extra["train_crop_size"] = tuple(int(v) for v in crop)
    extent = meta.get("keypoint_extent") or info_get(info, "keypoint_extent")
    if extent:
        extra["keypoint_extent"] = float(extent)
    return ModelSpec(
        net_type=str(net_type),
        stride=float(stride),
        locref_stdev=float(info_get(info, "locref_stdev") or DEFAULT_LOCREF_STDEV),
        bodyparts=[str(b) for b in bodyparts],
        individuals=[str(i) for i in (info_get(info, "individuals") or [""])],
        scorer=str(info_get(info, "scorer") or f"DLC_{net_type}_markerless"),
        fingerprint=_fingerprint(model),
        snapshot=None if snapshot is None else str(snapshot),
        global_scale=float(info_get(info, "global_scale") or 1.0),
        pad_multiple=int(info_get(info, "pad_multiple") or 32),
        extra=extra,
    )


@dataclass
class VideoJob:
    """A video being analysed: its plan, its store and the compiled geometry."""

    video: Path
    vinfo: Any
    paths: OutputPaths
    store: PartialStore
    geometry: Geometry
    crop: tuple[int, int, int, int] | None
    batch_size: int
    spec: ModelSpec
    started: float = field(default_factory=time.time)
    #: two-stage inference (find the animal, then a crop), or None for whole frames
    two_stage: Any = None

    @property
    def predictor_geometry(self) -> Any:
        """What the compiled predictor is built from (see `cached_predictor`)."""
        return self.geometry if self.two_stage is None else self.two_stage

    @property
    def n_frames(self) -> int:
        return int(self.vinfo.n_frames)


def _check_crop(crop: Any, vinfo: Any, video: Path) -> tuple[int, int, int, int] | None:
    if crop is None:
        return None
    try:
        x1, x2, y1, y2 = (int(round(float(v))) for v in crop)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"cropping must be [x1, x2, y1, y2], got {crop!r}") from err
    w, h = vinfo.width, vinfo.height
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise ConfigError(f"cropping [x1, x2, y1, y2] = {[x1, x2, y1, y2]} does not fit "
                          f"video {str(video)!r} of {w}x{h} pixels")
    if (x1, x2, y1, y2) == (0, w, 0, h):
        return None
    return x1, x2, y1, y2


def prepare_job(
    video: str | os.PathLike,
    spec: ModelSpec,
    *,
    batch_size: int,
    destfolder: str | os.PathLike | None = None,
    cropping: Any = None,
    downscale: float | None = None,
    redo: bool = False,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    result_file: Path | None = None,
    extra_signature: dict | None = None,
    store_class: type[PartialStore] = PartialStore,
    dynamic: Any = DEFAULT_DYNAMIC,
) -> VideoJob | None:
    """Probe ``video`` and open its partial store; ``None`` when it is already analysed.

    "Already analysed" is DeepLabCut's test (the result file exists), except when our
    metadata says another model wrote it: scorer names hold neither the training fraction
    nor the labeling iteration, so a retrained model can share its predecessor's name.
    That file is analysed again, with a warning, rather than silently kept.

    ``result_file`` is the file whose existence means "analysed" (default the ``.h5``; the
    multi-animal analysis gives its ``_full.pickle``); ``extra_signature`` adds what else
    changes the partial results (the multi-animal peak and assembly settings);
    ``store_class`` keeps the chunk results (the multi-animal one keeps several arrays).
    ``dynamic`` is DeepLabCut's ``(on, pcutoff, margin)``, or None to choose two-stage
    inference by the model (`markerless.analysis.dynamic.resolve_two_stage`).
    """
    from markerless.io.video import probe_video

    video = Path(video)
    paths = output_paths(video, spec.scorer, destfolder)
    vinfo = None
    finished = paths.finished if result_file is None else Path(result_file).is_file()
    if finished and not redo:
        vinfo = probe_video(video)  # VideoError (naming the file) when unreadable
        # (a multi-animal result is its pickles: the .h5 row check does not apply)
        damage = _damaged_output(paths, vinfo.n_frames) if result_file is None else None
        other = _other_model(paths, spec)
        if damage is None and other is None:
            return None
        why = (f"is damaged ({damage})" if damage is not None else
               f"was written by another model with the same scorer name ({other})")
        warnings.warn(f"{str(paths.h5)!r} {why}; analysing {video.name!r} again with "
                      f"{spec.snapshot}", UserWarning, stacklevel=3)  # fmt: skip
        redo = True
    if vinfo is None:
        vinfo = probe_video(video)  # VideoError (naming the file) when unreadable
    if destfolder is not None:
        Path(destfolder).mkdir(parents=True, exist_ok=True)
    if redo:
        PartialStore.discard(paths.partial)
    crop = _check_crop(cropping, vinfo, video)
    x1, x2, y1, y2 = crop or (0, vinfo.width, 0, vinfo.height)
    _warn_other_size(video, (y2 - y1, x2 - x1), spec.extra.get("image_sizes"), downscale)
    if downscale is not None and not 0 < downscale <= 1:
        raise ConfigError(f"downscale must be in (0, 1], got {downscale!r}")
    geometry = Geometry(
        frame_hw=(y2 - y1, x2 - x1), offset_xy=(x1, y1),
        scale=spec.global_scale * float(downscale or 1.0), pad_multiple=spec.pad_multiple,
        stride=spec.stride, locref_stdev=spec.locref_stdev, net_type=spec.net_type,
    )  # fmt: skip
    two_stage = resolve_two_stage(dynamic, geometry, spec.extra) if store_class is \
        PartialStore else None  # (multi-animal projects analyse whole frames)
    signature = {
        "video": video_fingerprint(video), "n_frames": vinfo.n_frames, "scorer": spec.scorer,
        "model": spec.fingerprint, "geometry": geometry.__dict__, "batch_size": int(batch_size),
        **(extra_signature or {}),
    }  # fmt: skip
    if two_stage is not None:
        signature["two_stage"] = {"crop": list(two_stage.crop_hw), "pcutoff": two_stage.pcutoff,
                                  "margin": two_stage.margin,
                                  "finder_scale": two_stage.finder_scale}
        store_class = MultiPartialStore  # coordinates and the stage of every frame
    store = store_class(paths.partial, signature, plan_chunks(vinfo, chunk_frames))
    return VideoJob(video, vinfo, paths, store, geometry, crop, int(batch_size), spec,
                    two_stage=two_stage)


def _warn_other_size(video: Path, frame_hw: tuple[int, int], sizes, downscale) -> None:
    """Say so when the frames differ in size from every training image: the animal then
    appears at another scale than the network learned (DLC analyses them silently)."""
    if not sizes or downscale is not None:
        return
    # sizes are recorded in original pixels, rounded back from the training scale
    if any(abs(frame_hw[0] - h) <= 2 and abs(frame_hw[1] - w) <= 2 for h, w in sizes):
        return
    listed = ", ".join(f"{w}x{h}" for h, w in sizes[:4]) + (" ..." if len(sizes) > 4 else "")
    h, w = frame_hw
    warnings.warn(f"{str(video)!r} has {w}x{h} frames but the model was trained on images of "
                  f"{listed}: if the animal appears at another size, predictions suffer "
                  "(pass downscale=..., or add frames of this video to the training set)",
                  UserWarning, stacklevel=4)


def _damaged_output(paths: OutputPaths, n_frames: int) -> str | None:
    """Why an existing result cannot count as "already analysed" (None: it is whole).

    A result counts only when it reads back with one row per frame: a run that died on a
    full disk, or a file damaged later, must be analysed again, not kept.
    """
    from markerless.errors import LabelFileError
    from markerless.io.dlc_tables import read_table

    try:
        n_rows = len(read_table(paths.h5).frames)
    except (LabelFileError, OSError) as err:
        return f"unreadable: {err}"
    except Exception as err:  # noqa: BLE001 - HDF5 raises many types for broken files
        return f"unreadable: {type(err).__name__}: {err}"
    # DeepLabCut counts frames its own way (OpenCV): only our own files must match exactly
    if n_rows != n_frames and (n_rows == 0 or read_metadata(paths.h5) is not None):
        return f"{n_rows} rows for a video of {n_frames} frames"
    return None


def _other_model(paths: OutputPaths, spec: ModelSpec) -> str | None:
    """What made ``paths.h5``, when its ``_meta.json`` names weights other than ``spec``'s."""
    data = read_metadata(paths.h5) or {}
    found = data.get("model_fingerprint")
    if found is None or found == spec.fingerprint:
        return None  # ours, or written by DeepLabCut / an older run: trust the name, as DLC
    return (f"snapshot {data.get('snapshot')}, training fraction "
            f"{data.get('training set fraction')}")


def _warn_damage(job: VideoJob, coords: np.ndarray) -> list[tuple[int, int]]:
    """Warn (never silently) about a truncated file and frames that failed to decode."""
    v = job.vinfo
    if v.truncated or (v.header_frames and v.header_frames > v.n_frames):
        warnings.warn(
            f"{str(job.video)!r} is truncated: its header announces {v.header_frames} frames "
            f"but only {v.n_frames} can be decoded; the analysis has {v.n_frames} rows",
            UserWarning, stacklevel=3,
        )  # fmt: skip
    bad = np.flatnonzero(np.isnan(coords[..., 2]).all(axis=1))
    runs = bad_frame_ranges(bad.tolist())
    if runs:
        text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:20])
        warnings.warn(
            f"{len(bad)} frame(s) of {str(job.video)!r} could not be decoded and are NaN in "
            f"the output: {text}{' ...' if len(runs) > 20 else ''}",
            UserWarning, stacklevel=3,
        )  # fmt: skip
    return runs


def finalize_job(job: VideoJob, save_as_csv: bool = False) -> Path:
    """Assemble the chunks, write ``.h5`` (+ ``.csv``) and metadata, drop the partials."""
    from markerless.io.dlc_analysis import write_analysis

    coords = job.store.assemble()
    stages = None
    if isinstance(coords, dict):  # two-stage inference: coordinates and stage codes
        coords, stages = coords["coords"], coords["stage"]
    if len(coords) != job.n_frames:  # the plan covers the probed count exactly
        raise RuntimeError(f"{len(coords)} rows for {job.n_frames} frames of {job.video}")
    bad_runs = _warn_damage(job, coords)
    spec = job.spec
    poses = coords_to_poses(coords, spec.bodyparts, spec.individuals, spec.scorer)
    write_analysis(poses, job.paths.h5, save_as_csv=save_as_csv)
    meta = analysis_metadata(job, bad_runs)
    meta["inference"] = (stage_summary(np.nan_to_num(stages, nan=-1), job.two_stage)
                         if stages is not None else {"two_stage": False})
    write_metadata(job.paths, meta)
    job.store.remove()
    return job.paths.h5


def analysis_metadata(job: VideoJob, bad_runs: list[tuple[int, int]]) -> dict:
    """DeepLabCut's ``_meta.pickle`` ``data`` for a finished job (+ markerless's keys)."""
    spec = job.spec
    stop = time.time()
    v = job.vinfo
    x1, x2, y1, y2 = job.crop or (0, v.width, 0, v.height)
    data = {
        "start": job.started, "stop": stop, "run_duration": stop - job.started,
        "Scorer": spec.scorer,
        "DLC-model-config file": {"net_type": spec.net_type, "stride": spec.stride,
                                  "locref_stdev": spec.locref_stdev,
                                  "all_joints_names": spec.bodyparts,
                                  "snapshot": spec.snapshot, **spec.extra},
        "fps": v.fps, "batch_size": job.batch_size, "frame_dimensions": (v.height, v.width),
        "nframes": v.n_frames,
        "iteration (active-learning)": spec.extra.get("iteration", 0),
        "training set fraction": spec.extra.get("train_fraction"),
        "cropping": job.crop is not None, "cropping_parameters": [x1, x2, y1, y2],
        # markerless additions
        "video": str(job.video), "header_frames": v.header_frames, "truncated": v.truncated,
        "bad_frames": [list(r) for r in bad_runs], "scale": job.geometry.scale,
        "snapshot": spec.snapshot, "model_fingerprint": spec.fingerprint,
    }  # fmt: skip
    return data
