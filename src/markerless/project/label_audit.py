"""Everything about a project's labels that training cannot use, reported instead of skipped.

Why: training used to skip what it could not read (a broken label file, a folder
labeled under another scorer name, a missing image) without a word, so a user saw a
model trained on fewer frames than they labeled. `check_labels` lists these issues
and `create_training_dataset` warns about each and refuses to train on nothing.

Each issue is a :class:`LabelIssue` naming the file, frame, individual and bodypart
concerned (empty strings where a whole file or folder is meant).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from markerless.errors import LabelFileError
from markerless.poses import Poses

__all__ = ["LabelAudit", "LabelIssue", "audit_labels", "image_problem"]

#: no camera image is this large: a coordinate beyond it is a bug, not a click
MAX_COORDINATE = 1e5


@dataclass(frozen=True)
class LabelIssue:
    """One problem with the labels: where it is and what is wrong."""

    labels_file: Path
    frame: str
    individual: str
    bodypart: str
    problem: str

    def __str__(self) -> str:
        where = self.frame or str(self.labels_file)
        who = f"{self.individual} " if self.individual else ""
        part = f"{self.bodypart}: " if self.bodypart else ""
        name = f" ({self.labels_file.name})" if self.frame else ""
        return f"{where}: {who}{part}{self.problem}{name}"


@dataclass
class LabelAudit:
    """What `audit_labels` found: the usable label files and every issue."""

    usable: dict[Path, Poses] = field(default_factory=dict)
    issues: list[LabelIssue] = field(default_factory=list)

    def add(self, file: Path, problem: str, frame: str = "", individual: str = "",
            bodypart: str = "") -> None:
        self.issues.append(LabelIssue(Path(file), frame, individual, bodypart, problem))


def image_problem(path: Path) -> str | None:
    """Why the image at ``path`` cannot be used (missing, empty, unreadable), or None."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "image file is missing"
    except OSError as err:
        return f"image cannot be opened ({err.strerror or err})"
    if size == 0:
        return "image file is empty (0 bytes): extract the frame again or delete its labels"
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.verify()
    except Exception as err:  # noqa: BLE001 - PIL raises many types for broken files
        return f"image is unreadable ({type(err).__name__}: {err})"
    return None


def _label_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("CollectedData_*") if p.suffix.lower() in (".h5", ".csv"))


def _scorer(file: Path) -> str:
    return file.stem[len("CollectedData_"):]


def _check_file_pair(audit: LabelAudit, h5: Path, csv: Path, poses: Poses) -> None:
    """The .h5 is authoritative; a .csv that says otherwise is reported (the next save
    rewrites it from the .h5)."""
    from markerless.io.dlc_labels import read_labels

    try:
        other = read_labels(csv)
    except LabelFileError as err:
        audit.add(csv, f"the CSV copy is unreadable ({err}); the .h5 is used and the next "
                  "save rewrites the CSV")
        return
    if not other.equals(poses):
        audit.add(csv, "the CSV copy differs from the .h5 (an interrupted save?); the .h5 is "
                  "used and the next save rewrites the CSV")


def _check_coordinates(audit: LabelAudit, file: Path, poses: Poses) -> None:
    """Half-missing points (x without y), infinities and coordinates beyond any image."""
    xy = poses.xy
    finite = np.isfinite(xy)
    half = finite.any(-1) & ~finite.all(-1)
    huge = np.isinf(xy).any(-1) | (np.abs(np.where(finite, xy, 0.0)) > MAX_COORDINATE).any(-1)
    for fi, ii, ki in zip(*np.nonzero(half | huge), strict=True):
        x, y = xy[fi, ii, ki]
        audit.add(file, f"absurd coordinates ({x}, {y})", str(poses.frames[fi]),
                  poses.individuals[ii], poses.bodyparts[ki])


def _check_layout(audit: LabelAudit, file: Path, poses: Poses, bodyparts: list[str],
                  individuals: list[str]) -> None:
    extra_bp = [b for b in poses.bodyparts if b not in bodyparts]
    if extra_bp:
        audit.add(file, f"bodyparts {extra_bp} are not in config.yaml: their labels are not "
                  "used (add them to config.yaml or rename them)")
    if individuals != [""]:
        extra_ind = [i for i in poses.individuals if i not in individuals]
        if extra_ind:
            audit.add(file, f"individuals {extra_ind} are not in config.yaml: their labels are "
                      "not used")


def audit_labels(config: str | os.PathLike, folders: Iterable[Path] | None = None,
                 check_images: bool = True) -> LabelAudit:
    """Read every labeled-data folder of the project and report what cannot be used.

    Reported: unreadable or truncated label files, a CSV that disagrees with its .h5,
    folders labeled by another scorer than config.yaml's, several label files in one
    folder, frames labeled in two folders, missing, empty or broken images (with
    ``check_images``), config bodyparts that have no label anywhere, labels of bodyparts
    or individuals the config does not know, and absurd coordinates.
    """
    from markerless.io.config import pose_layout, read_config
    from markerless.io.dlc_labels import read_labels
    from markerless.project.check_labels import labeled_data_folders

    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    cfg = read_config(config)
    project = config.parent
    scorer = str(cfg.get("scorer") or "")
    individuals, bodyparts, _ = pose_layout(cfg)
    audit = LabelAudit()
    seen: dict[str, Path] = {}
    labeled_parts = np.zeros(len(bodyparts), bool)
    for folder in (labeled_data_folders(project) if folders is None else folders):
        files = _label_files(folder)
        ours = [f for f in files if _scorer(f) == scorer]
        others = sorted({_scorer(f) for f in files} - {scorer})
        if others:
            audit.add(folder, f"labeled by {others} but config.yaml's scorer is {scorer!r}: "
                      "these labels are not used (set scorer in config.yaml, or rename the "
                      f"files to CollectedData_{scorer}.h5)")
        if not ours:
            n_images = sum(1 for p in folder.iterdir() if p.suffix.lower() == ".png")
            if n_images and not others:
                audit.add(folder, f"{n_images} extracted frame(s), none labeled yet")
            continue
        h5 = next((f for f in ours if f.suffix.lower() == ".h5"), None)
        csv = next((f for f in ours if f.suffix.lower() == ".csv"), None)
        main = h5 or csv
        try:
            poses = read_labels(main)
        except LabelFileError as err:
            audit.add(main, f"cannot be read, its labels are not used: {err}")
            if h5 is not None and csv is not None:
                try:
                    read_labels(csv)
                    audit.add(csv, "the CSV copy is readable: rename the broken .h5 away (or "
                              "restore its .bak) to use it")
                except LabelFileError:
                    pass
            continue
        if h5 is not None and csv is not None:
            _check_file_pair(audit, h5, csv, poses)
        _check_layout(audit, main, poses, bodyparts, individuals)
        _check_coordinates(audit, main, poses)
        labeled = poses.labeled.any(axis=(0, 1))
        for k, name in enumerate(poses.bodyparts):
            if name in bodyparts and labeled[k]:
                labeled_parts[bodyparts.index(name)] = True
        for r, frame in enumerate(poses.frames):
            key = str(frame).replace("\\", "/")
            if key in seen and seen[key] != main:
                audit.add(main, f"frame is labeled twice (also in {seen[key]})", key)
            seen[key] = main
            if check_images and poses.labeled[r].any():
                problem = image_problem(project / Path(*key.split("/")))
                if problem is not None:
                    audit.add(main, problem, key)
        audit.usable[main] = poses
    if not audit.usable:
        audit.add(project / "labeled-data", f"no CollectedData_{scorer}.h5 (or .csv) in any "
                  "labeled-data folder: extract and label frames first")
    else:
        for k in np.flatnonzero(~labeled_parts):
            audit.add(config, f"bodypart {bodyparts[k]!r} of config.yaml has no label in any "
                      "frame: the network cannot learn it", bodypart=bodyparts[k])
    return audit
