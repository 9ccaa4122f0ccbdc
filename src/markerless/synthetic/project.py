"""A labeled DeepLabCut-layout project written straight from synthetic frames and labels.

For tests and benchmarks that need labeled frames without a person: config.yaml,
``labeled-data/<video>/img*.png`` and ``CollectedData_<scorer>.h5/.csv``, as
DeepLabCut's ``create_new_project`` + labeling would leave them. ``crops`` cuts some
frames to other sizes (projects whose labeled frames come from cameras of different
resolutions, or from cropped videos), with the labels moved accordingly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from markerless.poses import Poses

__all__ = ["write_labeled_project"]


def write_labeled_project(
    root: str | os.PathLike,
    frames: np.ndarray,
    poses: Poses,
    *,
    task: str = "synth",
    scorer: str = "tester",
    date: str = "Jan01",
    video: str = "clip",
    fractions: Sequence[float] = (0.95,),
    crops: Sequence[tuple[int, int, int, int] | None] | None = None,
    skeleton: Sequence[Sequence[str]] | None = None,
) -> Path:
    """Write the project ``<root>/<task>-<scorer>-2024-01-01``; returns its config.yaml.

    ``crops`` gives, per frame, ``(x1, y1, x2, y2)`` to cut that frame to (labels are
    shifted by ``(x1, y1)``; labels that fall outside become NaN) or None to keep it whole.
    Single-animal poses only (multi-animal projects are made by `import_slp` or by hand).
    """
    from PIL import Image

    from markerless.io.config import default_config, write_config
    from markerless.io.dlc_labels import write_labels

    if poses.multianimal:
        raise ValueError("write_labeled_project writes single-animal projects")
    project = Path(root) / f"{task}-{scorer}-2024-01-01"
    folder = project / "labeled-data" / video
    folder.mkdir(parents=True, exist_ok=True)
    xy = poses.xy.copy()
    names = []
    width = len(str(max(len(frames) - 1, 0)))
    for i, image in enumerate(frames):
        crop = None if crops is None else crops[i]
        if crop is not None:
            x1, y1, x2, y2 = (int(v) for v in crop)
            image = image[y1:y2, x1:x2]
            xy[i] -= (x1, y1)
            h, w = image.shape[:2]
            out = ((xy[i, ..., 0] < -0.5) | (xy[i, ..., 0] > w - 0.5)
                   | (xy[i, ..., 1] < -0.5) | (xy[i, ..., 1] > h - 0.5))
            xy[i][out] = np.nan
        name = f"img{i:0{max(width, 3)}d}.png"
        Image.fromarray(np.ascontiguousarray(image)).save(folder / name)
        names.append(f"labeled-data/{video}/{name}")
    write_labels(Poses(xy, poses.bodyparts, poses.individuals, names, scorer), folder)
    cfg = default_config(task=task, scorer=scorer, date=date, project_path=str(project),
                         bodyparts=list(poses.bodyparts),
                         skeleton=[list(e) for e in (skeleton or [])])
    cfg["TrainingFraction"] = [float(f) for f in fractions]
    write_config(cfg, project / "config.yaml")
    return project / "config.yaml"
