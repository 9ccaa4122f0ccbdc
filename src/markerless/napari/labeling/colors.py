"""The Labeling dock's drawing: point colours (by bodypart or individual), legend, skeleton.

Colours come from the project's ``colormap`` (by bodypart) or ``tab10`` (by
individual) and are set through napari's colour cycle on the ``bodypart`` /
``individual`` feature, so new points take their colour as they are added.
The skeleton is a Vectors layer under the points, redrawn from the points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import QGridLayout, QLabel, QWidget

from markerless.napari.labeling.state import LabelingState, skeleton_vectors
from markerless.napari.layers.convert import bodypart_colors
from markerless.napari.layers.labeled_folder import skeleton_layer
from markerless.napari.layers.lookup import meta


def swatch(rgba: Sequence[float], size: int = 12) -> QIcon:
    """A small square of one colour (keypoint list rows, legend)."""
    pix = QPixmap(size, size)
    pix.fill(QColor.fromRgbF(*[float(c) for c in rgba[:3]], 1.0))
    return QIcon(pix)


class ColorLegend(QWidget):
    """Small grid of colour swatches and names (bodyparts or individuals)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.entries: dict[str, tuple[float, ...]] = {}

    def set_colors(self, colors: dict[str, Sequence[float]], columns: int = 3) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.entries = {k: tuple(float(c) for c in v) for k, v in colors.items()}
        for n, (name, rgba) in enumerate(self.entries.items()):
            label = QLabel()
            label.setPixmap(swatch(rgba).pixmap(12, 12))
            self.grid.addWidget(label, n // columns, 2 * (n % columns))
            self.grid.addWidget(QLabel(name or "(animal)"), n // columns, 2 * (n % columns) + 1)


class ColorsMixin:
    """Colours, legend and skeleton of :class:`~markerless.napari.labeling.dock.LabelingWidget`.

    The dock provides ``viewer``, ``layer``, ``state``, ``config``, ``edges``,
    ``skeleton_layer``, the widgets ``color_combo``, ``legend``, ``keypoint_list``
    and ``show_skeleton``, and ``_quietly`` (changes that are not the user's).
    """

    viewer: Any
    layer: Any
    state: LabelingState | None
    config: Any
    edges: list[tuple[str, str]]
    skeleton_layer: Any
    color_combo: Any
    legend: ColorLegend
    keypoint_list: Any
    show_skeleton: Any
    _quietly: Callable[[], AbstractContextManager[None]]

    def colors(self) -> dict[str, np.ndarray]:
        """Colour per bodypart (config colormap) or per individual (tab10)."""
        if self.state is None:
            return {}
        if self.color_combo.currentText() == "individual":
            return bodypart_colors(self.state.individuals, "tab10")
        cmap = str(self.config.get("colormap") or meta(self.layer).get("colormap") or "rainbow")
        return bodypart_colors(self.state.bodyparts, cmap)

    def _apply_colors(self) -> None:
        if self.layer is None:
            return
        by, colors = self.color_combo.currentText(), self.colors()
        with self._quietly():
            self.layer.face_color = by
            self.layer.face_color_cycle = {k: list(v) for k, v in colors.items()}
        self.legend.set_colors(colors)
        for row, (ind, bp) in enumerate(self.state.keypoints):
            color = colors[ind if by == "individual" else bp]
            self.keypoint_list.item(row).setIcon(swatch(color))

    def _update_skeleton(self) -> None:
        if self.layer is None or not self.edges:
            return
        kp = self.state.keypoint_index(self.layer.features, len(self.layer.data))
        vectors = skeleton_vectors(self.layer.data, kp, self.state, self.edges)
        self.skeleton_layer = skeleton_layer(
            self.viewer, self.layer, vectors, self.skeleton_layer,
            width=max(1.0, float(self.config.get("dotsize") or 12) / 8),
            color=str(self.config.get("skeleton_color") or "black"),
            visible=self.show_skeleton.isChecked())

    def _toggle_skeleton(self, on: bool) -> None:
        if self.skeleton_layer is not None and self.skeleton_layer in self.viewer.layers:
            self.skeleton_layer.visible = on
