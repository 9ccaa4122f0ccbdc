"""The one jitted function of video analysis: uint8 frames in, keypoint coordinates out.

Why fused: normalisation, the network and scoremap decoding run inside a single
``jax.jit`` so that only ``(B, K, 3)`` coordinates ever leave the device. The
scoremaps (``B x h x w x K`` floats, tens of MB per batch) are never copied to
the host, and XLA fuses the argmax into the last layer of the head. The model
parameters are an *argument* of the jitted function (not closed-over
constants), so compilation stays fast and one compiled executable serves any
model of the same architecture.

Geometry: frames are optionally cropped (``crop = (x1, x2, y1, y2)``, DLC's
config convention, applied on the host before the transfer so fewer bytes
move), then resized by ``scale`` and padded (edge pixels repeated) inside the jit. Decoded
coordinates are mapped back to full-frame pixels (DLC convention: pixel
centres at integer coordinates), so callers never see network-input coordinates.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FusedPredictor",
    "cached_predictor",
    "Geometry",
    "ModelPayload",
    "info_get",
    "network_input_hw",
]


def info_get(info: Any, key: str, default: Any = None) -> Any:
    """Read ``key`` from a model-info mapping or attribute object (both are accepted)."""
    if isinstance(info, Mapping):
        return info.get(key, default)
    return getattr(info, key, default)


def network_input_hw(frame_hw: tuple[int, int], scale: float = 1.0) -> tuple[int, int]:
    """Frame (height, width) after resizing by ``scale`` (the training images' rounding)."""
    h, w = frame_hw
    if scale == 1.0:
        return h, w
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return max(1, round(h * scale)), max(1, round(w * scale))


@dataclass(frozen=True)
class Geometry:
    """Everything about the input that shapes the compiled function (hashable).

    ``frame_hw`` is the (cropped) frame size fed to the predictor, ``offset_xy``
    the crop origin in the full frame, ``scale`` the resize factor before the
    network (the model's ``global_scale`` times the user's ``downscale``) and
    ``pad_multiple`` the size the resized frame is padded to (edge pixels repeated) (bottom/right),
    as the training and evaluation code do.
    """

    frame_hw: tuple[int, int]
    offset_xy: tuple[int, int] = (0, 0)
    scale: float = 1.0
    pad_multiple: int = 32
    stride: float = 8.0
    locref_stdev: float = 7.2801
    net_type: str = "resnet18"

    @property
    def net_hw(self) -> tuple[int, int]:
        """Network input size (after resize and padding)."""
        h, w = network_input_hw(self.frame_hw, self.scale)
        m = max(1, int(self.pad_multiple))
        return h + (-h % m), w + (-w % m)


@dataclass
class ModelPayload:
    """A picklable model: nnx graph definition + parameters as NumPy arrays.

    Why: dask ships this to each worker once (``client.scatter``); a worker
    rebuilds the module with ``nnx.merge`` without the project on its disk.
    """

    graphdef: Any
    state: Any

    @classmethod
    def from_model(cls, model: Any) -> ModelPayload:
        from flax import nnx

        _set_eval(model)
        graphdef, state = nnx.split(model)
        return cls(graphdef, jax.tree.map(np.asarray, state))

    def to_model(self) -> Any:
        from flax import nnx

        return nnx.merge(self.graphdef, self.state)


def _set_eval(model: Any) -> None:
    """Inference mode (BatchNorm running statistics, no dropout) when the model has one."""
    fn = getattr(model, "eval", None)
    if callable(fn):
        fn()


def _to_frame_coords(coords: jax.Array, geom: Geometry) -> jax.Array:
    """Network-input pixels -> full-frame pixels.

    Pixel centres sit at integers in both frames, so a resize by ``s`` maps
    ``x' = (x + 0.5) * s - 0.5`` (how the training labels were scaled); this
    inverts it, then adds the crop origin.
    """
    xy = coords[..., :2]
    if geom.scale != 1.0:
        xy = (xy + 0.5) / geom.scale - 0.5
    if geom.offset_xy != (0, 0):
        xy = xy + jnp.asarray(geom.offset_xy, jnp.float32)
    return jnp.concatenate([xy, coords[..., 2:]], axis=-1)


def _forward(graphdef: Any, state: Any, frames: jax.Array, geom: Geometry) -> tuple[Any, Any]:
    """Resize, pad, normalise and run the network: returns (scoremap logits, locref).

    Same preprocessing as ``markerless.training.snapshots.Predictor`` (the
    evaluation path), so analysis and evaluation agree on the same frame.
    """
    from flax import nnx

    from markerless.model import normalize_images, pad_input

    x = frames.astype(jnp.float32)
    b, c = x.shape[0], x.shape[-1]
    sh, sw = network_input_hw(geom.frame_hw, geom.scale)
    if (sh, sw) != geom.frame_hw:
        x = jax.image.resize(x, (b, sh, sw, c), method="linear", antialias=True)
    x = pad_input(x, *geom.net_hw)  # edge padding: the network never saw black bands
    model = nnx.merge(graphdef, state)
    return model(normalize_images(x, geom.net_type))


def _fused(graphdef: Any, geom: Geometry, state: Any, frames: jax.Array) -> jax.Array:
    from markerless.decoding import decode_logits

    logits, locref = _forward(graphdef, state, frames, geom)
    valid = network_input_hw(geom.frame_hw, geom.scale)
    coords = decode_logits(logits, locref, geom.stride, geom.locref_stdev,
                           valid_hw=None if valid == geom.net_hw else valid)
    return _to_frame_coords(coords.astype(jnp.float32), geom)


def _network_only(graphdef: Any, geom: Geometry, state: Any, frames: jax.Array) -> Any:
    return _forward(graphdef, state, frames, geom)


class FusedPredictor:
    """``predictor(frames_uint8 (B, h, w, 3)) -> (B, K, 3)`` device array of [x, y, likelihood].

    Calls are asynchronous (JAX dispatch): the host may prepare the next batch
    while the device computes; ``np.asarray`` on the result waits for it.
    Compiles once per batch shape, so callers pad the last batch.
    """

    def __init__(self, model: Any, geometry: Geometry):
        from flax import nnx

        _set_eval(model)
        self.geometry = geometry
        graphdef, state = nnx.split(model)
        self._state = jax.device_put(state)
        # nnx graph definitions are not hashable (static dict attributes), so they are
        # bound here rather than passed as static arguments: one executable per predictor.
        self._fused = jax.jit(functools.partial(_fused, graphdef, geometry))
        self._network = jax.jit(functools.partial(_network_only, graphdef, geometry))

    @classmethod
    def from_payload(cls, payload: ModelPayload, geometry: Geometry) -> FusedPredictor:
        return cls(payload.to_model(), geometry)

    def __call__(self, frames: np.ndarray | jax.Array) -> jax.Array:
        return self._fused(self._state, frames)

    def network(self, frames: np.ndarray | jax.Array) -> Any:
        """The network alone (normalisation + forward pass, no decoding): for benchmarks."""
        return self._network(self._state, frames)

    def lowered(self, batch_size: int) -> Callable[..., Any]:
        """AOT-compile for a fixed batch size (so the first real batch pays no compile time)."""
        h, w = self.geometry.frame_hw
        spec = jax.ShapeDtypeStruct((batch_size, h, w, 3), jnp.uint8)
        return self._fused.lower(self._state, spec).compile()


# One compiled predictor per (weights, geometry) per process: repeated analyses
# (napari, notebooks, dask tasks on a worker) skip tracing and compilation.
_CACHE: OrderedDict[tuple[str, Any], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 4


def cached_predictor(token: str, geometry: Any, model: Callable[[], Any]) -> Any:
    """The process's predictor for weights ``token`` (a fingerprint) and ``geometry``.

    ``model`` is called only on a miss (to build or unpickle the module). ``geometry`` is a
    `Geometry` (whole frames: `FusedPredictor`) or a
    `markerless.analysis.two_stage.TwoStageGeometry` (`TwoStagePredictor`).
    """
    key = (token, geometry)
    with _CACHE_LOCK:
        pred = _CACHE.get(key)
        if pred is None:
            if isinstance(geometry, Geometry):
                pred = FusedPredictor(model(), geometry)
            else:
                from markerless.analysis.two_stage import TwoStagePredictor

                pred = TwoStagePredictor(model(), geometry, outputs="dict")
            _CACHE[key] = pred
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(key)
    return pred
