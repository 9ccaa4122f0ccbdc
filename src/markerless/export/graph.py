"""The function an exported model holds: uint8 frames ``(B, H, W, 3)`` -> ``(B, K, 3)``.

Why a separate builder and not `markerless.analysis.inference.FusedPredictor` as is: an
export traces the network once for *every* frame size (a symbolic ``H`` and ``W`` in
StableHLO, so live cropping can feed boxes of any size) and bakes the weights in as
constants, so the file runs without markerless or Flax. The preprocessing
(`markerless.analysis.inference._forward`: resize, zero padding to ``pad_multiple``,
normalisation) is the very one of video analysis; only the argmax differs, because the
analysis decoder folds scoremap columns by a divisor of the (then unknown) width. Both
find the same first maximum, so on equal logits the two give equal coordinates.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["ExportGeometry", "portable_predict", "native_depthwise"]


@dataclass(frozen=True)
class ExportGeometry:
    """What shapes the exported function besides the weights (a model's `ModelInfo` subset)."""

    net_type: str
    stride: float
    locref_stdev: float
    scale: float = 1.0
    pad_multiple: int = 32

    @classmethod
    def from_info(cls, info: Any) -> ExportGeometry:
        from markerless.analysis.inference import info_get

        return cls(net_type=str(info_get(info, "net_type")),
                   stride=float(info_get(info, "stride")),
                   locref_stdev=float(info_get(info, "locref_stdev") or 7.2801),
                   scale=float(info_get(info, "global_scale") or 1.0),
                   pad_multiple=int(info_get(info, "pad_multiple") or 32))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _argmax_cells_any_width(scmap: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Row-major first argmax per (frame, keypoint), for symbolic ``h`` and ``w`` too.

    Same cells as `markerless.decoding.scoremaps._argmax_cells` (max of each row, first
    row holding the maximum, first column of that row), without its width-dependent
    column folding.
    """
    from markerless.decoding.scoremaps import _first_index_of

    b, _, _, k = scmap.shape
    rowmax = jax.lax.optimization_barrier(scmap.max(axis=2))  # (B, h, K)
    best = jnp.max(rowmax, axis=1)  # (B, K)
    rows = _first_index_of(rowmax, best, axis=1)
    bi = jnp.arange(b)[:, None]
    ki = jnp.arange(k)[None, :]
    cols = _first_index_of(scmap[bi, rows, :, ki], best, axis=-1)
    return rows, cols


def _decode_any_shape(logits: jax.Array, locref: jax.Array, stride: float,
                      locref_stdev: float) -> jax.Array:
    """`markerless.decoding.decode_logits` for scoremaps of symbolic size."""
    from markerless.decoding.scoremaps import _cells_to_pixels, _gather

    rows, cols = _argmax_cells_any_width(logits)
    score, offsets = _gather(logits, locref, rows, cols)
    x, y = _cells_to_pixels(rows, cols, offsets, stride, locref_stdev)
    return jnp.stack([x, y, jax.nn.sigmoid(score.astype(jnp.float32))], axis=-1)


def _is_static(dims: tuple[Any, ...]) -> bool:
    return all(isinstance(d, int) for d in dims)


def portable_predict(model: Any, geom: ExportGeometry) -> Callable[[jax.Array], jax.Array]:
    """``f(frames_uint8 (B, H, W, 3)) -> (B, K, 3)`` float32 [x, y, likelihood] in frame pixels.

    The weights are closed over (they become constants of the traced program). ``H`` and
    ``W`` may be symbolic (`jax.export.symbolic_shape`) when ``geom.scale == 1``.
    """
    from flax import nnx

    from markerless.analysis.inference import Geometry, _forward, _to_frame_coords
    from markerless.decoding import decode_logits

    model.eval()
    graphdef, state = nnx.split(model)

    def predict(frames: jax.Array) -> jax.Array:
        hw = tuple(frames.shape[1:3])
        static = _is_static(hw)
        if not static and geom.scale != 1.0:
            raise ValueError("a model with global_scale != 1 exports for one frame size only")
        g = Geometry(frame_hw=hw, scale=geom.scale, pad_multiple=geom.pad_multiple,
                     stride=geom.stride, locref_stdev=geom.locref_stdev, net_type=geom.net_type)
        # The barrier keeps XLA from constant-folding the baked-in weights (BatchNorm into
        # the convolutions...), which would round differently from video analysis, where
        # the weights are arguments: with it the exported file gives identical numbers.
        logits, locref = _forward(graphdef, jax.lax.optimization_barrier(state), frames, g)
        if static:
            coords = decode_logits(logits, locref, g.stride, g.locref_stdev)
        else:
            coords = _decode_any_shape(logits, locref, g.stride, g.locref_stdev)
        return _to_frame_coords(coords.astype(jnp.float32), g)

    return predict


@contextlib.contextmanager
def native_depthwise() -> Iterator[None]:
    """Trace depthwise convolutions as grouped convolutions (ONNX ``Conv`` with groups).

    On XLA:CPU markerless traces them as shifted multiply-adds (much faster there, see
    `markerless.model.layers.depthwise_conv`); ONNX Runtime has a fast grouped kernel
    and would get dozens of slice nodes instead.
    """
    from markerless.model import layers

    old = layers.SHIFT_DEPTHWISE_ON_CPU
    layers.SHIFT_DEPTHWISE_ON_CPU = False
    try:
        yield
    finally:
        layers.SHIFT_DEPTHWISE_ON_CPU = old
