"""Where a project's files are: its videos, a model's folder, a video's analysis results.

Qt-free look-ups the docks and the notebook API share; each follows DeepLabCut's
layout and names, and copes with projects that moved (absolute paths in
config.yaml that no longer exist are looked for in the project's ``videos/``).
"""

from __future__ import annotations

import os
from pathlib import Path


def model_dir(config: str | os.PathLike, shuffle: int = 1, trainingsetindex: int = 0) -> Path:
    """``dlc-models/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>`` of the project."""
    from markerless.training.dataset import _load, model_folder, train_fraction_of

    cfg, project = _load(config)
    return project / model_folder(cfg, train_fraction_of(cfg, trainingsetindex), shuffle)


def project_videos(config: str | os.PathLike) -> list[Path]:
    """The videos of config.yaml ``video_sets`` that exist (looked up in ``videos/`` too).

    DeepLabCut stores absolute paths, which break when a project moves; a video
    missing there is looked for by name in the project's ``videos/`` folder.
    """
    from markerless.io.config import read_config
    from markerless.project.videos import iter_project_videos

    config = Path(config)
    out: list[Path] = []
    for video in iter_project_videos(read_config(config), config.parent):
        if video.path is not None and video.path not in out:
            out.append(video.path)
    return out


def find_analysis(config: str | os.PathLike, video: str | os.PathLike, shuffle: int = 1,
                  filtered: bool = False, trainingsetindex: int = 0) -> Path | None:
    """The analysis .h5 of ``video``: the model's (by scorer), else the newest one. A file
    whose ``_meta.json`` names another training fraction is never it (DeepLabCut's scorer
    names do not include the fraction, so two fractions' models can share one)."""
    from markerless.io.config import read_config
    from markerless.postprocessing.common import analysis_file, model_scorer
    from markerless.training.dataset import train_fraction_of

    video = Path(video)
    try:
        fraction = train_fraction_of(read_config(config), trainingsetindex)
    except Exception:  # noqa: BLE001 - unreadable config: any file will do
        fraction = None
    try:
        path = analysis_file(video, model_scorer(config, shuffle, trainingsetindex), filtered)
        if not other_fraction(path, fraction):
            return path
    except Exception:  # noqa: BLE001 - no model yet, moved project: fall back to the folder
        pass
    pattern = f"{video.stem}DLC_*{'_filtered' if filtered else ''}.h5"
    found = [p for p in video.parent.glob(pattern)
             if (filtered or not p.stem.endswith("_filtered"))
             and not other_fraction(p, fraction)]  # fmt: skip
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def other_fraction(h5: Path, fraction: float | None) -> bool:
    """True when an analysis .h5's ``_meta.json`` says another training fraction made it."""
    from markerless.analysis.outputs import read_metadata

    try:
        value = float((read_metadata(h5) or {})["training set fraction"])
    except (KeyError, TypeError, ValueError):
        return False  # not recorded: it may be the one
    return fraction is not None and abs(value - fraction) > 1e-9


def listed_videos(config_path: Path | None) -> list[Path]:
    """Every video of config.yaml ``video_sets``, found or not (a missing path becomes
    ``videos/<name>``): the Frames dock offers them all."""
    if config_path is None:
        return []
    from markerless.io.config import read_config
    from markerless.project.videos import iter_project_videos

    root = config_path.parent
    return [v.path or root / v.display_path
            for v in iter_project_videos(read_config(config_path), root)]
