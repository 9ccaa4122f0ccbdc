"""Running an exported folder: `ExportedModel` (StableHLO through XLA, or onnxruntime).

Nothing here imports the network's code or Flax: the XLA backend deserialises
``model.stablehlo`` with `jax.export` and the ONNX backend needs onnxruntime only, so a
folder copied to another machine (or another lab) runs as it is.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, ModelError

__all__ = ["BACKENDS", "ExportedModel", "read_exported_cfg"]

BACKENDS = ("xla", "onnx")


def read_exported_cfg(folder: str | os.PathLike) -> dict[str, Any]:
    """``pose_cfg.yaml`` of an exported folder (ModelError when it is not one)."""
    from ruamel.yaml import YAML

    path = Path(folder)
    cfg_path = path / "pose_cfg.yaml" if path.is_dir() else path
    if not cfg_path.is_file():
        raise ModelError(f"{str(path)!r} is not an exported model folder (no pose_cfg.yaml); "
                         "make one with markerless.export_model")
    cfg = YAML(typ="safe", pure=True).load(cfg_path.read_text(encoding="utf-8")) or {}
    if cfg.get("format") != "markerless-exported-model":
        raise ModelError(f"{str(cfg_path)!r} was not written by markerless.export_model")
    return dict(cfg)


def _onnx_providers(device: str | None) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = ["CPUExecutionProvider"] if device == "cpu" else [
        "CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in wanted if p in available] or available


def _enable_compilation_cache() -> None:
    """Keep XLA's compiled programs on disk (markerless's cache folder) unless the user chose
    a folder: every frame or crop size compiles once per machine, not once per session,
    which matters for live experiments restarted many times."""
    import jax

    if jax.config.jax_compilation_cache_dir or os.environ.get("MARKERLESS_NO_XLA_CACHE"):
        return
    base = os.environ.get("MARKERLESS_CACHE")
    if not base:
        try:
            import platformdirs

            base = platformdirs.user_cache_dir("markerless")
        except ImportError:
            base = str(Path.home() / ".cache" / "markerless")
    try:
        folder = Path(base) / "xla"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))


class ExportedModel:
    """``ExportedModel(folder, backend)(frames uint8 (B, H, W, 3)) -> (B, K, 3)`` NumPy.

    ``backend="xla"`` runs ``model.stablehlo`` on JAX's default device (a GPU when there is
    one; ``device="cpu"`` forces the CPU) and compiles once per input shape (jit's cache);
    ``"onnx"`` runs ``model.onnx`` with onnxruntime (CUDA
    provider when installed). ``call_async`` returns the device array without waiting (XLA).
    """

    def __init__(self, folder: str | os.PathLike, backend: str = "xla",
                 device: str | None = None):
        if backend not in BACKENDS:
            raise ArgumentError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.folder = Path(folder)
        self.cfg = read_exported_cfg(self.folder)
        self.backend = backend
        self.bodyparts = list(self.cfg["bodyparts"])
        self.individuals = list(self.cfg.get("individuals") or [""])
        self.frame_size = tuple(self.cfg["input"]["frame_size"] or ()) or None
        self.any_size = bool(self.cfg["input"].get("stablehlo_any_frame_size", False))
        name = self.cfg["files"].get("stablehlo" if backend == "xla" else "onnx")
        if name is None or not (self.folder / name).is_file():
            raise ModelError(f"{str(self.folder)!r} has no {backend} model file; export it "
                             f"with formats=('{'stablehlo' if backend == 'xla' else 'onnx'}',)")
        self.path = self.folder / name
        if backend == "xla":
            self._init_xla(device)
        else:
            self._init_onnx(device)

    # --- backends ---------------------------------------------------------------------------
    def _init_xla(self, device: str | None) -> None:
        import jax
        from jax import export as jax_export

        _enable_compilation_cache()
        try:
            self._exported = jax_export.deserialize(bytearray(self.path.read_bytes()))
        except Exception as err:  # noqa: BLE001 - report any unreadable file the same way
            raise ModelError(f"{str(self.path)!r} is not a readable StableHLO export: "
                             f"{err}") from err
        self._device = jax.devices(device)[0] if device else jax.devices()[0]
        platform = self._device.platform
        platforms = tuple(self._exported.platforms)
        if platform not in platforms and not (platform == "gpu" and "cuda" in platforms):
            raise ModelError(f"{str(self.path)!r} was exported for {list(platforms)}, not "
                             f"for this {platform} device")
        self._fn = jax.jit(self._exported.call)
        self.device = f"{platform}:{self._device.device_kind}"

    def _init_onnx(self, device: str | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ModelError("the ONNX backend needs onnxruntime: pip install "
                             "'markerless[export]'") from err
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.path), opts,
                                             providers=_onnx_providers(device))
        self._input = self._session.get_inputs()[0].name
        self.device = "onnx:" + self._session.get_providers()[0]

    # --- calls ------------------------------------------------------------------------------
    def _check(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ArgumentError(f"frames must be (B, H, W, 3) RGB, got shape {frames.shape}")
        if frames.dtype != np.uint8:
            raise ArgumentError(f"frames must be uint8, got {frames.dtype}")
        fixed = self.backend == "onnx" or not self.any_size
        if fixed and self.frame_size and tuple(frames.shape[1:3]) != tuple(self.frame_size):
            raise ArgumentError(
                f"{self.path.name} takes {self.frame_size[0]}x{self.frame_size[1]} frames "
                f"(height x width), got {frames.shape[1]}x{frames.shape[2]}"
                + ("; the XLA backend takes any size" if self.any_size else ""))
        return frames

    def call_async(self, frames: np.ndarray) -> Any:
        """Dispatch one batch; ``np.asarray`` on the result waits (XLA) or is immediate."""
        frames = self._check(frames)
        if self.backend == "onnx":
            return self._session.run(None, {self._input: frames})[0]
        import jax

        return self._fn(jax.device_put(frames, self._device))

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(self.call_async(frames), dtype=np.float32)

    def warmup(self, frame_hw: tuple[int, int], batch_size: int = 1) -> None:
        """Compile (XLA) or plan (ONNX) for one input shape before the first real frame."""
        self(np.zeros((batch_size, *frame_hw, 3), np.uint8))

    def fingerprint(self) -> str:
        """Hash of the model file: what resuming an analysis must not change."""
        digest = hashlib.blake2b(digest_size=12)
        digest.update(self.path.read_bytes())
        return digest.hexdigest()
