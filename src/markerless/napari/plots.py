"""matplotlib figures inside docks: a Qt canvas in napari's colours, a stack of named figures.

Figures are ``matplotlib.figure.Figure`` objects drawn by a ``FigureCanvasQTAgg``
(never pyplot: no global figure list, no second event loop). Everything here runs
on the main thread; workers only send numbers. The Training dock's loss curve and
evaluation bars are :mod:`markerless.napari.training.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QComboBox, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

#: napari's dark theme, so the plots sit in the dock without a white glare.
BACKGROUND = "#262930"
FOREGROUND = "#f0f1f2"
GRID = "#414851"


def style_axes(ax: Any) -> None:
    """Dark background, light text (napari's default theme)."""
    ax.set_facecolor(BACKGROUND)
    ax.figure.set_facecolor(BACKGROUND)
    for spine in ax.spines.values():
        spine.set_color(GRID)
    ax.tick_params(colors=FOREGROUND, labelsize=8)
    ax.xaxis.label.set_color(FOREGROUND)
    ax.yaxis.label.set_color(FOREGROUND)
    ax.title.set_color(FOREGROUND)
    ax.grid(True, color=GRID, lw=0.5)


class PlotCanvas(QWidget):
    """A matplotlib figure embedded in a widget; ``figure`` can be swapped."""

    def __init__(self, figure: Figure | None = None, height: float = 2.4,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._height = height
        self.canvas: FigureCanvasQTAgg | None = None
        self.set_figure(figure or Figure(figsize=(4, height), layout="constrained"))

    @property
    def figure(self) -> Figure:
        return self.canvas.figure

    def set_figure(self, figure: Figure) -> None:
        """Show ``figure`` (a new canvas: a matplotlib figure belongs to one canvas)."""
        canvas = FigureCanvasQTAgg(figure)
        canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        canvas.setMinimumHeight(int(self._height * 60))
        if self.canvas is not None:
            self._layout.removeWidget(self.canvas)
            self.canvas.deleteLater()
        self.canvas = canvas
        self._layout.addWidget(canvas)
        canvas.draw_idle()

    def draw(self) -> None:
        self.canvas.draw_idle()

    def to_array(self) -> np.ndarray:
        """The rendered figure as ``(H, W, 4)`` uint8 (draws synchronously)."""
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba()).copy()


class FigureStack(QWidget):
    """Several named figures (e.g. ``make_trajectory_figures``), one shown at a time."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox()
        self.stack = QStackedWidget()
        self.canvases: dict[str, PlotCanvas] = {}
        self.choice.currentIndexChanged.connect(self.stack.setCurrentIndex)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        layout.addWidget(self.stack, 1)

    def set_figures(self, figures: Mapping[str, Figure]) -> None:
        for canvas in self.canvases.values():
            self.stack.removeWidget(canvas)
            canvas.figure.clear()
            canvas.deleteLater()
        self.canvases = {}
        self.choice.blockSignals(True)
        self.choice.clear()
        for name, fig in figures.items():
            canvas = PlotCanvas(fig, height=3.0)
            self.canvases[name] = canvas
            self.stack.addWidget(canvas)
            self.choice.addItem(name)
        self.choice.blockSignals(False)
        if figures:
            self.choice.setCurrentIndex(0)
            self.stack.setCurrentIndex(0)
