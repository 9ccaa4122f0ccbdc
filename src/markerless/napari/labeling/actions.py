"""What the Labeling dock's keys do: keypoints, frames, modes, colours, confidence rims.

Each method is a key's action (see :mod:`.habits` for which key, per habits) and also
callable from code and tests. Frame moves go through napari's dims, so the frame
slider, the layers and the dock stay in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markerless.napari.labeling.confidence import is_machine_labels, mark_low_confidence
from markerless.napari.labeling.habits import MODES
from markerless.napari.layers.labeled_folder import layer_config


class ActionsMixin:
    """Key actions of :class:`~.dock.LabelingWidget` (which provides ``viewer``, ``layer``,
    ``state``, ``frame``, ``_go_to``, ``_show_keypoint``, ``_say`` and the widgets)."""

    viewer: Any
    layer: Any
    state: Any
    frame: int
    mode_combo: Any
    color_combo: Any
    confidence_check: Any
    _go_to: Callable[[int], None]
    _show_keypoint: Callable[[], None]
    _say: Callable[..., None]

    # --- keypoints ------------------------------------------------------------------
    def step_keypoint(self, delta: int) -> None:
        if self.state is not None:
            self.state.step(delta)
            self._show_keypoint()

    def prev_keypoint(self) -> None:
        self.step_keypoint(-1)

    def next_keypoint(self) -> None:
        self.step_keypoint(1)

    def next_unlabeled(self) -> None:
        """The next keypoint not placed: later on this frame (wrapping), else a later frame."""
        if self.state is not None:
            frame = self.state.next_unlabeled(self.frame)
            self._go_to(frame)
            self._show_keypoint()

    # --- frames ---------------------------------------------------------------------
    def _n_frames(self) -> int:
        return int(self.viewer.dims.nsteps[0]) if self.viewer.dims.ndim > 2 else 1

    def prev_frame(self) -> None:
        self._go_to(max(self.frame - 1, 0))

    def next_frame(self) -> None:
        self._go_to(min(self.frame + 1, self._n_frames() - 1))

    def _unlabeled_frame(self, direction: int) -> None:
        if self.state is None:
            return
        frame = self.state.next_unlabeled_frame(self.frame, direction)
        if frame is None:
            self._say("Every other frame has labels")
        else:
            self._go_to(frame)

    def prev_unlabeled_frame(self) -> None:
        self._unlabeled_frame(-1)

    def next_unlabeled_frame(self) -> None:
        self._unlabeled_frame(1)

    # --- modes and colours ----------------------------------------------------------------
    def cycle_mode(self) -> None:
        """SEQUENTIAL -> QUICK -> LOOP -> SEQUENTIAL (napari-deeplabcut's M)."""
        nxt = MODES[(MODES.index(self.mode_combo.currentText().lower()) + 1) % len(MODES)]
        self.mode_combo.setCurrentText(nxt.upper())
        self._say(f"Mode {nxt.upper()}")

    def cycle_colors(self) -> None:
        """Colour by bodypart <-> individual (napari-deeplabcut's F; multi-animal only)."""
        if self.state is None:
            return
        if [ind for ind, _ in self.state.keypoints[:1]] == [""]:
            self._say("One animal: coloured by bodypart")
            return
        self.color_combo.setCurrentIndex(1 - self.color_combo.currentIndex())

    # --- low-confidence machine labels -----------------------------------------------
    def toggle_confidence_edges(self) -> None:
        """Show or hide the red rim of machine labels below pcutoff (napari-deeplabcut's E)."""
        self.confidence_check.toggle()

    def _mark_machine_layers(self, layers: Any = None) -> None:
        on = self.confidence_check.isChecked()
        layers = [ly for ly in (self.viewer.layers if layers is None else layers)
                  if is_machine_labels(ly)]
        for layer in layers:
            config = layer_config(layer)[0] or {}
            pcutoff = float(config.get("pcutoff") or 0.6)
            low = mark_low_confidence(layer, pcutoff, on)
            if on:
                self._say(f"{layer.name}: {low} point(s) below pcutoff {pcutoff:g} (red rim)")
