"""Frame extraction dock: pick frames to label (k-means or uniform) or add the frame on screen.

Frames become ``labeled-data/<video stem>/img<index>.png`` (DeepLabCut's names)
through :func:`markerless.project.frames.extract_frames` and
:func:`~markerless.project.frames.write_frames`, which never overwrite an
existing image, so frames that carry labels are safe. Afterwards the folder's
layers are reloaded; points follow their image names, so unsaved labels stay
on their frames when new frames are inserted between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QComboBox,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from markerless.napari.forms import StatusLine, button, form, hbox, reports_errors
from markerless.napari.frames.jobs import iter_extract, write_current_frame
from markerless.napari.layers.labeled_folder import add_layer_data, reload_folder
from markerless.napari.layers.lookup import (
    KIND_VIDEO,
    frames_layer,
    meta,
    points_layer_for,
    video_layers,
)
from markerless.napari.project_files import listed_videos
from markerless.napari.session import connect_alive, find_config, session, unwrap
from markerless.napari.workers import start_worker

if TYPE_CHECKING:
    import napari

ALL_VIDEOS = "All project videos"


class FramesWidget(QWidget):
    """Extract frames from the project's videos, or add the frame shown in a video layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.session = session(self.viewer)
        self.video_combo = QComboBox(minimumContentsLength=18)
        self.video_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.open_video_button = button("Open video", self.open_video)
        self.algo_combo = QComboBox()
        self.algo_combo.addItems(["kmeans", "uniform"])
        self.n_spin = QSpinBox(minimum=1, maximum=100000, value=20)
        self.extract_button = button("Extract frames", self.extract)
        self.progress = QProgressBar(minimum=0, maximum=1, value=0)
        self.add_button = button("Add the current frame", self.add_current_frame)
        self.add_button.setToolTip("Save the frame shown in the selected video layer into "
                                   "labeled-data/<video>/ (existing images are kept)")
        self.status = StatusLine()
        layout = QVBoxLayout(self)
        layout.addWidget(form(QWidget(), [
            ("Video", hbox(self.video_combo, self.open_video_button)),
            ("Algorithm", self.algo_combo), ("Frames per video", self.n_spin)]))
        for w in (self.extract_button, self.progress, self.add_button, self.status):
            layout.addWidget(w)
        layout.addStretch(1)
        connect_alive(self, self.session.changed, self._on_project)
        connect_alive(self, self.viewer.layers.events.inserted, self.refresh_videos)
        connect_alive(self, self.viewer.layers.events.removed, self.refresh_videos)
        self._on_project()

    def set_config(self, config_path: str | Path) -> None:
        """Make ``config_path`` the viewer's project (``jupyter.add_docks``)."""
        self.session.set(config_path)

    @reports_errors
    def _on_project(self, *_: Any) -> None:
        """A new project: its videos, and its numframes2pick as the default count."""
        config = find_config(self.viewer)
        if config is not None:
            from markerless.io.config import read_config

            self.n_spin.setValue(int(read_config(config).get("numframes2pick") or 20))
        self.refresh_videos()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.say(text, error)

    def show_error(self, err: BaseException) -> None:
        """One line in the status (never a traceback); the buttons work again."""
        self._set_busy(False)
        self.status.show_error(err)

    def _set_busy(self, on: bool) -> None:
        for widget in (self.extract_button, self.add_button, self.open_video_button):
            widget.setEnabled(not on)
        if on:
            self.progress.setRange(0, 0)  # busy indicator until the first video is done
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    # --- videos -------------------------------------------------------------
    @reports_errors
    def refresh_videos(self, *_: Any) -> None:
        """Fill the chooser with the project's videos and open video layers."""
        current = self.video_combo.currentData()
        config = find_config(self.viewer)
        videos = listed_videos(config) if config else []
        for layer in video_layers(self.viewer):
            path = Path(meta(layer)["video_path"])
            if all(path.name != v.name for v in videos):
                videos.append(path)
        self.video_combo.blockSignals(True)
        self.video_combo.clear()
        if len(videos) > 1:
            self.video_combo.addItem(ALL_VIDEOS, None)
        for v in videos:
            self.video_combo.addItem(v.name, str(v))
        index = self.video_combo.findData(current)
        self.video_combo.setCurrentIndex(max(index, 0 if len(videos) <= 1 else 1))
        self.video_combo.blockSignals(False)

    def _chosen_videos(self) -> list[Path]:
        data = self.video_combo.currentData()
        if data is None:
            return [Path(self.video_combo.itemData(i)) for i in range(self.video_combo.count())
                    if self.video_combo.itemData(i)]
        return [Path(data)]

    @reports_errors
    def open_video(self) -> None:
        """Open the chosen video as a lazy Image layer (the file is scanned in a worker)."""
        from markerless.napari.layers.reader import read_video_layer

        open_ = {Path(meta(ly)["video_path"]) for ly in video_layers(self.viewer)}
        videos = [v for v in self._chosen_videos() if v not in open_]
        for video in videos:
            start_worker(self, read_video_layer, video, on_error=self.show_error,
                            on_done=lambda data: add_layer_data(self.viewer, data))

    # --- extraction -----------------------------------------------------------
    @reports_errors
    def extract(self) -> None:
        """Run frame extraction on the chosen video(s) in a worker, then reload their folders."""
        config = find_config(self.viewer)
        if config is None:
            self._say("Open or create a project first (Project dock)", error=True)
            return
        videos = self._chosen_videos()
        if not videos:
            self._say("The project has no videos", error=True)
            return
        self._set_busy(True)
        self._say(f"Extracting {self.n_spin.value()} frames from {len(videos)} video(s)…")
        self.written: list[str] = []

        def step(item: tuple) -> None:
            done, total, video, written = item
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.written += written
            self._reload(config.parent / "labeled-data" / Path(video).stem, config)

        def finished(_: Any) -> None:
            self._set_busy(False)
            self._say(f"Extracted {len(self.written)} new frames")
            self.session.files_changed.emit()

        start_worker(self, iter_extract, config, videos, self.algo_combo.currentText(),
                        self.n_spin.value(), on_yield=step, on_done=finished,
                        on_error=self.show_error)

    def _reload(self, folder: Path, config: Path) -> None:
        from markerless.io.config import read_config

        if folder.is_dir() and any(folder.glob("*.png")):
            reload_folder(self.viewer, folder, read_config(config))

    def _video_layer(self) -> Any | None:
        active = self.viewer.layers.selection.active
        if active is not None and meta(active).get("kind") == KIND_VIDEO:
            return active
        chosen = self.video_combo.currentData()
        layers = video_layers(self.viewer)
        match = [ly for ly in layers if chosen and Path(meta(ly)["video_path"]) == Path(chosen)]
        return (match or layers or [None])[0]

    @reports_errors
    def add_current_frame(self) -> None:
        """Save the frame on screen of the video layer as a PNG to label (in a worker)."""
        config = find_config(self.viewer)
        layer = self._video_layer()
        if config is None or layer is None:
            self._say("Open a project and a video layer first", error=True)
            return
        video = Path(meta(layer)["video_path"])
        index = int(round(layer.world_to_data(self.viewer.dims.point)[0]))
        index = min(max(index, 0), layer.data.shape[0] - 1)
        folder = config.parent / "labeled-data" / video.stem
        self._set_busy(True)

        def done(written: list[str]) -> None:
            self._set_busy(False)
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            from markerless.project.frames import frame_name

            name = frame_name(index, layer.data.shape[0])
            self._say(f"Added frame {index} as {name}" if written
                      else f"Frame {index} is already in {folder.name}/ ({name} kept)")
            self._reload(folder, config)
            for other in (frames_layer(self.viewer, folder),
                          points_layer_for(self.viewer, folder)):
                if other is not None:  # their frame axis is not the video's: out of the way
                    other.visible = False
            layer.visible = True
            self.viewer.layers.selection.active = layer
            if written:
                self.session.files_changed.emit()

        start_worker(self, write_current_frame, video, index, folder, on_done=done,
                        on_error=self.show_error)
