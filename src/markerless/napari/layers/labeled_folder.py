"""A labeled-data folder's layers: its frames (Image), keypoints (Points) and skeleton (Vectors).

The reader makes them (:func:`~markerless.napari.layers.reader.read_labeled_folder`);
these functions add them to a viewer, keep them together when frames are added
(points follow their image names), show one folder at a time and save keypoints.
They change layers, so they run on the main thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.napari.layers.convert import META_KEY
from markerless.napari.layers.lookup import (
    KIND_FRAMES,
    frames_layer,
    keypoint_layers,
    meta,
    meta_of_kwargs,
    points_layer_for,
    quiet,
    video_layers,
)

if TYPE_CHECKING:
    import napari


def add_layer_data(viewer: napari.Viewer, layer_data: list[tuple]) -> list:
    """Add reader output ``(data, kwargs, type)``; frames layers learn their folder."""
    from napari.layers import Layer

    added = []
    folder = next((meta_of_kwargs(kw).get("folder") for _, kw, kind in layer_data
                   if kind == "points"), None)
    for data, kwargs, kind in layer_data:
        kwargs = dict(kwargs)
        if kind == "image" and folder and meta_of_kwargs(kwargs).get("kind") == KIND_FRAMES:
            kwargs["metadata"] = {META_KEY: {**meta_of_kwargs(kwargs), "folder": folder}}
        added.append(viewer.add_layer(Layer.create(data, kwargs, kind)))
    return added


def remap_frames(
    frame_index: np.ndarray, old_frames: Sequence[Any], new_frames: Sequence[Any]
) -> np.ndarray:
    """New stack positions of points when the image list changes (frames added to a folder).

    Points follow their image *name*, never their old position (DeepLabCut #2628,
    napari-deeplabcut #139: labels shown on the wrong frames after new frames were
    extracted). Raises when an image that carries points is no longer in the list.
    """
    old_names = np.asarray([str(f) for f in old_frames], dtype=object)
    idx = np.rint(np.asarray(frame_index, float)).astype(int)
    names = old_names[idx] if len(idx) else np.zeros(0, dtype=object)
    new = pd.Index([str(f) for f in new_frames]).get_indexer(names)
    if (new < 0).any():
        lost = sorted(set(names[new < 0]))
        raise LabelFileError(f"Images with keypoints are no longer in the folder: {lost}")
    return new


def reload_folder(viewer: napari.Viewer, folder: str | Path, config: Any = None) -> list:
    """Show a labeled-data folder's current images; keep the (possibly unsaved) points.

    Frames added to the folder shift image positions: points follow their image
    name (:func:`remap_frames`). A folder not
    open yet is opened. Returns the layers added.
    """
    from markerless.napari.layers.reader import read_labeled_folder

    folder = Path(folder)
    layer_data = read_labeled_folder(folder, config=config)
    points = points_layer_for(viewer, folder)
    if points is None:
        return add_layer_data(viewer, layer_data)
    new_meta = next(meta_of_kwargs(kw) for _, kw, kind in layer_data if kind == "points")
    old_meta = meta(points)
    data = points.data.copy()
    data[:, 0] = remap_frames(data[:, 0], old_meta["frames"], new_meta["frames"])
    keep = {k: old_meta[k] for k in ("bodyparts", "individuals", "defined", "scorer",
                                     "labels_path") if k in old_meta}
    with quiet(points):
        points.metadata = {**points.metadata, META_KEY: {**new_meta, **keep}}
        points.data = data
    image = frames_layer(viewer, folder)
    new_image = next(((d, kw) for d, kw, kind in layer_data if kind == "image"), None)
    if image is not None and new_image is not None:
        image.data = new_image[0]
        image.metadata = {**image.metadata, META_KEY: {**meta(image), "folder": str(folder)}}
        return []
    if new_image is not None:
        added = add_layer_data(viewer, [(new_image[0], new_image[1], "image")])
        viewer.layers.move(viewer.layers.index(added[0]), viewer.layers.index(points))
        return added
    return []


def show_only_folder(viewer: napari.Viewer, layer: Any) -> None:
    """Show a folder's frames and keypoints; hide other folders' and videos (same frame axis)."""
    folder = meta(layer).get("folder")
    for video in video_layers(viewer):
        video.visible = False
    for other in keypoint_layers(viewer):
        other_folder = meta(other).get("folder")
        if other is layer or not other_folder or other_folder == folder:
            continue
        other.visible = False
        image = frames_layer(viewer, other_folder)
        if image is not None:
            image.visible = False
    image = frames_layer(viewer, folder) if folder else None
    if image is not None:
        image.visible = True
    layer.visible = True


def skeleton_layer(viewer: napari.Viewer, points: Any, vectors: Any, current: Any = None,
                   width: float = 1.5, color: str = "black", visible: bool = True) -> Any:
    """The Vectors layer drawing a keypoints layer's skeleton (made under the points once)."""
    from napari.layers import Vectors

    folder = meta(points).get("folder")
    if current is None or current not in viewer.layers:
        current = next((ly for ly in viewer.layers if meta(ly).get("kind") == "skeleton"
                        and meta(ly).get("folder") == folder), None)
    if current is not None:
        current.data = vectors
        return current
    layer = Vectors(vectors, name=f"skeleton {Path(folder or '').name}", edge_width=width,
                    edge_color=color, vector_style="line", opacity=0.8, visible=visible,
                    metadata={META_KEY: {"kind": "skeleton", "folder": folder}})
    viewer.layers.insert(viewer.layers.index(points), layer)  # under the points
    viewer.layers.selection.active = points
    return layer


def keypoints_for_image(viewer: napari.Viewer, image: Any, config: Path | None) -> Any:
    """The keypoints layer of an image layer's labeled-data folder, made from ``config``
    (the project's config.yaml, if known) when there is none yet.

    A stack opened by another reader is replaced by markerless' own, whose
    image order is the one the labels use.
    """
    from markerless.errors import ConfigError
    from markerless.io.config import read_config
    from markerless.napari.layers.reader import read_labeled_folder

    folder = meta(image).get("folder") if image is not None else None
    source = getattr(getattr(image, "source", None), "path", None)
    folder = folder or (source if source and Path(source).is_dir() else None)
    if folder is None:
        raise ConfigError("Select the image layer of a labeled-data folder first")
    existing = points_layer_for(viewer, folder)
    if existing is not None:
        return existing
    layer_data = read_labeled_folder(Path(folder), config=read_config(config) if config else None)
    index = viewer.layers.index(image)
    if meta(image).get("kind") != KIND_FRAMES:
        viewer.layers.remove(image)
    else:
        layer_data = [item for item in layer_data if item[2] == "points"]
    added = add_layer_data(viewer, layer_data)
    if meta(added[0]).get("kind") == KIND_FRAMES:
        viewer.layers.move(viewer.layers.index(added[0]), index)
    return added[-1]


def layer_config(layer: Any) -> tuple[Any, list[tuple[str, str]], str]:
    """(config, skeleton edges, problem) of the project above a keypoints layer ({} if none)."""
    from markerless.io.config import get_skeleton, read_config

    root = meta(layer).get("root")
    if not root or not (Path(root) / "config.yaml").is_file():
        return {}, [], ""
    try:
        config = read_config(Path(root) / "config.yaml")
    except Exception as err:  # noqa: BLE001 - labeling works without the config
        return {}, [], str(err)
    try:
        return config, get_skeleton(config), ""
    except Exception as err:  # noqa: BLE001 - or without a skeleton
        return config, [], str(err)


def save_keypoints(layer: Any, confirm: Callable[[str], bool]) -> Path | None:
    """Write a keypoints layer to its CollectedData .h5 + .csv; returns the .h5 path.

    When the save would drop labels on disk (:class:`~markerless.errors.DataLossError`),
    ``confirm(reason)`` decides; ``None`` means it said no and nothing was written.
    """
    from markerless.errors import DataLossError
    from markerless.io.dlc_labels import write_labels
    from markerless.napari.layers.convert import points_to_poses

    poses = points_to_poses(layer.data, layer.features, layer.metadata)
    poses.likelihood = None
    path = Path(meta(layer)["labels_path"])
    try:
        return Path(write_labels(poses, path))
    except DataLossError as err:
        if not confirm(str(err)):
            return None
        return Path(write_labels(poses, path, overwrite=True))
