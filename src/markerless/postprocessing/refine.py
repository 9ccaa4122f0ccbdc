"""Closing the refinement loop: corrected machine labels -> human labels -> next iteration.

``extract_outlier_frames`` leaves ``machinelabels-iter<N>.h5`` (the model's
guesses) beside the outlier PNGs. Once a person has corrected them (in napari),
:func:`refine_labels` merges the corrections into ``CollectedData_<scorer>.h5``,
and :func:`merge_datasets` (DeepLabCut's name) moves the project to the next
``iteration`` so that ``create_training_dataset`` builds a new training set,
with the corrected frames, under ``training-datasets/iteration-<N+1>/``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from markerless.errors import ConfigError, LabelFileError
from markerless.poses import Poses
from markerless.postprocessing.common import read_project

__all__ = [
    "machine_label_files",
    "merge_datasets",
    "read_machine_labels",
    "refine_labels",
    "refinement_status",
]

#: marker file DeepLabCut's refinement GUI leaves in a refined folder.
DLC_REFINED_MARKER = "MachineLabelsRefine.h5"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".webm", ".wmv")


def _folder(project: Path, video: str | os.PathLike) -> Path:
    """``labeled-data/<stem>`` for a video path, a video stem or the folder itself."""
    path = Path(video)
    if path.is_dir():
        return path
    stem = path.stem if path.suffix.lower() in _VIDEO_SUFFIXES else path.name
    return project / "labeled-data" / stem


def machine_label_files(folder: str | os.PathLike) -> list[Path]:
    """``machinelabels-iter*.h5`` in a labeled-data folder, oldest iteration first."""
    def _iter(p: Path) -> int:
        digits = p.stem[len("machinelabels-iter"):]
        return int(digits) if digits.isdigit() else -1

    return sorted(Path(folder).glob("machinelabels-iter*.h5"), key=_iter)


def read_machine_labels(
    config: str | os.PathLike, video: str | os.PathLike, iteration: int | None = None
) -> Poses:
    """The machine labels of a video's labeled-data folder (the latest iteration by default)."""
    from markerless.io.dlc_analysis import read_analysis
    from markerless.postprocessing.outliers import machinelabels_path

    _, project = read_project(config)
    folder = _folder(project, video)
    if iteration is not None:
        path = machinelabels_path(folder, iteration)
    else:
        files = machine_label_files(folder)
        if not files:
            raise LabelFileError(f"No machinelabels-iter*.h5 in {str(folder)!r}: run "
                                 "extract_outlier_frames first")  # fmt: skip
        path = files[-1]
    return read_analysis(path)


def _video_file(cfg, project: Path, video: str | os.PathLike, stem: str) -> Path | None:
    """The video itself, or the config's / ``videos/`` video with this stem."""
    from markerless.project.videos import iter_project_videos

    if Path(video).is_file():
        return Path(video)
    listed = [v.path for v in iter_project_videos(cfg, project) if v.path is not None]
    listed += sorted((project / "videos").glob(f"{stem}.*"))
    return next((p for p in listed if p.stem == stem and p.is_file()), None)


def _frame_paths(frames: Sequence, folder: Path, video: Path | None) -> list[str]:
    """``labeled-data/<stem>/imgNNN.png`` for image paths, bare names or video frame numbers."""
    from markerless.project.frames import frame_name

    out: list[str] = []
    n_video = None
    for f in frames:
        if isinstance(f, (int, np.integer)) and not isinstance(f, bool):
            if n_video is None:
                from markerless.io.video import probe_video

                if video is None:
                    raise LabelFileError(
                        f"corrections name video frame numbers ({f}) but no video of "
                        f"{folder.name!r} was found to turn them into image names"
                    )
                n_video = probe_video(video).n_frames
            name = frame_name(int(f), n_video)
        else:
            name = Path(str(f).replace("\\", "/")).name
        out.append(f"labeled-data/{folder.name}/{name}")
    return out


def refine_labels(
    config: str | os.PathLike,
    video: str | os.PathLike,
    corrections: Poses,
    pcutoff: float | None = None,
) -> Path:
    """Merge corrected machine labels into the folder's ``CollectedData_<scorer>.h5``.

    Parameters
    ----------
    config
        Path of config.yaml.
    video
        The video, its stem, or its ``labeled-data`` folder.
    corrections
        The corrected poses: frames named ``labeled-data/<stem>/imgNNN.png`` (or
        ``imgNNN.png``, or video frame numbers), keypoints a person checked. Every
        frame becomes a human-labeled frame; a NaN point keeps what the file had.
    pcutoff
        When given, points whose ``likelihood`` is below it are left out (an
        unchecked low-confidence guess should not become a label).

    Returns
    -------
    Path
        The ``CollectedData_<scorer>.h5`` written (atomically, previous kept as ``.bak``).
    """
    from markerless.io.config import pose_layout
    from markerless.io.dlc_labels import labels_path, merge_labels, read_labels, write_labels

    cfg, project = read_project(config)
    scorer = str(cfg["scorer"])
    folder = _folder(project, video)
    individuals, bodyparts, defined = pose_layout(cfg)
    unknown = sorted(set(corrections.bodyparts) - set(bodyparts))
    if unknown:
        raise ConfigError(f"corrections have bodyparts {unknown} that config.yaml does not list")
    xy = corrections.xy.copy()
    if pcutoff is not None and corrections.likelihood is not None:
        xy[corrections.likelihood < float(pcutoff)] = np.nan
    new = Poses(xy, corrections.bodyparts, corrections.individuals,
                _frame_paths(corrections.frames, folder,
                             _video_file(cfg, project, video, folder.name)), scorer, None,
                corrections.defined)  # fmt: skip
    path = labels_path(project, folder.name, scorer)
    on_disk = next((p for p in (path, path.with_suffix(".csv")) if p.is_file()), None)
    base = (read_labels(on_disk) if on_disk is not None
            else Poses.empty([], bodyparts, individuals, scorer, defined))  # fmt: skip
    merged = merge_labels(base, new)
    order = np.argsort([str(f) for f in merged.frames], kind="stable")
    merged = merged.select_frames(order)
    folder.mkdir(parents=True, exist_ok=True)
    return write_labels(merged, path)


def _frame_names(path: Path) -> set[str]:
    from markerless.io.dlc_analysis import read_table

    return {Path(str(f)).name for f in read_table(path).frames}


def refinement_status(config: str | os.PathLike) -> dict[str, str]:
    """Per ``labeled-data`` folder: ``"labeled"``, ``"refined"``, ``"unrefined"``, ``"unlabeled"``.

    * ``refined``: every frame of its machine-labels files is in ``CollectedData_<scorer>``
      (or DeepLabCut's ``MachineLabelsRefine.h5`` is there);
    * ``unrefined``: some machine-labelled frames are not in ``CollectedData`` yet;
    * ``unlabeled``: images but no labels file at all;
    * ``labeled``: human labels and no machine labels.

    Folders without images or label files, and DeepLabCut's ``*_labeled`` folders, are skipped.
    """
    cfg, project = read_project(config)
    scorer = str(cfg["scorer"])
    status: dict[str, str] = {}
    root = project / "labeled-data"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        if folder.name.endswith("_labeled") or folder.name.startswith("."):
            continue
        human = next((p for p in (folder / f"CollectedData_{scorer}.h5",
                                  folder / f"CollectedData_{scorer}.csv") if p.is_file()), None)
        machine = machine_label_files(folder)
        if machine:
            if (folder / DLC_REFINED_MARKER).is_file():
                status[folder.name] = "refined"
                continue
            pending = set().union(*(_frame_names(p) for p in machine))
            done = _frame_names(human) if human is not None else set()
            status[folder.name] = "refined" if pending <= done else "unrefined"
        elif human is not None:
            status[folder.name] = "labeled"
        elif any(p.suffix.lower() in _IMAGE_SUFFIXES for p in folder.iterdir()):
            status[folder.name] = "unlabeled"
    return status


def merge_datasets(config: str | os.PathLike, forceiterate: int | None = None) -> int | None:
    """Move the project to the next ``iteration`` once every folder is labeled or refined.

    DeepLabCut's semantics: when some labeled-data folder still has uncorrected
    machine labels (or unlabeled frames), nothing changes and a warning names the
    folders; otherwise ``iteration`` becomes ``iteration + 1`` (or ``forceiterate``)
    in config.yaml, written atomically with comments kept, so the next
    ``create_training_dataset`` includes the refined frames.

    Returns the new iteration, or None when nothing was changed.
    """
    from markerless.io.config import read_config, write_config

    _, project = read_project(config)
    status = refinement_status(project)
    blocking = {name: s for name, s in status.items() if s in ("unrefined", "unlabeled")}
    if blocking:
        warnings.warn(
            "Not merged: label or refine these labeled-data folders first (or remove them): "
            + ", ".join(f"{name} ({s})" for name, s in blocking.items()),
            stacklevel=2,
        )
        return None
    if not any(s in ("labeled", "refined") for s in status.values()):
        warnings.warn(f"Not merged: {project / 'labeled-data'} holds no labels yet: label "
                      "frames (and refine machine labels) first", stacklevel=2)
        return None
    path = project / "config.yaml"
    cfg = read_config(path)  # re-read: keep comments and any concurrent edit
    new = int(forceiterate) if forceiterate else int(cfg.get("iteration", 0) or 0) + 1
    cfg["iteration"] = new
    write_config(cfg, path)
    return new
