"""Which layer is which: the metadata markerless puts on its layers, and finding layers by it.

Every layer markerless makes carries ``layer.metadata["markerless"]`` (``META_KEY``)
with a ``kind`` (labels, frames, video, analysis, machine, skeleton, tracks...) and,
where it has one, the labeled-data ``folder`` or the ``video_path`` it shows.
Layers opened by other plugins have none, and :func:`meta` returns ``{}`` for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markerless.napari.layers.convert import META_KEY

if TYPE_CHECKING:
    import napari

KIND_LABELS = "labels"
KIND_FRAMES = "frames"
KIND_VIDEO = "video"


def meta(layer: Any) -> dict:
    """``layer.metadata['markerless']`` or ``{}`` for layers markerless did not make."""
    value = getattr(layer, "metadata", {}).get(META_KEY)
    return value if isinstance(value, dict) else {}


def is_keypoints(layer: Any) -> bool:
    """A Points layer of human labels (from the reader or the Labeling dock)."""
    from napari.layers import Points

    return isinstance(layer, Points) and meta(layer).get("kind") == KIND_LABELS


def keypoint_layers(viewer: napari.Viewer) -> list:
    """The viewer's keypoints layers (see :func:`is_keypoints`)."""
    return [ly for ly in viewer.layers if is_keypoints(ly)]


def video_layers(viewer: napari.Viewer) -> list:
    """The viewer's video Image layers (the lazy video reader's)."""
    return [ly for ly in viewer.layers if meta(ly).get("kind") == KIND_VIDEO]


def frames_layer(viewer: napari.Viewer, folder: str | Path) -> Any | None:
    """The Image layer of a labeled-data folder's PNGs (matched by folder, else by name)."""
    folder = Path(folder)
    from napari.layers import Image

    candidates = [ly for ly in viewer.layers
                  if isinstance(ly, Image) and meta(ly).get("kind") == KIND_FRAMES]
    for ly in candidates:
        if meta(ly).get("folder") and Path(meta(ly)["folder"]) == folder:
            return ly
    return next((ly for ly in candidates if ly.name == folder.name and not meta(ly).get("folder")),
                None)


def points_layer_for(viewer: napari.Viewer, folder: str | Path) -> Any | None:
    """The keypoints layer of a labeled-data folder, if one is open."""
    folder = Path(folder)
    return next((ly for ly in keypoint_layers(viewer)
                 if meta(ly).get("folder") and Path(meta(ly)["folder"]) == folder), None)


_QUIET: set[int] = set()


@contextmanager
def quiet(layer: Any) -> Iterator[None]:
    """Data changes made by a dock rather than the user (not 'unsaved changes')."""
    _QUIET.add(id(layer))
    try:
        yield
    finally:
        _QUIET.discard(id(layer))


def is_quiet(layer: Any) -> bool:
    return id(layer) in _QUIET


def meta_of_kwargs(kwargs: dict) -> dict:
    """The markerless metadata in a reader's ``(data, kwargs, type)`` layer kwargs."""
    return dict((kwargs.get("metadata") or {}).get(META_KEY) or {})
