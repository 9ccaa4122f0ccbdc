"""What the refinement and results tools share: which analysis file belongs to a video,
the project's plotting settings, colours and bodypart selection.

DeepLabCut finds an analysis output by rebuilding the model's scorer name
(``DLC_<net>_<Task><date>shuffle<k>_<step>``) from the project, not by listing
files; we do the same, so a folder holding the outputs of several models or
shuffles is unambiguous.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError, LabelFileError, ModelError
from markerless.poses import Poses

__all__ = [
    "PoseSource",
    "analysis_file",
    "bodypart_colors",
    "list_videos",
    "load_poses",
    "model_scorer",
    "plot_settings",
    "read_project",
    "resolve_analysis",
    "select_names",
]

#: what the result tools accept in place of an analysis file found by scorer.
PoseSource = Poses | str | os.PathLike


def read_project(config: str | os.PathLike) -> tuple[Any, Path]:
    """``(cfg, project folder)`` from config.yaml or the project folder."""
    from markerless.io.config import read_config

    path = Path(config)
    if path.is_dir():
        path = path / "config.yaml"
    return read_config(path), path.parent.resolve()


def model_scorer(
    config: str | os.PathLike,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    snapshot_index: int | str | None = None,
) -> str:
    """The scorer ``analyze_videos`` writes into file names for this shuffle's model.

    The step comes from the selected snapshot's file name (config ``snapshotindex``
    unless ``snapshot_index``; ``"all"`` means the last), the network from the
    model folder's ``pose_cfg.yaml``, so no weights are loaded.
    """
    from markerless.training.dataset import model_folder, read_pose_cfg, train_fraction_of
    from markerless.training.snapshots import (
        list_snapshots,
        scorer_name,
        select_snapshots,
        snapshot_step,
    )

    cfg, project = read_project(config)
    folder = project / model_folder(cfg, train_fraction_of(cfg, trainingsetindex), shuffle)
    snaps = list_snapshots(folder)
    if not snaps:
        raise ModelError(
            f"No snapshot-*.msgpack in {str(folder / 'train')!r}: train shuffle {shuffle} "
            "first, or pass the analysis file (analysis=...)"
        )
    index = cfg.get("snapshotindex", -1) if snapshot_index is None else snapshot_index
    if isinstance(index, str) and index.strip().lower() == "all":
        index = -1
    (snap,) = select_snapshots(snaps, index)
    net_type = str(read_pose_cfg(folder).get("net_type", ""))
    if not net_type:
        from markerless.training.checkpoint import load_file

        net_type = load_file(snap)[1]["model_config"]["net_type"]
    return scorer_name(net_type, str(cfg["Task"]), str(cfg["date"]), shuffle, snapshot_step(snap))


def analysis_file(
    video: str | os.PathLike,
    scorer: str,
    filtered: bool = False,
    destfolder: str | os.PathLike | None = None,
) -> Path:
    """``<destfolder or video folder>/<video stem><scorer>[_filtered].h5``, which must exist."""
    from markerless.io.dlc_analysis import analysis_path

    path = analysis_path(video, scorer, "_filtered" if filtered else "", destfolder)
    if not path.is_file():
        hint = (
            "run filterpredictions first" if filtered else "run analyze_videos on it first"
        )
        raise LabelFileError(
            f"No analysis results {str(path)!r} for video {str(video)!r} ({hint}, or pass "
            "analysis=<file>)"
        )
    return path


def load_poses(source: PoseSource) -> Poses:
    """A :class:`Poses` as given, or read from an analysis .h5/.csv."""
    if isinstance(source, Poses):
        return source
    from markerless.io.dlc_analysis import read_analysis

    return read_analysis(source)


def resolve_analysis(
    config: str | os.PathLike,
    video: str | os.PathLike,
    shuffle: int,
    trainingsetindex: int,
    filtered: bool,
    destfolder: str | os.PathLike | None,
    analysis: PoseSource | Mapping[str, PoseSource] | None,
    scorer: str | None = None,
) -> tuple[Poses, str]:
    """``(poses, scorer)`` for one video: from ``analysis`` when given, else found by scorer.

    ``analysis`` is a Poses, a file, or a mapping from video path (or stem) to either.
    """
    if isinstance(analysis, Mapping):
        key = next((k for k in (str(video), Path(video).stem, Path(video).name)
                    if k in analysis), None)  # fmt: skip
        analysis = None if key is None else analysis[key]
    if analysis is not None:
        poses = load_poses(analysis)
        return poses, poses.scorer
    scorer = scorer or model_scorer(config, shuffle, trainingsetindex)
    return load_poses(analysis_file(video, scorer, filtered, destfolder)), scorer


def list_videos(videos: str | os.PathLike | Sequence, videotype: str = "") -> list[Path]:
    """Video files from paths and folders, as ``analyze_videos`` collects them.

    Labeled videos (``*_labeled.<ext>``) found in folders are left out, as DeepLabCut does.
    """
    from markerless.analysis.analyze import collect_videos

    given = {Path(v) for v in ([videos] if isinstance(videos, (str, os.PathLike)) else videos)}
    return [v for v in collect_videos(videos, videotype)
            if v in given or not v.stem.endswith("_labeled")]  # fmt: skip


def plot_settings(cfg: Mapping[str, Any] | None, **given: Any) -> dict[str, Any]:
    """``dotsize``, ``alphavalue``, ``colormap``, ``pcutoff``, ``skeleton``, ``skeleton_color``.

    Explicit non-None keyword values win over config.yaml, which wins over DeepLabCut's defaults.
    """
    defaults = {"dotsize": 12, "alphavalue": 0.7, "colormap": "rainbow", "pcutoff": 0.6,
                "skeleton": [], "skeleton_color": "black"}  # fmt: skip
    out = {}
    for key, default in defaults.items():
        value = given.get(key)
        if value is None and cfg is not None:
            value = cfg.get(key)
        out[key] = default if value is None else value
    out["dotsize"] = int(out["dotsize"])
    out["alphavalue"] = float(out["alphavalue"])
    out["pcutoff"] = float(out["pcutoff"])
    out["skeleton"] = [(str(a), str(b)) for a, b in (out["skeleton"] or [])]
    return out


def bodypart_colors(n: int, colormap: str = "rainbow") -> np.ndarray:
    """``(n, 3)`` RGB in [0, 1] of `markerless.drawing.colormap_colors` (DLC's scheme)."""
    from markerless.drawing import colormap_colors

    return colormap_colors(n, colormap)[:, :3]


def select_names(
    available: Sequence[str], wanted: str | Sequence[str] | None, what: str = "bodyparts"
) -> np.ndarray:
    """Positions in ``available`` of ``wanted`` (``"all"``/None: all), in ``available``'s order."""
    available = list(available)
    if wanted is None or (isinstance(wanted, str) and wanted == "all"):
        return np.arange(len(available))
    if isinstance(wanted, str):
        wanted = [wanted]
    unknown = [w for w in wanted if w not in available]
    if unknown:
        raise ConfigError(f"Unknown {what} {unknown}; the data has {available}")
    keep = set(wanted)
    return np.asarray([i for i, name in enumerate(available) if name in keep], dtype=int)
