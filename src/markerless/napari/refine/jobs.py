"""The Refine dock's work, without Qt: outlier jobs, machine-label layers, corrections.

Machine labels (``machinelabels-iter<N>.h5``, the model's guesses for the outlier
frames) are shown as their own Points layer over a stack of just those frames,
styled apart from human labels. Saving turns the layer back into poses; points
the person moved (or added) get likelihood 1, so "leave out unchecked guesses
below pcutoff" only drops guesses nobody touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from markerless.napari.layers.convert import META_KEY, points_to_poses, poses_to_points
from markerless.poses import Poses

#: how machine labels look: diamonds with a gold border (human labels are white-rimmed discs).
MACHINE_STYLE = {"symbol": "diamond", "border_color": "#ffd700", "border_width": 0.12}
MOVED_TOLERANCE = 1e-3  # px: a point closer than this to the guess was not moved


# --- jobs (worker thread) --------------------------------------------------------------
def outliers_job(config: str | os.PathLike, video: str | os.PathLike, analysis: Path,
                 shuffle: int = 1, trainingsetindex: int = 0, **params: Any) -> Iterator[dict]:
    """`extract_outlier_frames` for one video; returns ``{"video", "frames", "folder"}``."""
    from markerless.postprocessing.outliers import extract_outlier_frames

    video = Path(video)
    yield {"text": f"{video.name}: finding outlier frames ({params.get('outlieralgorithm')})..."}
    picked = extract_outlier_frames(config, [str(video)], shuffle=shuffle,
                                    trainingsetindex=trainingsetindex,
                                    analysis={str(video): str(analysis)}, **params)  # fmt: skip
    frames = picked.get(str(video), [])
    folder = Path(config).parent / "labeled-data" / video.stem
    return {"video": str(video), "frames": list(frames), "folder": str(folder)}


def filter_job(config: str | os.PathLike, video: str | os.PathLike, analysis: Path,
               shuffle: int = 1, trainingsetindex: int = 0, **params: Any) -> Iterator[dict]:
    """`filterpredictions` for one video (always redone); returns the filtered .h5."""
    from markerless.postprocessing.filtering import filterpredictions

    video = Path(video)
    yield {"text": f"{video.name}: filtering ({params.get('filtertype')})..."}
    out = filterpredictions(config, [str(video)], shuffle=shuffle,
                            trainingsetindex=trainingsetindex, redo=True,
                            analysis={str(video): str(analysis)}, **params)  # fmt: skip
    return {"video": str(video), "filtered": str(out[str(video)])}


def labeled_video_job(config: str | os.PathLike, video: str | os.PathLike, analysis: Path,
                      shuffle: int = 1, trainingsetindex: int = 0,
                      **params: Any) -> Iterator[dict]:
    """``iter_create_labeled_video`` progress events (overwrites an older labeled video)."""
    from markerless.postprocessing.labeled_video import iter_create_labeled_video

    yield from iter_create_labeled_video(config, [str(video)], shuffle=shuffle,
                                         trainingsetindex=trainingsetindex, overwrite=True,
                                         analysis={str(video): str(analysis)}, **params)


def plots_job(analysis: Path, pcutoff: float, colormap: str,
              image_size: tuple[int, int] | None) -> dict[str, Any]:
    """`make_trajectory_figures` of an analysis file (figures are drawn on the main thread)."""
    from markerless.io.dlc_analysis import read_analysis
    from markerless.postprocessing.plots import make_trajectory_figures

    return make_trajectory_figures(read_analysis(analysis), pcutoff=pcutoff, colormap=colormap,
                                   image_size=image_size)  # fmt: skip


# --- machine labels as layers ----------------------------------------------------------
def machine_layers(config: str | os.PathLike, folder: str | os.PathLike,
                   colormap: str = "rainbow", size: float = 8.0) -> list[tuple]:
    """``[(images, kwargs, "image"), (data, kwargs, "points")]`` for a folder's latest
    machine labels: the machine-labelled frames only, and the guesses on them."""
    from markerless.errors import LabelFileError
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.layers.reader import image_stack
    from markerless.postprocessing.refine import machine_label_files

    folder = Path(folder)
    files = machine_label_files(folder)
    if not files:
        raise LabelFileError(f"No machinelabels-iter*.h5 in {str(folder)!r}: extract outlier "
                             "frames first")  # fmt: skip
    poses = read_analysis(files[-1])
    names = [Path(str(f).replace("\\", "/")).name for f in poses.frames]
    paths = [folder / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise LabelFileError(f"{files[-1].name} lists frames missing from {folder}: {missing[:5]}")
    poses.frames = [f"labeled-data/{folder.name}/{n}" for n in names]
    meta = {"root": str(Path(config).parent), "folder": str(folder),
            "machine_path": str(files[-1]), "image_paths": [str(p) for p in paths]}  # fmt: skip
    data, kwargs = poses_to_points(poses, kind="machine", colormap=colormap, extra_meta=meta,
                                   size=size)  # fmt: skip
    kwargs.update(MACHINE_STYLE, name=f"machine labels {folder.name}")
    image_kwargs = {"name": f"{folder.name} outliers", "rgb": True,
                    "metadata": {META_KEY: {"kind": "frames", **meta}}}  # fmt: skip
    return [(image_stack(paths), image_kwargs, "image"), (data, kwargs, "points")]


def corrections(layer: Any) -> Poses:
    """Poses from a machine-labels layer; moved or added points get likelihood 1."""
    from markerless.io.dlc_analysis import read_analysis

    meta = layer.metadata[META_KEY]
    poses = points_to_poses(layer.data, layer.features, layer.metadata)
    guess = read_analysis(meta["machine_path"])
    rows = {Path(str(f)).name: r for r, f in enumerate(guess.frames)}
    idx = np.array([rows.get(Path(str(f)).name, -1) for f in poses.frames])
    original = np.full_like(poses.xy, np.nan)
    have = idx >= 0
    k = [guess.bodyparts.index(b) for b in poses.bodyparts]
    original[have] = guess.xy[idx[have]][:, :, k]
    lik = poses.likelihood if poses.likelihood is not None else np.ones(poses.xy.shape[:3])
    finite = np.isfinite(poses.xy).all(-1)
    moved = finite & ~(np.abs(poses.xy - original) <= MOVED_TOLERANCE).all(-1)
    poses.likelihood = np.where(moved, 1.0, lik)
    return poses


def drop_unchecked(poses: Poses, pcutoff: float) -> int:
    """Unlabel (in place) guesses below ``pcutoff``; returns how many were dropped."""
    if poses.likelihood is None:
        return 0
    low = np.isfinite(poses.xy).all(-1) & (poses.likelihood < pcutoff)
    poses.xy[low] = np.nan
    return int(low.sum())


def label_conflicts(config: str | os.PathLike, folder: Path, new: Poses,
                    tolerance: float = 0.01) -> list[str]:
    """``"<frame> <bodypart>"`` where ``new`` would move a point already in CollectedData."""
    from markerless.io.config import read_config
    from markerless.io.dlc_labels import read_labels

    scorer = str(read_config(config)["scorer"])
    disk = next((p for p in (folder / f"CollectedData_{scorer}.h5",
                             folder / f"CollectedData_{scorer}.csv") if p.is_file()), None)
    if disk is None:
        return []
    old = read_labels(disk)
    rows = {Path(str(f)).name: r for r, f in enumerate(old.frames)}
    out = []
    for r, frame in enumerate(new.frames):  # a handful of corrected frames
        o = rows.get(Path(str(frame)).name)
        if o is None:
            continue
        for i, ind in enumerate(new.individuals):
            if ind not in old.individuals:
                continue
            oi = old.individuals.index(ind)
            for k, bp in enumerate(new.bodyparts):
                if bp not in old.bodyparts:
                    continue
                a, b = new.xy[r, i, k], old.xy[o, oi, old.bodyparts.index(bp)]
                both = np.isfinite(a).all() and np.isfinite(b).all()
                if both and np.abs(a - b).max() > tolerance:
                    out.append(f"{Path(str(frame)).name} {bp}" + (f" ({ind})" if ind else ""))
    return out
