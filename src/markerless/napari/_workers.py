"""What the docks share: background workers, the viewer's current project, layer helpers.

Workers never touch layers or widgets (napari's threading guide; STYLE.md §8):
they return or yield plain data, and the callbacks given to :func:`start_worker`
run on the main thread, where layers are changed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from markerless.napari.convert import META_KEY

if TYPE_CHECKING:
    import napari

KIND_LABELS = "labels"
KIND_FRAMES = "frames"
KIND_VIDEO = "video"


# --- background work ----------------------------------------------------------
def start_worker(
    owner: Any,
    func: Callable[..., Any],
    *args: Any,
    on_yield: Callable[[Any], None] | None = None,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    **kwargs: Any,
):
    """Run ``func(*args, **kwargs)`` in a napari thread worker (a generator may yield progress).

    The worker is kept on ``owner._workers`` until it finishes, so it is not
    garbage-collected mid-run and :func:`busy` can tell the dock is working.
    """
    from napari.qt.threading import create_worker
    from qtpy.compat import isalive

    worker = create_worker(func, *args, _start_thread=False, **kwargs)
    running = owner.__dict__.setdefault("_workers", [])
    running.append(worker)
    for signal, slot in (("yielded", on_yield), ("returned", on_done), ("errored", on_error)):
        if slot is not None and hasattr(worker, signal):  # a closed dock gets no callbacks
            getattr(worker, signal).connect(
                lambda value, slot=slot: slot(value) if isalive(owner) else None)
    worker.finished.connect(lambda: running.remove(worker) if worker in running else None)
    if hasattr(worker, "quit"):  # a generator stops at its next yield when the dock closes
        owner.destroyed.connect(lambda *_: worker.quit())
    worker.start()
    return worker


def busy(owner: Any) -> bool:
    """True while one of ``owner``'s workers is running."""
    return bool(owner.__dict__.get("_workers"))


def connect_alive(widget: Any, signal: Any, slot: Callable[..., Any]) -> None:
    """Connect ``slot`` (a method of ``widget``) to a psygnal/napari signal until the
    widget is deleted: a closed dock must not break the docks still open."""
    signal.connect(slot)

    def drop(*_: Any) -> None:
        with suppress(Exception):  # already disconnected
            signal.disconnect(slot)

    widget.destroyed.connect(drop)


# --- small Qt builders ---------------------------------------------------------
def button(text: str, slot: Callable[..., Any]):
    from qtpy.QtWidgets import QPushButton

    b = QPushButton(text)
    b.clicked.connect(slot)
    return b


def hbox(*widgets: Any):
    """A row of widgets (strings become labels)."""
    from qtpy.QtWidgets import QHBoxLayout, QLabel, QWidget

    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(QLabel(w) if isinstance(w, str) else w)
    return row


def group(title: str, widgets: list):
    from qtpy.QtWidgets import QGroupBox, QVBoxLayout

    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box


def form(container: Any, rows: list[tuple[str, Any]]):
    """``container`` with a QFormLayout of (label, widget) rows."""
    from qtpy.QtWidgets import QFormLayout

    layout = QFormLayout(container)
    for label, w in rows:
        layout.addRow(label, w)
    return container


# --- the viewer's project -----------------------------------------------------
class ProjectSession:
    """The project (config.yaml) the docks of one viewer work on."""

    changed = Signal(object)  # the new config path (or None)
    files_changed = Signal()  # labels saved or frames extracted: summaries are stale
    trainingset_changed = Signal(int)  # the TrainingFraction index the model docks use
    models_changed = Signal()  # a training run ended: snapshot lists are stale

    def __init__(self) -> None:
        self.config_path: Path | None = None
        self.trainingsetindex = 0

    def set(self, config_path: str | Path | None) -> None:
        path = None if config_path is None else Path(config_path)
        if path is not None and path.is_dir():
            path = path / "config.yaml"
        if path != self.config_path:
            self.config_path = path
            self.trainingsetindex = 0  # another project starts on its first fraction
            self.changed.emit(path)

    def set_trainingsetindex(self, index: int) -> None:
        if int(index) != self.trainingsetindex:
            self.trainingsetindex = int(index)
            self.trainingset_changed.emit(self.trainingsetindex)


_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unwrap(viewer: Any) -> Any:
    """The viewer behind napari's PublicOnlyProxy (plugin docks get a proxy).

    Layers reached through the proxy are proxies too, so identity checks
    (``layer is self.layer``) and weak sets would mix proxies and layers.
    """
    return getattr(viewer, "__wrapped__", viewer)


def session(viewer: napari.Viewer) -> ProjectSession:
    """The viewer's :class:`ProjectSession` (made on first use; dies with the viewer)."""
    viewer = unwrap(viewer)
    if viewer not in _SESSIONS:
        _SESSIONS[viewer] = ProjectSession()
    return _SESSIONS[viewer]


def find_config(viewer: napari.Viewer) -> Path | None:
    """The project's config.yaml: the session's, else the one above an open labeled-data layer."""
    current = session(viewer).config_path
    if current is not None:
        return current
    for layer in viewer.layers:
        info = meta(layer)
        candidates = [Path(info["root"]) if info.get("root") else None,
                      Path(info["video_path"]).parent.parent if info.get("video_path") else None]
        for root in candidates:  # labeled-data/<video>/.. or <project>/videos/<video>
            if root is not None and (root / "config.yaml").is_file():
                return root / "config.yaml"
    return None


# --- layers -----------------------------------------------------------------
def meta(layer: Any) -> dict:
    """``layer.metadata['markerless']`` or ``{}`` for layers markerless did not make."""
    value = getattr(layer, "metadata", {}).get(META_KEY)
    return value if isinstance(value, dict) else {}


def is_keypoints(layer: Any) -> bool:
    """A Points layer of human labels (from the reader or the Labeling dock)."""
    from napari.layers import Points

    return isinstance(layer, Points) and meta(layer).get("kind") == KIND_LABELS


def keypoint_layers(viewer: napari.Viewer) -> list:
    return [ly for ly in viewer.layers if is_keypoints(ly)]


def video_layers(viewer: napari.Viewer) -> list:
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


def meta_of_kwargs(kwargs: dict) -> dict:
    return dict((kwargs.get("metadata") or {}).get(META_KEY) or {})


def reload_folder(viewer: napari.Viewer, folder: str | Path, config: Any = None) -> list:
    """Show a labeled-data folder's current images; keep the (possibly unsaved) points.

    Frames added to the folder shift image positions: points follow their image
    name (:func:`~markerless.napari._labeling_state.remap_frames`). A folder not
    open yet is opened. Returns the layers added.
    """
    from markerless.napari._labeling_state import remap_frames
    from markerless.napari._reader import read_labeled_folder

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


def keypoints_for_image(viewer: napari.Viewer, image: Any) -> Any:
    """The keypoints layer of an image layer's labeled-data folder, made from config if needed.

    A stack opened by another reader is replaced by markerless' own, whose
    image order is the one the labels use.
    """
    from markerless.errors import ConfigError
    from markerless.io.config import read_config
    from markerless.napari._reader import read_labeled_folder

    folder = meta(image).get("folder") if image is not None else None
    source = getattr(getattr(image, "source", None), "path", None)
    folder = folder or (source if source and Path(source).is_dir() else None)
    if folder is None:
        raise ConfigError("Select the image layer of a labeled-data folder first")
    existing = points_layer_for(viewer, folder)
    if existing is not None:
        return existing
    config = find_config(viewer)
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
    from markerless.napari.convert import points_to_poses

    poses = points_to_poses(layer.data, layer.features, layer.metadata)
    poses.likelihood = None
    path = Path(meta(layer)["labels_path"])
    try:
        return Path(write_labels(poses, path))
    except DataLossError as err:
        if not confirm(str(err)):
            return None
        return Path(write_labels(poses, path, overwrite=True))
