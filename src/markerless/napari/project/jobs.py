"""The Qt-free half of the Project dock: form text, the project scan, worker bodies.

Kept apart from :mod:`.dock` so it can be read and tested without a viewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ProjectSummary", "create_project", "format_skeleton", "group_reader_output",
           "iter_summary", "parse_names", "parse_skeleton", "summarize_project"]


# --- form text ------------------------------------------------------------------
def parse_names(text: str) -> list[str]:
    """'snout, leftear , tail' -> ['snout', 'leftear', 'tail'] (commas or new lines)."""
    return [n.strip() for n in re.split(r"[,\n]", text) if n.strip()]


def parse_skeleton(text: str, bodyparts: Sequence[str] = ()) -> list[list[str]]:
    """'snout-leftear; snout-rightear' -> edges; a '-' inside a known bodypart name is kept."""
    edges = []
    for chunk in (c.strip() for c in re.split(r"[;\n]", text)):
        if not chunk:
            continue
        cuts = [m.start() for m in re.finditer("-", chunk)]
        split = next(((chunk[:i].strip(), chunk[i + 1:].strip()) for i in cuts
                      if chunk[:i].strip() in bodyparts and chunk[i + 1:].strip() in bodyparts),
                     None)
        if split is None:
            parts = [p.strip() for p in chunk.split("-", 1)]
            split = (parts[0], parts[1] if len(parts) > 1 else "")
        edges.append(list(split))
    return edges


def format_skeleton(edges: Any) -> str:
    return "; ".join(f"{a}-{b}" for a, b in (edges or []))


@dataclass
class ProjectSummary:
    """What a project folder holds (file scan only: no video is decoded)."""

    config_path: Path
    videos: list[Path] = field(default_factory=list)
    labeled: dict[str, tuple[int, int]] = field(default_factory=dict)  # folder: (images, labeled)
    snapshots: list[str] = field(default_factory=list)
    analysed: list[str] = field(default_factory=list)


def summarize_project(config_path: str | Path) -> ProjectSummary:
    """Videos, labeled frames per folder, trained snapshots and analysed videos of a project."""
    from markerless.io.config import read_config
    from markerless.io.dlc_analysis import is_dlc_analysis
    from markerless.io.dlc_labels import read_labels
    from markerless.project.check_labels import labeled_data_folders
    from markerless.project.videos import iter_project_videos

    config_path = Path(config_path)
    root = config_path.parent
    cfg = read_config(config_path)
    out = ProjectSummary(config_path)
    out.videos.extend(v.path or root / v.display_path for v in iter_project_videos(cfg, root))
    for folder in labeled_data_folders(root):
        images = [p for p in folder.iterdir() if p.suffix.lower() == ".png"
                  and not p.name.endswith(".tmp.png")]
        labels = (sorted(folder.glob("CollectedData_*.h5"))
                  or sorted(folder.glob("CollectedData_*.csv")))
        n_labeled = 0
        if labels:
            try:
                n_labeled = int(read_labels(labels[0]).labeled.any(axis=(1, 2)).sum())
            except Exception:  # noqa: BLE001 - a broken file must not hide the others
                n_labeled = -1
        out.labeled[folder.name] = (len(images), n_labeled)
    snaps = set()
    for models in ("dlc-models", "dlc-models-pytorch"):
        for p in (root / models).glob("**/snapshot-*"):
            stem = re.match(r"snapshot-[^.]+", p.name).group(0)  # .index/.meta/.data-*/.pt
            snaps.add(str(p.relative_to(root).parent / stem))
    out.snapshots = sorted(snaps)
    seen = set()
    for video in out.videos:
        for folder in {video.parent, video.resolve().parent}:
            for h5 in sorted(folder.glob(f"{video.stem}*DLC*.h5")):
                if h5 not in seen and is_dlc_analysis(h5):
                    seen.add(h5)
                    out.analysed.append(str(h5))
    return out


def iter_summary(config_path: Path) -> Iterator[tuple[str, Any]]:
    """Worker body: the quick file summary first, then each video's exact frame count."""
    from markerless.io.video import probe_video

    summary = summarize_project(config_path)
    yield "summary", summary
    for video in summary.videos:
        try:
            yield "frames", (str(video), probe_video(video).n_frames)
        except Exception as err:  # noqa: BLE001 - shown next to the video, not raised
            yield "frames", (str(video), f"unreadable: {err}")


def create_project(
    name: str, experimenter: str, videos: list[str], working_directory: str,
    bodyparts: list[str], skeleton: list[list[str]], copy_videos: bool = False,
    multianimal: bool = False, individuals: list[str] | None = None,
) -> str:
    """Worker body: :func:`markerless.create_new_project` plus the skeleton (probes videos)."""
    from markerless.io.config import read_config, write_config
    from markerless.project.create import create_new_project

    config = create_new_project(
        name, experimenter, videos, working_directory=working_directory or None,
        copy_videos=copy_videos, multianimal=multianimal, individuals=individuals or None,
        bodyparts=bodyparts or None,
    )
    if skeleton:
        cfg = read_config(config)
        cfg["skeleton"] = skeleton
        write_config(cfg, config)
    return config


def group_reader_output(layer_data: list[tuple]) -> list[list[tuple]]:
    """Split ``read_project`` output into per-folder [image?, points] groups.

    The reader's frames image carries no folder; it precedes its folder's points.
    """
    groups, pending = [], []
    for item in layer_data:
        pending.append(item)
        if item[2] == "points":
            groups.append(pending)
            pending = []
    return groups
