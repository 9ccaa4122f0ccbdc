"""``LivePose``: pose of single frames for closed-loop experiments (DeepLabCut-Live's API).

Mirrors ``dlclive.DLCLive``: construct with an exported folder (``markerless.export_model``),
call ``init_inference(frame)`` once (it compiles), then ``get_pose(frame) -> (K, 3)`` per
camera frame; ``cropping``, ``dynamic``, ``resize`` and ``processor`` behave as there.
Differences: frames are RGB unless ``convert2rgb=True`` (DLC-Live assumes OpenCV's BGR),
coordinates map back with the pixel-centre convention of the rest of markerless, and the
dynamic crop box is a square with a sticky side from a short ladder (see
`markerless.live.cropping`), and follows the network's own pose (not the processor's output).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from markerless.errors import ArgumentError
from markerless.live.cropping import crop_box, next_side

__all__ = ["LivePose"]


def _resize(frame: np.ndarray, factor: float) -> np.ndarray:
    from PIL import Image

    h, w = frame.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR))


class LivePose:
    """Real-time single-frame inference with an exported model (``dlclive.DLCLive``'s API).

    Parameters
    ----------
    model_path
        An exported folder (``exported-models/<scorer>/``).
    backend
        ``"xla"`` (``model.stablehlo``; any frame size, so dynamic cropping works; a GPU
        when JAX has one) or ``"onnx"`` (``model.onnx`` with onnxruntime; frames of the
        exported size only, so no dynamic cropping).
    resize
        Factor applied to each (cropped) frame before the network, e.g. 0.5.
    cropping
        ``[x1, x2, y1, y2]``: analyse only that part of every frame.
    dynamic
        ``(on, threshold, margin)``: see `markerless.live.cropping`.
    processor
        Object with ``process(pose, **kwargs)`` and ``save(file)`` (DLC-Live's processors).
    convert2rgb
        Frames are BGR (OpenCV cameras): flip them to RGB.
    device
        ``"cpu"`` or ``"gpu"`` to choose JAX's device (default: JAX's default).
    """

    PARAMETERS = ("path", "cfg", "backend", "cropping", "dynamic", "resize", "processor")

    def __init__(
        self,
        model_path: str | os.PathLike,
        backend: str = "xla",
        resize: float | None = None,
        cropping: list[int] | None = None,
        dynamic: tuple[bool, float, int] = (False, 0.5, 10),
        processor: Any = None,
        convert2rgb: bool = False,
        device: str | None = None,
        **dlc_kwargs: Any,
    ):
        from markerless.export.runtime import BACKENDS, read_exported_cfg

        if backend not in BACKENDS:
            raise ArgumentError(f"backend must be one of {BACKENDS}, got {backend!r}")
        dlc_kwargs.pop("model_type", None)
        for key in ("precision", "tf_config", "display", "pcutoff", "display_radius",
                    "display_cmap"):
            if dlc_kwargs.pop(key, None) is not None and key == "display":
                warnings.warn("LivePose has no display window; ignored", stacklevel=2)
        if dlc_kwargs:
            raise ArgumentError(f"unknown LivePose option(s): {sorted(dlc_kwargs)}")
        dynamic = tuple(dynamic) if dynamic else (False, 0.5, 10)
        if len(dynamic) != 3:
            raise ArgumentError(f"dynamic must be (on, threshold, margin), got {dynamic!r}")
        if dynamic[0] and backend == "onnx":
            raise ArgumentError("dynamic cropping needs backend='xla': model.onnx takes "
                                "frames of one size only")
        if resize is not None and not float(resize) > 0:
            raise ArgumentError(f"resize must be a positive factor, got {resize!r}")
        if cropping is not None and len(cropping) != 4:
            raise ArgumentError(f"cropping must be [x1, x2, y1, y2], got {cropping!r}")
        self.path = str(model_path)
        self.cfg = read_exported_cfg(model_path)
        self.backend = backend
        self.resize = None if resize in (None, 1, 1.0) else float(resize)
        self.cropping = None if cropping is None else [int(v) for v in cropping]
        self.dynamic = (bool(dynamic[0]), float(dynamic[1]), int(dynamic[2]))
        self.dynamic_cropping: list[int] | None = None
        self.processor = processor
        self.convert2rgb = bool(convert2rgb)
        self._device = device
        self._model: Any = None
        self._net_pose: np.ndarray | None = None
        self._region_hw: tuple[int, int] = (0, 0)
        self._side: int | None = None  # last dynamic crop's side (kept while it fits)
        self._compiled_sides: set[int] = set()
        self.pose: np.ndarray | None = None
        self.is_initialized = False

    @property
    def parameterization(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self.PARAMETERS}

    @property
    def model(self) -> Any:
        """The `markerless.export.ExportedModel` (loaded on first use)."""
        if self._model is None:
            from markerless.export.runtime import ExportedModel

            self._model = ExportedModel(self.path, self.backend, device=self._device)
        return self._model

    # --- frames -----------------------------------------------------------------------------
    def _rgb(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            if np.issubdtype(frame.dtype, np.floating) and frame.size and frame.max() <= 1.0:
                frame = frame * 255.0
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        if frame.ndim == 2:
            frame = frame[..., None]
        if frame.ndim != 3 or frame.shape[-1] not in (1, 3, 4):
            raise ArgumentError(f"a frame must be (H, W), (H, W, 3) or (H, W, 4); got "
                                f"{frame.shape}")
        if frame.shape[-1] == 1:
            return np.repeat(frame, 3, axis=-1)
        frame = frame[..., :3]
        return frame[..., ::-1] if self.convert2rgb else frame

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        """Convert, crop (static, then dynamic) and resize a frame, as ``DLCLive`` does."""
        frame = self._rgb(frame)
        if self.cropping:
            x1, x2, y1, y2 = self.cropping
            frame = frame[y1:y2, x1:x2]
        self.dynamic_cropping = None
        if self.dynamic[0]:
            box = crop_box(self._net_pose, frame.shape[:2], self.dynamic[1], self.dynamic[2],
                           previous_side=self._side, compiled=self._compiled_sides)
            if box is not None:
                self._side = next_side(max(box[1] - box[0], box[3] - box[2]))
                self._compiled_sides.add(self._side)
                x1, x2, y1, y2 = box
                self.dynamic_cropping = [x1, x2, y1, y2]
                frame = frame[y1:y2, x1:x2]
        self._region_hw = frame.shape[:2]  # what the network sees, before any resize
        if self.resize is not None:
            frame = _resize(frame, self.resize)
        return np.ascontiguousarray(frame)

    def _to_frame(self, pose: np.ndarray, net_hw: tuple[int, int],
                  crop_hw: tuple[int, int]) -> np.ndarray:
        pose = np.array(pose, dtype=np.float64)
        if self.resize is not None:  # pixel centres at integers in both images
            sy, sx = net_hw[0] / crop_hw[0], net_hw[1] / crop_hw[1]
            pose[:, 0] = (pose[:, 0] + 0.5) / sx - 0.5
            pose[:, 1] = (pose[:, 1] + 0.5) / sy - 0.5
        if self.dynamic_cropping is not None:
            pose[:, 0] += self.dynamic_cropping[0]
            pose[:, 1] += self.dynamic_cropping[2]
        if self.cropping is not None:
            pose[:, 0] += self.cropping[0]
            pose[:, 1] += self.cropping[2]
        return pose

    # --- DLCLive's methods ------------------------------------------------------------------
    def init_inference(self, frame: np.ndarray | None = None, **kwargs: Any) -> np.ndarray | None:
        """Load and compile the model; with a frame, return its pose (the slow first call)."""
        model = self.model
        self.is_initialized = True
        if frame is None:
            return None
        net_in = self.process_frame(frame)
        model.warmup(net_in.shape[:2])
        self._net_pose = None
        pose = self.get_pose(frame, **kwargs)
        if self.dynamic[0]:
            self._warm_crops(frame)
        return pose

    def _warm_crops(self, frame: np.ndarray) -> None:
        """Compile the crop sides the first pose implies (that step of the ladder and its two
        neighbours), so the first cropped frames do not stall on an XLA compilation."""
        from markerless.live.cropping import neighbour_sides

        hw = self._rgb(frame).shape[:2]
        if self.cropping:
            x1, x2, y1, y2 = self.cropping
            hw = (min(hw[0], y2) - y1, min(hw[1], x2) - x1)
        box = crop_box(self._net_pose, hw, self.dynamic[1], self.dynamic[2])
        if box is None:
            return
        for side in neighbour_sides(next_side(max(box[1] - box[0], box[3] - box[2]))):
            shape = (min(hw[0], side), min(hw[1], side))
            if self.resize is not None:
                shape = (max(1, round(shape[0] * self.resize)),
                         max(1, round(shape[1] * self.resize)))
            self.model.warmup(shape)
            self._compiled_sides.add(side)

    def get_pose(self, frame: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """``(K, 3)`` [x, y, likelihood] of one frame, in that frame's pixels."""
        if frame is None:
            raise ArgumentError("get_pose needs a frame")
        self.is_initialized = True
        net_in = self.process_frame(frame)
        raw = self.model(net_in[None])[0]
        pose = self._to_frame(raw, net_in.shape[:2], self._region_hw)
        # the crop follows the network, in the (statically cropped) frame's pixels
        net_pose = pose.copy()
        if self.cropping is not None:
            net_pose[:, 0] -= self.cropping[0]
            net_pose[:, 1] -= self.cropping[2]
        self._net_pose = net_pose
        self.pose = pose
        if self.processor is not None:
            self.pose = self.processor.process(self.pose, **kwargs)
        return self.pose

    def close(self) -> None:
        """Release the model (DLCLive's ``close``); the next call loads it again."""
        self._model = None
        self.is_initialized = False

