"""movement (``pip install 'markerless[movement]'``): our analysis files as its xarray Dataset.

movement reads DeepLabCut's analysis files itself (``load_poses.from_dlc_file``), so
`to_movement` only adds what the file lacks: the frame rate, taken from the analysis
metadata (``_meta.json``, written from the video) or, failing that, from the video.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from markerless.errors import ArgumentError, ConfigError

__all__ = ["analysis_fps", "to_movement"]


def analysis_fps(analysis_h5: str | os.PathLike, video: str | os.PathLike | None = None
                 ) -> float | None:
    """Frame rate of the video an analysis file was made from, or None when unknown."""
    from markerless.analysis.outputs import read_metadata

    meta = read_metadata(Path(analysis_h5).with_suffix(".h5")) or {}  # the .csv twin too
    if meta.get("fps"):
        return float(meta["fps"])
    video = video or meta.get("video")
    if video and Path(video).is_file():
        from markerless.io.video import probe_video

        return float(probe_video(video).fps)
    return None


def to_movement(analysis_h5: str | os.PathLike, fps: float | None = None,
                video: str | os.PathLike | None = None) -> Any:
    """movement's poses ``xarray.Dataset`` of a DeepLabCut/markerless analysis file.

    ``fps`` defaults to the video's (see `analysis_fps`); time is then in seconds, as
    movement does when given a rate, else in frames.
    """
    try:
        from movement.io import load_poses
    except ImportError as err:
        raise ConfigError("to_movement needs movement: pip install 'markerless[movement]'") \
            from err
    path = Path(analysis_h5)
    if not path.is_file():
        raise ArgumentError(f"analysis file {str(path)!r} not found")
    if fps is None:
        fps = analysis_fps(path, video)
    ds = load_poses.from_dlc_file(path, fps=fps)
    ds.attrs["markerless_analysis_file"] = str(path)
    return ds
