"""The Training dock's figures: the live loss curve and the per-bodypart evaluation bars."""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QWidget

from markerless.napari.plots import BACKGROUND, FOREGROUND, GRID, PlotCanvas, style_axes


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
