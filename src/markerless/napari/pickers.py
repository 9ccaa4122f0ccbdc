"""The pickers at the top of the Training, Analysis and Refine docks: project and model.

:class:`ConfigPicker` is the project's config.yaml (kept on the viewer's project by
:func:`~markerless.napari.session.follow_project`). :class:`TrainingSetPicker` is the
training fraction: a DeepLabCut project trains one model per ``TrainingFraction`` x
shuffle (``...-trainset80shuffle1``, ``...-trainset95shuffle1``) and every DLC function
picks one with ``trainingsetindex``. With a single fraction it stays hidden, so those
docks look as they always did. The docks of one viewer share the choice through the
viewer's project session (as DeepLabCut's GUI shares it between its tabs).
"""

from __future__ import annotations

import os
from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)


class ConfigPicker(QWidget):
    """config.yaml path: a line edit and a Browse button; emits ``changed`` with the path."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("project config.yaml")
        self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text()))
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Project"))
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    @property
    def path(self) -> Path | None:
        text = self.edit.text().strip()
        if not text:
            return None
        path = Path(text)
        return path / "config.yaml" if path.is_dir() else path

    def set_path(self, path: str | os.PathLike | None) -> None:
        self.edit.setText("" if path is None else str(path))
        self.changed.emit(self.edit.text())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Project config.yaml", "",
                                              "config.yaml (*.yaml)")
        if path:
            self.set_path(path)


def training_fractions(config: str | os.PathLike) -> list[float]:
    """config.yaml ``TrainingFraction`` as floats (empty when it has none)."""
    from markerless.io.config import read_config

    return [float(f) for f in read_config(config).get("TrainingFraction") or []]


def fraction_label(fraction: float, index: int) -> str:
    """``"0.80 (index 0)"``: the fraction as people write it, and the index DLC's API takes."""
    text = f"{fraction:.2f}" if round(fraction, 2) == fraction else f"{fraction:g}"
    return f"{text} (index {index})"


class TrainingSetPicker(QWidget):
    """A combo box of the project's fractions and its form ``label``; emits ``changed``
    with the new training-set index. Both are hidden unless there are several fractions:
    add them with ``form.addRow(picker.label, picker)``."""

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip("Which model: one is trained per config.yaml TrainingFraction "
                              "(dlc-models/.../trainset<pct>shuffle<k>)")  # fmt: skip
        self.combo.currentIndexChanged.connect(lambda i: i >= 0 and self.changed.emit(i))
        self.label = QLabel("Training fraction", self)  # a form row takes it over
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        self._config: Path | None = None
        self.setVisible(False)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt's name)
        """Show or hide the label with the combo box (a form row hidden as a whole)."""
        super().setVisible(visible)
        self.label.setVisible(visible)

    @property
    def index(self) -> int:
        """The chosen ``trainingsetindex`` (0 when the project has no fractions)."""
        return max(self.combo.currentIndex(), 0)

    @property
    def fractions(self) -> list[float]:
        return [float(self.combo.itemData(i)) for i in range(self.combo.count())]

    def load(self, config: str | os.PathLike | None) -> None:
        """Offer ``config``'s fractions: the same choice when it is re-read (settings
        edited), index 0 for another project. Emits ``changed`` if the index moves."""
        path = None if config is None else Path(config)
        try:
            fractions = training_fractions(path) if path is not None and path.is_file() else []
        except Exception:  # noqa: BLE001 - a broken config: the dock reports it elsewhere
            fractions = []
        before = self.index
        keep = before if path == self._config and before < len(fractions) else 0
        self._config = path
        self.combo.blockSignals(True)
        self.combo.clear()
        for n, fraction in enumerate(fractions):
            self.combo.addItem(fraction_label(fraction, n), fraction)
        self.combo.setCurrentIndex(keep if fractions else -1)
        self.combo.blockSignals(False)
        self.setVisible(len(fractions) > 1)
        if self.index != before:
            self.changed.emit(self.index)

    def set_index(self, index: int) -> None:
        """Choose ``index`` when the project has it (another dock's choice)."""
        if 0 <= int(index) < self.combo.count():
            self.combo.setCurrentIndex(int(index))

