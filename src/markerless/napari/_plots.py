"""matplotlib figures inside docks: a Qt canvas, the live loss curve, evaluation bars.

Figures are ``matplotlib.figure.Figure`` objects drawn by a ``FigureCanvasQTAgg``
(never pyplot: no global figure list, no second event loop). Everything here runs
on the main thread; workers only send numbers.
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


class LossPlot(PlotCanvas):
    """Training loss against step, appended to from the worker's progress reports."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(height=2.2, parent=parent)
        self.ax = self.figure.add_subplot()
        style_axes(self.ax)
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("loss")
        (self.line,) = self.ax.plot([], [], "-o", color="#5fa8ff", ms=2.5, lw=1.2)
        self._steps: list[float] = []
        self._losses: list[float] = []

    @property
    def steps(self) -> np.ndarray:
        return np.asarray(self._steps, dtype=float)

    @property
    def losses(self) -> np.ndarray:
        return np.asarray(self._losses, dtype=float)

    def reset(self) -> None:
        self._steps.clear()
        self._losses.clear()
        self._update()

    def add(self, step: float, loss: float) -> None:
        """Append one point; a step at or before the last one restarts the curve there
        (a resumed or restarted run)."""
        while self._steps and self._steps[-1] >= step:
            self._steps.pop()
            self._losses.pop()
        self._steps.append(float(step))
        self._losses.append(float(loss))
        self._update()

    def _update(self) -> None:
        self.line.set_data(self._steps, self._losses)
        values = np.asarray(self._losses, dtype=float)
        wide = values.size and (values > 0).all() and values.max() > 20 * values.min()
        self.ax.set_yscale("log" if wide else "linear")  # log only when the range is wide
        self.ax.relim()
        self.ax.autoscale_view()
        self.draw()


class EvaluationPlot(PlotCanvas):
    """Per-bodypart train/test pixel error as grouped bars (from evaluate_network's table)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(height=2.2, parent=parent)
        self.ax = self.figure.add_subplot()
        style_axes(self.ax)
        self.ax.set_ylabel("error (px)")
        self.bars: dict[str, np.ndarray] = {}

    def show_table(self, table: Any) -> None:
        """``table``: DataFrame indexed by (set, bodypart) with an ``error_px`` column."""
        self.ax.clear()
        style_axes(self.ax)
        self.bars = {}
        sets = [s for s in ("train", "test") if s in table.index.get_level_values(0)]
        if not sets:
            self.draw()
            return
        names = list(dict.fromkeys(table.loc[sets[0]].index))
        x = np.arange(len(names))
        width = 0.8 / len(sets)
        for n, (name, color) in enumerate(zip(sets, ("#5fa8ff", "#ffb347"), strict=False)):
            values = table.loc[name].reindex(names)["error_px"].to_numpy(dtype=float)
            self.ax.bar(x + (n - (len(sets) - 1) / 2) * width, values, width, label=name,
                        color=color)  # fmt: skip
            self.bars[name] = values
        self.ax.set_xticks(x, names, rotation=30, ha="right")
        self.ax.set_ylabel("error (px)")
        legend = self.ax.legend(fontsize=8, facecolor=BACKGROUND, edgecolor=GRID)
        for text in legend.get_texts():
            text.set_color(FOREGROUND)
        self.draw()


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
