"""``check_labels``: draw every labeled frame, and point at the labels that are most likely wrong.

DeepLabCut's ``check_labels`` writes each labeled frame with its keypoints drawn into
``labeled-data/<video>_labeled/`` for the user to look over; this does the same and also finds
two mistakes automatically, because one of them is easy to miss by eye and costs accuracy:

* **left/right swapped.** Seen from one camera, a left/right pair lies on the same side of the
  body axis in every frame (the sign of ``axis x (left - right)``), so a frame whose pair lies
  the other way round than in most frames of its video has the two labels swapped. The axis
  runs from the first to the last bodypart that has no left/right partner, in config order
  (snout -> tailbase for DeepLabCut's default bodyparts). A swapped pair teaches the network
  both answers and, in a test set, scores the distance between the two points as error.
* **outside the image.** A coordinate outside the frame it belongs to.

It also reports everything training cannot use (`markerless.project.label_audit`): broken
or duplicate label files, folders labeled by another scorer, missing or broken images,
bodyparts without labels and absurd coordinates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from markerless.errors import ConfigError
from markerless.poses import Poses
from markerless.project.label_audit import LabelIssue, audit_labels

__all__ = [
    "LabelIssue",
    "check_labels",
    "find_label_issues",
    "labeled_data_folders",
    "swapped_pairs",
]

log = logging.getLogger(__name__)

#: A pair counts only where it is clearly off the axis: |sin(angle)| above this.
MIN_SINE = 0.2


def _body_axis(bodyparts: Sequence[str], pairs) -> tuple[int, int] | None:
    paired = {i for pair in pairs for i in pair}
    unpaired = [i for i in range(len(bodyparts)) if i not in paired]
    return (unpaired[0], unpaired[-1]) if len(unpaired) >= 2 else None


def swapped_pairs(poses: Poses, min_frames: int = 5, agreement: float = 0.8):
    """Which left/right pairs are labeled mirrored relative to most frames.

    Returns ``(pairs, swapped)``: the ``(left, right)`` bodypart index pairs found by name and
    a ``(frames, individuals, pairs)`` bool array. Frames vote per pair (pooled over
    individuals); nothing is flagged unless at least ``min_frames`` votes exist and
    ``agreement`` of them agree, so a project without a consistent side convention (a pair
    that is not really left/right, or several camera views mixed) is left alone.
    """
    from markerless.training.augment import symmetric_pairs_from_names

    pairs = symmetric_pairs_from_names(poses.bodyparts)
    f, i = poses.xy.shape[:2]
    swapped = np.zeros((f, i, len(pairs)), bool)
    axis_ends = _body_axis(poses.bodyparts, pairs)
    if not pairs or axis_ends is None:
        return pairs, swapped
    head, tail = axis_ends
    axis = poses.xy[:, :, tail] - poses.xy[:, :, head]  # (F, I, 2)
    left = poses.xy[:, :, [p[0] for p in pairs]]  # (F, I, P, 2)
    right = poses.xy[:, :, [p[1] for p in pairs]]
    d = left - right
    ax = axis[:, :, None, :]
    cross = ax[..., 0] * d[..., 1] - ax[..., 1] * d[..., 0]
    norm = np.linalg.norm(ax, axis=-1) * np.linalg.norm(d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sine = cross / norm
    vote = np.where(np.isfinite(sine) & (np.abs(sine) > MIN_SINE), np.sign(sine), 0.0)
    n_votes = (vote != 0).sum(axis=(0, 1))  # (P,)
    majority = np.sign(vote.sum(axis=(0, 1)))
    agree = (vote == majority).sum(axis=(0, 1)) / np.maximum(n_votes, 1)
    trusted = (n_votes >= min_frames) & (agree >= agreement) & (majority != 0)
    swapped = (vote == -majority) & trusted
    return pairs, swapped


def find_label_issues(
    poses: Poses, labels_file: Path, image_hw: Sequence[tuple[int, int] | None] | None = None
) -> list[LabelIssue]:
    """Swapped left/right pairs and out-of-image points in one labels file.

    ``image_hw`` gives each frame's (height, width), or None where unknown.
    """
    issues: list[LabelIssue] = []
    pairs, swapped = swapped_pairs(poses)
    for fi, ii, pi in zip(*np.nonzero(swapped), strict=True):
        left, right = (poses.bodyparts[k] for k in pairs[pi])
        issues.append(LabelIssue(labels_file, str(poses.frames[fi]), poses.individuals[ii],
                                 f"{left}/{right}",
                                 "left/right swapped relative to most frames of this video"))
    if image_hw is not None:
        hw = np.array([s if s is not None else (np.inf, np.inf) for s in image_hw], float)
        x, y = poses.xy[..., 0], poses.xy[..., 1]
        h, w = hw[:, 0, None, None], hw[:, 1, None, None]
        with np.errstate(invalid="ignore"):
            out = (x < -0.5) | (y < -0.5) | (x > w - 0.5) | (y > h - 0.5)
        for fi, ii, ki in zip(*np.nonzero(out), strict=True):
            issues.append(LabelIssue(
                labels_file, str(poses.frames[fi]), poses.individuals[ii], poses.bodyparts[ki],
                f"at ({x[fi, ii, ki]:.1f}, {y[fi, ii, ki]:.1f}), outside the "
                f"{int(hw[fi, 1])}x{int(hw[fi, 0])} image"))
    return issues


#: problems of `markerless.evaluation.diagnostics.label_suggestions` that check_labels repeats
MODEL_PROBLEMS = {
    "far from its label": "the last evaluated model is {err:.0f} px from this label ({set} "
                          "frame): check the label, or label more frames like this one",
    "not labeled, but predicted visible": "not labeled, but the last evaluated model sees it "
                                          "(likelihood {lik:.2f}): a forgotten label?",
}


def model_suggestions(suggestions, poses: Poses, labels_file: Path) -> list[LabelIssue]:
    """The latest evaluation's label suggestions that fall in this labels file."""
    if suggestions is None or suggestions.empty:
        return []
    frames = {str(f) for f in poses.frames}
    rows = suggestions[suggestions["frame"].astype(str).isin(frames)
                       & suggestions["problem"].isin(list(MODEL_PROBLEMS))]
    return [LabelIssue(labels_file, str(r.frame), "", str(r.bodypart),
                       MODEL_PROBLEMS[r.problem].format(err=r.error_px, set=r.set,
                                                        lik=r.likelihood))
            for r in rows.itertuples()]


def _draw_frame(image: np.ndarray, xy: np.ndarray, colors: np.ndarray, flagged: np.ndarray,
                radius: float, edges: np.ndarray) -> np.ndarray:
    """One labeled frame: skeleton, a red ring under flagged points, then the points."""
    from markerless.drawing import draw_discs, draw_segments

    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :3]
    if image.shape[-1] == 1:  # grey
        image = np.repeat(image, 3, axis=-1)
    frame = np.ascontiguousarray(image[None], dtype=np.uint8)
    pts = xy[None]
    vis = np.isfinite(pts).all(-1)
    if len(edges):
        a, b = edges[:, 0], edges[:, 1]
        draw_segments(frame, pts[:, a], pts[:, b], vis[:, a] & vis[:, b],
                      np.zeros((len(edges), 3)), 0.7)
    red = np.tile([255.0, 0.0, 0.0], (pts.shape[1], 1))
    draw_discs(frame, pts, vis & flagged[None], red, radius + 3, 1.0)
    draw_discs(frame, pts, vis, colors, radius, 0.85)
    return frame[0]


def labeled_data_folders(project: str | os.PathLike) -> list[Path]:
    """The project's ``labeled-data/<video>`` folders, sorted, without the
    ``<video>_labeled`` folders of drawings that `check_labels` (and DeepLabCut's) writes.

    A ``*_labeled`` folder is kept when it holds a CollectedData file or has no ``<video>``
    sibling: then it is a video that happens to be named so.
    """
    root = Path(project) / "labeled-data"
    if not root.is_dir():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    names = {p.name for p in folders}

    def drawings(p: Path) -> bool:
        return (p.name.endswith("_labeled") and p.name[: -len("_labeled")] in names
                and not any(p.glob("CollectedData_*")))

    return [p for p in folders if not drawings(p)]


def check_labels(
    config: str | os.PathLike,
    draw_skeleton: bool = True,
    visualizeindividuals: bool = True,
    write_images: bool = True,
) -> list[LabelIssue]:
    """Check every CollectedData file of the project (DeepLabCut's ``check_labels``).

    Writes ``labeled-data/<video>_labeled/<frame>.png`` with the labels drawn (coloured by
    individual in multi-animal projects with ``visualizeindividuals``, as DeepLabCut does,
    otherwise by bodypart; suspicious points ringed in red)
    unless ``write_images`` is False, and returns the suspicious labels, also logged.
    """
    import imageio.v3 as iio

    from markerless.drawing import colormap_colors
    from markerless.io.config import read_config

    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    cfg = read_config(config)
    project = config.parent
    folders = labeled_data_folders(project)
    if not folders:
        raise ConfigError(f"{project / 'labeled-data'} holds no labeled-data folders")
    radius = max(float(cfg.get("dotsize", 12) or 12) / 2, 1.5)
    audit = audit_labels(config, folders)
    from markerless.evaluation.diagnostics import read_latest_suggestions

    suggestions = read_latest_suggestions(config)
    issues: list[LabelIssue] = list(audit.issues)
    broken = {(str(i.labels_file), i.frame) for i in audit.issues
              if i.frame and i.problem.startswith("image")}
    for labels_file, poses in audit.usable.items():
        images = [project / Path(*str(f).split("/")) for f in poses.frames]
        usable = [(str(labels_file), str(f)) not in broken and p.is_file()
                  for f, p in zip(poses.frames, images, strict=True)]
        if write_images:
            pixels = [iio.imread(p) if ok else None for p, ok in zip(images, usable, strict=True)]
            hw = [None if im is None else im.shape[:2] for im in pixels]
        else:
            hw = [iio.improps(p).shape[:2] if ok else None
                  for p, ok in zip(images, usable, strict=True)]
        found = find_label_issues(poses, labels_file, hw) + model_suggestions(
            suggestions, poses, labels_file)
        issues += found
        if write_images:
            _write_labeled(labels_file.parent, poses, pixels, found, cfg, radius, draw_skeleton,
                           visualizeindividuals, colormap_colors)
    for issue in issues:
        log.warning("check_labels: %s", issue)
    return issues


def _write_labeled(folder: Path, poses: Poses, pixels: list, issues: list[LabelIssue], cfg,
                   radius: float, draw_skeleton: bool, by_individual: bool, colors_of) -> None:
    import imageio.v3 as iio

    from markerless.io.atomic import atomic_write

    n_ind, n_kp = len(poses.individuals), len(poses.bodyparts)
    cmap = cfg.get("colormap", "rainbow") or "rainbow"
    if by_individual and n_ind > 1:
        colors = np.repeat(colors_of(n_ind, cmap)[:, :3], n_kp, axis=0)
    else:
        colors = np.tile(colors_of(n_kp, cmap)[:, :3], (n_ind, 1))
    colors = np.rint(colors * 255)
    names = {b: k for k, b in enumerate(poses.bodyparts)}
    edges = [(i * n_kp + names[a], i * n_kp + names[b]) for i in range(n_ind)
             for a, b in (cfg.get("skeleton") or []) if a in names and b in names]
    edges_arr = np.asarray(edges if draw_skeleton else [], int).reshape(-1, 2)
    flagged = np.zeros((len(poses.frames), n_ind, n_kp), bool)
    row = {str(f): r for r, f in enumerate(poses.frames)}
    ind = {name: i for i, name in enumerate(poses.individuals)}
    for issue in issues:
        for part in issue.bodypart.split("/"):
            if part in names:
                flagged[row[issue.frame], ind[issue.individual], names[part]] = True
    out = folder.with_name(folder.name + "_labeled")
    out.mkdir(exist_ok=True)
    for r, image in enumerate(pixels):
        if image is None:
            continue
        drawn = _draw_frame(image, poses.xy[r].reshape(-1, 2), colors,
                            flagged[r].reshape(-1), radius, edges_arr)
        name = Path(str(poses.frames[r])).name
        atomic_write(out / name, lambda tmp, im=drawn: iio.imwrite(tmp, im, extension=".png"),
                     backup=False)
