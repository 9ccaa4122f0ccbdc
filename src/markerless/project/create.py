"""Create a project folder laid out exactly like DeepLabCut's, so either tool opens it.

``create_new_project`` and ``add_new_videos`` keep DeepLabCut's names and leading
arguments: a DLC script runs after changing the import.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

from markerless.errors import ConfigError, VideoError
from markerless.io.config import default_config, read_config, write_config

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")
PROJECT_FOLDERS = ("videos", "labeled-data", "training-datasets", "dlc-models")


def _expand_videos(videos: Sequence[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """Video files from a list of files and/or folders (folders: every video inside)."""
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    out: list[Path] = []
    for item in videos:
        path = Path(item).expanduser().resolve()
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS))
        elif path.exists():
            out.append(path)
        else:
            raise VideoError("Video not found", path)
    return out


def _place_video(src: Path, video_dir: Path, copy: bool) -> Path:
    """Copy or symlink ``src`` into the project's videos/ folder (DLC does the same)."""
    dst = video_dir / src.name
    if dst.exists() or dst.is_symlink():
        return dst
    if copy:
        shutil.copy2(src, dst)
    else:
        try:
            dst.symlink_to(src)
        except OSError:  # e.g. Windows without symlink rights: fall back to the original path
            return src
    return dst


def _video_entry(path: Path) -> dict[str, str]:
    from markerless.io.video import probe_video

    info = probe_video(path)
    return {"crop": f"0, {info.width}, 0, {info.height}"}


def create_new_project(
    project: str,
    experimenter: str,
    videos: Sequence[str | os.PathLike] | str | os.PathLike,
    working_directory: str | os.PathLike | None = None,
    copy_videos: bool = False,
    videotype: str = "",
    multianimal: bool = False,
    individuals: Sequence[str] | None = None,
    bodyparts: Sequence[str] | None = None,
) -> str:
    """Create ``<project>-<experimenter>-<YYYY-MM-DD>/`` with config.yaml and DLC's folders.

    Parameters
    ----------
    project, experimenter
        Task name and scorer, as in DeepLabCut.
    videos
        Video files or folders holding videos (``videotype`` filters folders by extension).
    working_directory
        Where the project folder goes (default: the current directory).
    copy_videos
        Copy the videos into ``videos/``; otherwise symlink them (DeepLabCut's default).
    multianimal, individuals
        A multi-animal project (``bodyparts: MULTI!`` in config.yaml).
    bodyparts
        Keypoint names (default: DeepLabCut's placeholder ``bodypart1..3``, ``objectA``).

    Returns
    -------
    str
        Path of the new config.yaml.
    """
    if not project or not experimenter:
        raise ConfigError("project and experimenter must be non-empty strings")
    date = _dt.date.today().isoformat()
    wd = Path(working_directory or Path.cwd()).expanduser().resolve()
    project_path = wd / f"{project}-{experimenter}-{date}"
    config_path = project_path / "config.yaml"
    if config_path.exists():
        warnings.warn(f"Project {project_path} already exists; leaving it unchanged.",
                      stacklevel=2)
        return str(config_path)

    video_paths = _expand_videos(videos)
    if videotype:
        ext = videotype if videotype.startswith(".") else f".{videotype}"
        video_paths = [v for v in video_paths if v.suffix.lower() == ext.lower()]
    if not video_paths:
        raise VideoError("No videos found to add to the project", Path(str(videos)))
    # Probe before creating anything, so a bad video leaves no half-made project.
    entries = {v: _video_entry(v) for v in video_paths}

    for folder in PROJECT_FOLDERS:
        (project_path / folder).mkdir(parents=True, exist_ok=True)
    video_sets = {}
    for src, entry in entries.items():
        placed = _place_video(src, project_path / "videos", copy_videos)
        (project_path / "labeled-data" / src.stem).mkdir(exist_ok=True)
        video_sets[str(placed)] = entry

    cfg = default_config(
        task=project,
        scorer=experimenter,
        date=_dt.date.today().strftime("%b%d"),
        project_path=str(project_path),
        multianimal=multianimal,
        individuals=list(individuals) if individuals else None,
        bodyparts=list(bodyparts) if bodyparts else None,
    )
    cfg["video_sets"] = video_sets
    write_config(cfg, config_path)
    return str(config_path)


def _new_entries(entries: dict, video_sets, project_path: Path, config: Path) -> dict:
    """``entries`` without videos already in the project (warned); a different video with
    a name the project already uses is refused (their labeled-data folders would be one)."""
    from markerless.project.videos import iter_project_videos, video_stem

    known = {v.stem: v for v in iter_project_videos({"video_sets": video_sets}, project_path)}
    out, seen = {}, {}
    for src, entry in entries.items():
        stem = video_stem(src)
        old = known.get(stem)
        if old is not None:
            if old.path is not None and _same_file(old.path, Path(src)):
                warnings.warn(f"{src} is already in the project ({old.key}); not added again",
                              stacklevel=3)
                continue
            raise ConfigError(
                f"{config}: the project already has a video named {stem!r} ({old.key}); its "
                f"frames would share labeled-data/{stem} with {src}. Rename {Path(src).name} "
                "before adding it")
        if stem in seen:
            raise ConfigError(f"Two videos named {stem!r} given ({seen[stem]} and {src}); "
                              "rename one before adding them")
        seen[stem] = src
        out[src] = entry
    return out


def _same_file(a: Path, b: Path) -> bool:
    """The same file, or a copy of it (same size, same first and last 64 KiB)."""
    try:
        if a.samefile(b):
            return True
        size = a.stat().st_size
        if size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            if fa.read(65536) != fb.read(65536):
                return False
            fa.seek(max(0, size - 65536))
            fb.seek(max(0, size - 65536))
            return fa.read() == fb.read()
    except OSError:
        return False


def add_new_videos(
    config: str | os.PathLike,
    videos: Sequence[str | os.PathLike] | str | os.PathLike,
    copy_videos: bool = False,
    coords: Sequence[Sequence[int]] | None = None,
    extract_frames: bool = False,
) -> list[str]:
    """Add videos to an existing project (config.yaml ``video_sets`` and labeled-data folders).

    ``coords`` gives one crop ``(x1, x2, y1, y2)`` per video, as in DeepLabCut.
    ``extract_frames`` runs automatic frame extraction on the new videos.
    Returns the paths added to ``video_sets``.
    """
    config = Path(config)
    cfg = read_config(config)
    project_path = config.parent
    video_paths = _expand_videos(videos)
    if coords is not None and len(coords) != len(video_paths):
        raise ConfigError(
            f"{len(coords)} crop boxes given for {len(video_paths)} videos in {config}"
        )
    entries = {v: _video_entry(v) for v in video_paths}
    if coords is not None:
        for v, box in zip(video_paths, coords, strict=True):
            entries[v] = {"crop": ", ".join(str(int(c)) for c in box)}
    video_sets = cfg.get("video_sets") or {}
    entries = _new_entries(entries, video_sets, project_path, config)
    (project_path / "videos").mkdir(exist_ok=True)
    added = []
    for src, entry in entries.items():
        placed = _place_video(src, project_path / "videos", copy_videos)
        (project_path / "labeled-data" / src.stem).mkdir(parents=True, exist_ok=True)
        video_sets[str(placed)] = entry
        added.append(str(placed))
    cfg["video_sets"] = video_sets
    write_config(cfg, config)
    if extract_frames:
        from markerless.project.frames import extract_frames as _extract

        _extract(config, mode="automatic", userfeedback=False, videos=added)
    return added
