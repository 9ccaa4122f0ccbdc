"""Analysis results as layers: the video, predictions (Points) and trajectories (Tracks).

Used by the Analysis and Refine docks and by the notebook API. Points sit on video
frame indices ``(frame, y, x)``; Tracks hold one track per individual x bodypart
``(track_id, frame, y, x)``; both use the project's bodypart colours. ``pcutoff``
hides predictions below it (Points ``shown``; Tracks are rebuilt without them).
These functions change layers, so they run on the main thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from markerless.napari.layers.convert import META_KEY, bodypart_colors, poses_to_points


@dataclass
class PredictionLayers:
    """The layers showing one analysis file, and the poses they were made from."""

    poses: Any
    points: Any
    tracks: Any
    image: Any = None


def _likelihood(poses: Any) -> np.ndarray:
    lik = poses.likelihood
    return np.ones(poses.xy.shape[:3]) if lik is None else np.nan_to_num(lik, nan=0.0)


def _frame_numbers(poses: Any) -> np.ndarray:
    """Video frame number of each row (rows are frames when the index is not numeric)."""
    try:
        return np.asarray([int(f) for f in poses.frames], dtype=float)
    except (TypeError, ValueError):
        return np.arange(poses.n_frames, dtype=float)


def bodypart_colormap(bodyparts: Sequence[str], colormap: str = "rainbow"):
    """A napari Colormap whose value ``k / (K - 1)`` is bodypart ``k``'s colour (as Points)."""
    from napari.utils.colormaps import Colormap

    colors = np.asarray(list(bodypart_colors(list(bodyparts), colormap).values()))
    if len(colors) == 1:
        colors = np.repeat(colors, 2, axis=0)
    return Colormap(colors=colors, controls=np.linspace(0, 1, len(colors)),
                    name=f"markerless-{colormap}-{len(colors)}")  # fmt: skip


def tracks_data(poses: Any, pcutoff: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Tracks ``(track_id, frame, y, x)`` of the points at or above ``pcutoff``, and features.

    Track ``i * K + k`` follows bodypart ``k`` of individual ``i``.
    """
    n_k = poses.xy.shape[2]
    ok = np.isfinite(poses.xy).all(-1) & (_likelihood(poses) >= pcutoff) & poses.defined[None]
    f, i, k = np.nonzero(ok)
    track = i * n_k + k
    order = np.lexsort((f, track))
    f, i, k, track = f[order], i[order], k[order], track[order]
    xy = poses.xy[f, i, k]
    data = np.column_stack([track, _frame_numbers(poses)[f], xy[:, 1], xy[:, 0]]).astype(float)
    features = {
        "bodypart_color": k / max(n_k - 1, 1),
        "bodypart_index": k.astype(float),
        "individual_index": i.astype(float),
        "likelihood": _likelihood(poses)[f, i, k],
    }
    return data, features


def _set_tracks(layer: Any, poses: Any, pcutoff: float) -> None:
    data, features = tracks_data(poses, pcutoff)
    if not len(data):  # napari cannot hold empty tracks: hide instead
        layer.visible = False
        return
    layer.color_by = "track_id"  # the old features go with the old data
    layer.data = data
    layer.features = features
    layer.color_by = "bodypart_color"
    layer.visible = True


def add_prediction_layers(
    viewer: Any,
    video: str | os.PathLike | None,
    analysis: str | os.PathLike,
    pcutoff: float = 0.6,
    colormap: str = "rainbow",
    size: float = 6.0,
) -> PredictionLayers:
    """Show an analysis file: video (Image), predictions (Points), trajectories (Tracks).

    Layers of the same file are updated rather than added twice; the video layer is
    reused when one for the same file is open.
    """
    from markerless.io.dlc_analysis import read_analysis
    from markerless.napari.layers.reader import read_video_layer

    analysis = Path(analysis)
    poses = read_analysis(analysis)
    image = None
    if video is not None:
        video = Path(video)
        image = next((ly for ly in viewer.layers
                      if (ly.metadata.get(META_KEY) or {}).get("video_path") == str(video)), None)
        if image is None:
            data, kwargs, _ = read_video_layer(video)[0]
            kwargs["name"] = f"{video.stem} video"  # apart from its labeled frames' layer
            image = viewer.add_image(data, **kwargs)
    extra = {"analysis_path": str(analysis), "video_path": None if video is None else str(video),
             "pcutoff": float(pcutoff)}  # fmt: skip
    data, kwargs = poses_to_points(poses, kind="analysis", colormap=colormap, pcutoff=pcutoff,
                                   extra_meta=extra, size=size)  # fmt: skip
    data[:, 0] = _frame_numbers(poses)[data[:, 0].astype(int)]
    if "shown" not in kwargs:
        kwargs["shown"] = np.ones(len(data), bool)
    name = analysis.stem
    kwargs["name"] = name
    _remove(viewer, name)
    _remove(viewer, f"{name} tracks")
    points = viewer.add_points(data, **kwargs)
    tdata, tfeatures = tracks_data(poses, pcutoff)
    cmap = bodypart_colormap(poses.bodyparts, colormap)
    empty = not len(tdata)
    if empty:  # napari cannot hold empty tracks: one hidden point, replaced later
        tdata = np.zeros((1, 4))
        tfeatures = {key: np.zeros(1) for key in tfeatures}
    tracks = viewer.add_tracks(
        tdata, features=tfeatures, color_by="bodypart_color",
        colormaps_dict={"bodypart_color": cmap}, name=f"{name} tracks",
        tail_length=min(60, max(poses.n_frames, 1)), tail_width=2, blending="translucent",
        metadata={META_KEY: {**extra, "kind": "tracks"}},
    )  # fmt: skip
    tracks.visible = not empty
    viewer.layers.selection.active = points
    return PredictionLayers(poses, points, tracks, image)


def _remove(viewer: Any, name: str) -> None:
    if name in viewer.layers:
        viewer.layers.remove(name)


def apply_pcutoff(layers: PredictionLayers, pcutoff: float, tracks: bool = True) -> None:
    """Hide predictions below ``pcutoff``: Points ``shown`` and (with ``tracks``) the Tracks
    data, which is rebuilt, so the dock does that once the slider rests."""
    lik = layers.points.features["likelihood"].to_numpy(dtype=float)
    layers.points.shown = np.nan_to_num(lik, nan=0.0) >= pcutoff
    layers.points.metadata[META_KEY]["pcutoff"] = float(pcutoff)
    if tracks:
        _set_tracks(layers.tracks, layers.poses, pcutoff)
