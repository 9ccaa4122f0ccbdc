"""Project dock: create or open a DeepLabCut-layout project, edit its settings, see what it holds.

Everything that reads videos or label files runs in a thread worker (frame
counts come from :func:`markerless.io.video.probe_video`, a packet scan), so
the window stays responsive on large projects. The Qt-free parts (form text,
the project scan, worker bodies) live in :mod:`.jobs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from markerless.napari.forms import StatusLine, button, form, group, hbox, reports_errors
from markerless.napari.layers.labeled_folder import add_layer_data
from markerless.napari.layers.lookup import meta_of_kwargs, points_layer_for
from markerless.napari.project.jobs import (
    ProjectSummary,
    create_project,
    format_skeleton,
    group_reader_output,
    iter_summary,
    parse_names,
    parse_skeleton,
)
from markerless.napari.session import connect_alive, session, unwrap
from markerless.napari.workers import start_worker

if TYPE_CHECKING:
    import napari

COLORMAPS = ["rainbow", "viridis", "plasma", "jet", "hsv", "tab10", "Set1", "cool", "summer"]

class ProjectWidget(QWidget):
    """Create/open a project, edit config.yaml's key fields, list its videos, labels and models."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = unwrap(napari_viewer)
        self.session = session(self.viewer)
        self.path_edit = QLineEdit(placeholderText="path/to/config.yaml")
        self.open_button = button("Open", lambda: self.open_project(self.path_edit.text()))
        self.new_toggle = QToolButton(text="New project…", checkable=True)
        self.new_toggle.toggled.connect(lambda on: self.new_box.setVisible(on))
        self.new_box = self._make_new_form()
        self.new_box.setVisible(False)
        self.settings_box = self._make_settings_form()
        self.tree = QTreeWidget(minimumHeight=160)
        self.tree.setHeaderLabels(["Item", "Details"])
        self.refresh_button = button("Refresh", self.refresh)
        self.view_button = button("Open labeled frames in viewer", self.open_in_viewer)
        self.status = StatusLine()
        layout = QVBoxLayout(self)
        layout.addWidget(group("Project", [
            hbox(self.path_edit, button("Browse…", self._browse_config), self.open_button),
            self.new_toggle, self.new_box]))
        layout.addWidget(self.settings_box)
        layout.addWidget(group("Contents", [
            self.tree, hbox(self.refresh_button, self.view_button)]))
        layout.addWidget(self.status)
        layout.addStretch(1)
        connect_alive(self, self.session.files_changed, self.refresh)
        connect_alive(self, self.session.models_changed, self.refresh)
        if self.session.config_path is not None:
            self.open_project(self.session.config_path, view=False)

    # --- forms ----------------------------------------------------------------
    def _make_new_form(self) -> QWidget:
        self.name_edit = QLineEdit(placeholderText="reaching")
        self.experimenter_edit = QLineEdit(placeholderText="alice")
        self.new_bodyparts = QLineEdit(placeholderText="snout, leftear, rightear, tailbase")
        self.new_skeleton = QLineEdit(placeholderText="snout-leftear; snout-rightear")
        self.videos_edit = QLineEdit(placeholderText="video files, separated by ;")
        self.workdir_edit = QLineEdit(placeholderText="working directory (default: current)")
        self.copy_check = QCheckBox("Copy videos into the project")
        self.multi_check = QCheckBox("Multi-animal")
        self.individuals_edit = QLineEdit(placeholderText="mouse1, mouse2")
        self.create_button = button("Create project", self.create)
        return form(QWidget(), [
            ("Name", self.name_edit), ("Experimenter", self.experimenter_edit),
            ("Bodyparts", self.new_bodyparts), ("Skeleton", self.new_skeleton),
            ("Videos", self.videos_edit), ("", button("Add videos…", self._browse_videos)),
            ("Folder", self.workdir_edit), ("", self.copy_check), ("", self.multi_check),
            ("Individuals", self.individuals_edit), ("", self.create_button)])

    def _make_settings_form(self) -> QGroupBox:
        self.bodyparts_edit = QLineEdit()
        self.skeleton_edit = QLineEdit()
        self.pcutoff_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.numframes_spin = QSpinBox(minimum=1, maximum=100000)
        self.fraction_edit = QLineEdit()
        self.colormap_combo = QComboBox(editable=True)
        self.colormap_combo.addItems(COLORMAPS)
        self.dotsize_spin = QSpinBox(minimum=1, maximum=200)
        self.save_button = button("Save config", self.save_settings)
        box = form(QGroupBox("Settings (config.yaml)"), [
            ("Bodyparts", self.bodyparts_edit), ("Skeleton", self.skeleton_edit),
            ("pcutoff", self.pcutoff_spin), ("Frames to pick", self.numframes_spin),
            ("Training fraction", self.fraction_edit), ("Colormap", self.colormap_combo),
            ("Dot size", self.dotsize_spin), ("", self.save_button)])
        box.setEnabled(False)
        return box

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "",
                                              "config.yaml (config.yaml)")
        if path:
            self.open_project(path)

    def _browse_videos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Videos", "", "Videos (*.mp4 *.avi *.mov *.mkv *.MP4 *.AVI *.MOV *.MKV)")
        if paths:
            old = [p for p in self.videos_edit.text().split(";") if p.strip()]
            self.videos_edit.setText(";".join(old + paths))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.say(text, error)

    def show_error(self, err: BaseException) -> None:
        """One line in the status (never a traceback)."""
        self.status.show_error(err)

    # --- actions --------------------------------------------------------------
    @reports_errors
    def create(self) -> None:
        """Create the project described by the 'New project' form (in a worker)."""
        videos = [v.strip() for v in self.videos_edit.text().split(";") if v.strip()]
        bodyparts = parse_names(self.new_bodyparts.text())
        args = {
            "name": self.name_edit.text().strip(),
            "experimenter": self.experimenter_edit.text().strip(),
            "videos": videos, "working_directory": self.workdir_edit.text().strip(),
            "bodyparts": bodyparts,
            "skeleton": parse_skeleton(self.new_skeleton.text(), bodyparts),
            "copy_videos": self.copy_check.isChecked(),
            "multianimal": self.multi_check.isChecked(),
            "individuals": parse_names(self.individuals_edit.text()),
        }
        self.create_button.setEnabled(False)
        self._say("Creating the project (reading the videos)…")

        def done(config: str) -> None:
            self.create_button.setEnabled(True)
            self.new_toggle.setChecked(False)
            self.open_project(config)

        start_worker(self, create_project, **args, on_done=done,
                     on_error=lambda e: (self.create_button.setEnabled(True), self.show_error(e)))

    def set_config(self, config_path: str | Path) -> None:
        """Point the dock at a project without opening layers (``jupyter.add_docks``)."""
        self.open_project(config_path, view=False)

    @reports_errors
    def open_project(self, config_path: str | Path, view: bool = True) -> bool:
        """Make ``config_path`` the viewer's project: fill the forms, list, show frames."""
        from markerless.io.config import read_config

        path = Path(str(config_path).strip()).expanduser()
        if path.is_dir():
            path = path / "config.yaml"
        try:
            cfg = read_config(path)
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self.show_error(err)
            return False
        self.path_edit.setText(str(path))
        self._fill_settings(cfg)
        self.session.set(path)
        self._say(f"Project {cfg.get('Task', '')} by {cfg.get('scorer', '')}: {path.parent}")
        self.refresh()
        if view:
            self.open_in_viewer()
        return True

    def _fill_settings(self, cfg: Any) -> None:
        from markerless.io.config import get_bodyparts

        self.bodyparts_edit.setText(", ".join(get_bodyparts(cfg)))
        self.skeleton_edit.setText(format_skeleton(cfg.get("skeleton")))
        self.pcutoff_spin.setValue(float(cfg.get("pcutoff") or 0.6))
        self.numframes_spin.setValue(int(cfg.get("numframes2pick") or 20))
        fractions = cfg.get("TrainingFraction") or [0.95]
        self.fraction_edit.setText(", ".join(str(f) for f in fractions))
        self.colormap_combo.setCurrentText(str(cfg.get("colormap") or "rainbow"))
        self.dotsize_spin.setValue(int(cfg.get("dotsize") or 12))
        self.settings_box.setEnabled(True)

    def save_settings(self) -> bool:
        """Write the settings form into config.yaml (comments and other keys are kept)."""
        from markerless.io.config import get_skeleton, is_multianimal, read_config, write_config

        path = self.session.config_path
        if path is None:
            self._say("Open or create a project first", error=True)
            return False
        try:
            cfg = read_config(path)
            bodyparts = parse_names(self.bodyparts_edit.text())
            cfg["multianimalbodyparts" if is_multianimal(cfg) else "bodyparts"] = bodyparts
            cfg["skeleton"] = parse_skeleton(self.skeleton_edit.text(), bodyparts)
            get_skeleton(cfg)  # every edge must name known bodyparts
            cfg["pcutoff"] = round(self.pcutoff_spin.value(), 4)
            cfg["numframes2pick"] = self.numframes_spin.value()
            cfg["TrainingFraction"] = [float(f) for f in parse_names(self.fraction_edit.text())]
            if not all(0 < f < 1 for f in cfg["TrainingFraction"]):
                raise ValueError("Training fractions must be in (0, 1): "
                                 f"{self.fraction_edit.text()}")
            cfg["colormap"] = self.colormap_combo.currentText().strip() or "rainbow"
            cfg["dotsize"] = self.dotsize_spin.value()
            write_config(cfg, path)
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self.show_error(err)
            return False
        self._say(f"Saved {path}")
        self.session.files_changed.emit()
        return True

    @reports_errors
    def refresh(self) -> None:
        """Re-scan the project's files (in a worker) and fill the contents tree."""
        path = self.session.config_path
        if path is None:
            return
        self.refresh_button.setEnabled(False)
        start_worker(self, iter_summary, path, on_yield=self._on_summary,
                     on_done=lambda _: self.refresh_button.setEnabled(True),
                     on_error=lambda e: (self.refresh_button.setEnabled(True), self.show_error(e)))

    def _on_summary(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "summary":
            self.summary = value
            self._fill_tree(value)
        elif kind == "frames":
            video, n = value
            for i in range(self._videos_item.childCount()):
                child = self._videos_item.child(i)
                if child.data(0, 256) == video:  # Qt.UserRole
                    child.setText(1, f"{n} frames" if isinstance(n, int) else str(n))

    def _fill_tree(self, s: ProjectSummary) -> None:
        self.tree.clear()

        def branch(title: str, rows: list[tuple[str, str, str]]) -> QTreeWidgetItem:
            top = QTreeWidgetItem(self.tree, [f"{title} ({len(rows)})", ""])
            for name, detail, key in rows:
                child = QTreeWidgetItem(top, [name, detail])
                child.setData(0, 256, key)
            top.setExpanded(True)
            return top

        self._videos_item = branch("Videos", [(v.name, "…" if v.exists() else "missing", str(v))
                                             for v in s.videos])
        branch("Labeled data", [(name, f"{n_img} images, "
                                + ("unreadable labels" if n_lab < 0 else f"{n_lab} labeled"), name)
                               for name, (n_img, n_lab) in s.labeled.items()])
        branch("Snapshots", [(Path(p).name, str(Path(p).parent), p) for p in s.snapshots])
        branch("Analysed videos", [(Path(p).name, "", p) for p in s.analysed])
        self.tree.setColumnWidth(0, 140)

    @reports_errors
    def open_in_viewer(self) -> None:
        """Add the project's labeled-data folders (frames + keypoints) not open yet.

        Read on the main thread: building the reader's image stack (dask
        ``from_delayed`` + ``stack``) while napari slices another dask array in
        parallel fails dask's deterministic tokenization (TokenizationError).
        Reading labels and one image per folder is quick.
        """
        from markerless.napari.layers.reader import read_project

        path = self.session.config_path
        if path is None:
            self._say("Open or create a project first", error=True)
            return
        try:
            groups = group_reader_output(read_project(path))
        except Exception as err:  # noqa: BLE001 - reported in the dock
            self.show_error(err)
            return
        for items in groups:
            folder = meta_of_kwargs(items[-1][1]).get("folder")
            if folder is None or points_layer_for(self.viewer, folder) is None:
                add_layer_data(self.viewer, items)
        self._say(f"Project {path.parent.name}: {len(groups)} labeled-data folders")

