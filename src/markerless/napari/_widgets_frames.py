"""Frame extraction dock: pick frames to label (k-means or uniform) or add the frame on screen.

Frames become ``labeled-data/<video stem>/img<index>.png`` (DeepLabCut's names)
through :func:`markerless.project.frames.extract_frames` and
:func:`~markerless.project.frames.write_frames`, which never overwrite an
existing image, so frames that carry labels are safe. Afterwards the folder's
layers are reloaded; points follow their image names, so unsaved labels stay
on their frames when new frames are inserted between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QComboBox,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from markerless.napari import _workers as wk

if TYPE_CHECKING:
    import napari

ALL_VIDEOS = "All project videos"


def project_videos(config_path: Path | None) -> list[Path]:
    """The project's videos (``video_sets``; a missing path falls back to ``videos/<name>``)."""
    if config_path is None:
        return []
    from markerless.io.config import read_config
    from markerless.project.videos import iter_project_videos

    root = config_path.parent
    return [v.path or root / v.display_path
            for v in iter_project_videos(read_config(config_path), root)]


def iter_extract(config: Path, videos: list[Path], algo: str, n: int) -> Iterator[tuple]:
    """Worker body: extract frames video by video, yielding (done, total, written paths)."""
    from markerless.project.frames import extract_frames

    for i, video in enumerate(videos):
        written = extract_frames(config, algo=algo, videos=[video], numframes2pick=n)
        yield i + 1, len(videos), video, [str(p) for p in written.get(str(video), [])]


def write_current_frame(video: Path, index: int, folder: Path) -> list[str]:
    """Worker body: save one video frame as a PNG (kept if it exists already)."""
    from markerless.project.frames import write_frames

    return [str(p) for p in write_frames(video, [index], folder)]


class FramesWidget(QWidget):
    """Extract frames from the project's videos, or add the frame shown in a video layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = wk.unwrap(napari_viewer)
        self.session = wk.session(self.viewer)
        self.video_combo = QComboBox(minimumContentsLength=18)
        self.video_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.open_video_button = wk.button("Open video", self.open_video)
        self.algo_combo = QComboBox()
        self.algo_combo.addItems(["kmeans", "uniform"])
        self.n_spin = QSpinBox(minimum=1, maximum=100000, value=20)
        self.extract_button = wk.button("Extract frames", self.extract)
        self.progress = QProgressBar(minimum=0, maximum=1, value=0)
        self.add_button = wk.button("Add the current frame", self.add_current_frame)
        self.add_button.setToolTip("Save the frame shown in the selected video layer into "
                                   "labeled-data/<video>/ (existing images are kept)")
        self.status = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(wk.form(QWidget(), [
            ("Video", wk.hbox(self.video_combo, self.open_video_button)),
            ("Algorithm", self.algo_combo), ("Frames per video", self.n_spin)]))
        for w in (self.extract_button, self.progress, self.add_button, self.status):
            layout.addWidget(w)
        layout.addStretch(1)
        wk.connect_alive(self, self.session.changed, self._on_project)
        wk.connect_alive(self, self.viewer.layers.events.inserted, self.refresh_videos)
        wk.connect_alive(self, self.viewer.layers.events.removed, self.refresh_videos)
        self._on_project()

    def set_config(self, config_path: str | Path) -> None:
        """Make ``config_path`` the viewer's project (``jupyter.add_docks``)."""
        self.session.set(config_path)

    def _on_project(self, *_: Any) -> None:
        """A new project: its videos, and its numframes2pick as the default count."""
        config = wk.find_config(self.viewer)
        if config is not None:
            from markerless.io.config import read_config

            self.n_spin.setValue(int(read_config(config).get("numframes2pick") or 20))
        self.refresh_videos()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #e05050" if error else "")

    def _fail(self, err: BaseException) -> None:
        self._set_busy(False)
        self._say(f"{type(err).__name__}: {err}", error=True)

    def _set_busy(self, on: bool) -> None:
        for button in (self.extract_button, self.add_button, self.open_video_button):
            button.setEnabled(not on)
        if on:
            self.progress.setRange(0, 0)  # busy indicator until the first video is done
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    # --- videos -------------------------------------------------------------
    def refresh_videos(self, *_: Any) -> None:
        """Fill the chooser with the project's videos and open video layers."""
        current = self.video_combo.currentData()
        config = wk.find_config(self.viewer)
        videos = project_videos(config) if config else []
        for layer in wk.video_layers(self.viewer):
            path = Path(wk.meta(layer)["video_path"])
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

    def open_video(self) -> None:
        """Open the chosen video as a lazy Image layer (the file is scanned in a worker)."""
        from markerless.napari._reader import read_video_layer

        open_ = {Path(wk.meta(ly)["video_path"]) for ly in wk.video_layers(self.viewer)}
        videos = [v for v in self._chosen_videos() if v not in open_]
        for video in videos:
            wk.start_worker(self, read_video_layer, video, on_error=self._fail,
                            on_done=lambda data: wk.add_layer_data(self.viewer, data))

    # --- extraction -----------------------------------------------------------
    def extract(self) -> None:
        """Run frame extraction on the chosen video(s) in a worker, then reload their folders."""
        config = wk.find_config(self.viewer)
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

        wk.start_worker(self, iter_extract, config, videos, self.algo_combo.currentText(),
                        self.n_spin.value(), on_yield=step, on_done=finished,
                        on_error=self._fail)

    def _reload(self, folder: Path, config: Path) -> None:
        from markerless.io.config import read_config

        if folder.is_dir() and any(folder.glob("*.png")):
            wk.reload_folder(self.viewer, folder, read_config(config))

    def _video_layer(self) -> Any | None:
        active = self.viewer.layers.selection.active
        if active is not None and wk.meta(active).get("kind") == wk.KIND_VIDEO:
            return active
        chosen = self.video_combo.currentData()
        layers = wk.video_layers(self.viewer)
        match = [ly for ly in layers if chosen and Path(wk.meta(ly)["video_path"]) == Path(chosen)]
        return (match or layers or [None])[0]

    def add_current_frame(self) -> None:
        """Save the frame on screen of the video layer as a PNG to label (in a worker)."""
        config = wk.find_config(self.viewer)
        layer = self._video_layer()
        if config is None or layer is None:
            self._say("Open a project and a video layer first", error=True)
            return
        video = Path(wk.meta(layer)["video_path"])
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
            for other in (wk.frames_layer(self.viewer, folder),
                          wk.points_layer_for(self.viewer, folder)):
                if other is not None:  # their frame axis is not the video's: out of the way
                    other.visible = False
            layer.visible = True
            self.viewer.layers.selection.active = layer
            if written:
                self.session.files_changed.emit()

        wk.start_worker(self, write_current_frame, video, index, folder, on_done=done,
                        on_error=self._fail)
