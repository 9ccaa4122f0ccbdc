"""ONNX through jax2onnx, lowered from lax primitives, with value_info rebuilt by ONNX itself.

Why not ``jax2onnx.to_onnx(model)`` on the Flax module: jax2onnx 0.17 swaps Flax's layers
(``nnx.Conv``, ``nnx.BatchNorm``, ``nnx.max_pool``) for its own while it traces, and its
layout pass keeps tensors NCHW between convolutions while stamping their ``value_info`` with
the NHWC shape JAX saw. After a strided block the two differ (``relu6_max_0``: recorded
``(B, 151, 329, 32)``, really ``(B, 32, 151, 329)``), ONNX's strict shape inference rejects
the file and onnxruntime refuses it or falls back to guessing. Its ``max_pool`` patch also
breaks on positional arguments. So:

1. the predict function is first traced to a jaxpr *outside* jax2onnx (no layer patches
   active), and jax2onnx converts a function that replays that jaxpr primitive by primitive
   (`replay_jaxpr`); a 4-D ``reduce_window_max`` (which ONNX ``MaxPool`` cannot take in
   NHWC) is replayed as a max over shifted strided slices, exact like any max;
2. every ``value_info`` jax2onnx wrote is dropped and ONNX's strict shape inference
   rebuilds them (`rebuild_value_info`), so the file carries only shapes ONNX derived;
3. jax2onnx's lowering of ``lax.pad`` builds an ``onnx_ir.Shape`` from JAX's symbolic
   batch dimension, which onnx_ir cannot read; `_symbolic_dims_as_names` lets it through
   as the named dimension ``B`` for the time of the conversion.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["ONNX_OPSET", "export_onnx", "rebuild_value_info", "replay_jaxpr"]

#: opset of the written files: supported by onnxruntime >= 1.12 and most other runtimes.
ONNX_OPSET = 17
_CALLS = {"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint",
          "custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"}


def _max_pool_by_slices(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...],
                        padding: tuple[tuple[int, int], ...]) -> jax.Array:
    """``lax.reduce_window_max`` as the max of the window's shifted, strided slices."""
    x = jax.lax.pad(x, jnp.array(-jnp.inf, x.dtype), [(lo, hi, 0) for lo, hi in padding])
    n_out = [(int(n) - w) // s + 1 if isinstance(n, int) else None
             for n, w, s in zip(x.shape, window, strides, strict=False)]
    out = None
    for start in itertools.product(*(range(w) for w in window)):
        limit = tuple(x.shape[i] if n_out[i] is None else start[i] + (n_out[i] - 1) *
                      strides[i] + 1 for i in range(x.ndim))
        tap = jax.lax.slice(x, start, limit, tuple(strides))
        out = tap if out is None else jnp.maximum(out, tap)
    return out


def _sub_jaxpr(eqn: Any) -> Any:
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        if key in eqn.params:
            return eqn.params[key]
    raise NotImplementedError(f"no sub-jaxpr in {eqn.primitive.name}")


def replay_jaxpr(jaxpr: Any, consts: list[Any], *args: Any) -> list[Any]:
    """Evaluate ``jaxpr`` primitive by primitive, inlining nested calls (see module doc)."""
    from jax.extend import core as jcore

    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, jcore.Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts, strict=False))
    env.update(zip(jaxpr.invars, args, strict=False))
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        if name in _CALLS:
            sub = _sub_jaxpr(eqn)
            inner = getattr(sub, "jaxpr", sub)
            outs = replay_jaxpr(inner, list(getattr(sub, "consts", ())), *invals)
        elif name == "reduce_window_max" and len(eqn.params["window_dimensions"]) > 3:
            p = eqn.params
            outs = [_max_pool_by_slices(invals[0], tuple(p["window_dimensions"]),
                                        tuple(p["window_strides"]), tuple(p["padding"]))]
        else:
            outs = eqn.primitive.bind(*invals, **eqn.params)
            if not eqn.primitive.multiple_results:
                outs = [outs]
        env.update(zip(eqn.outvars, outs, strict=False))
    return [read(v) for v in jaxpr.outvars]


@contextlib.contextmanager
def _symbolic_dims_as_names() -> Iterator[None]:
    """Let onnx_ir read JAX's symbolic dimensions as named ONNX dimensions."""
    import onnx_ir._core as ir_core

    original = ir_core._maybe_convert_to_symbolic_dim

    def convert(dim: Any) -> Any:
        if type(dim).__name__ == "_DimExpr":  # jax.export's symbolic dimension
            return ir_core.SymbolicDim(str(dim))
        return original(dim)

    ir_core._maybe_convert_to_symbolic_dim = convert
    try:
        yield
    finally:
        ir_core._maybe_convert_to_symbolic_dim = original


def rebuild_value_info(model: Any) -> Any:
    """Drop every ``value_info`` and let ONNX's strict shape inference write them again.

    Raises ``onnx.shape_inference.InferenceError`` when the graph itself is inconsistent.
    """
    import onnx

    del model.graph.value_info[:]
    return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                             data_prop=True)


def export_onnx(predict: Callable[[jax.Array], jax.Array], frame_hw: tuple[int, int],
                model_name: str = "markerless") -> Any:
    """The ONNX ``ModelProto`` of ``predict`` for uint8 frames ``(B, H, W, 3)``, ``B`` free."""
    import onnx
    from jax import export as jax_export
    from jax2onnx import to_onnx

    batch = jax_export.symbolic_shape("B")[0]
    spec = jax.ShapeDtypeStruct((batch, int(frame_hw[0]), int(frame_hw[1]), 3), jnp.uint8)
    closed = jax.make_jaxpr(predict)(spec)

    def replay(frames: jax.Array) -> jax.Array:
        return replay_jaxpr(closed.jaxpr, list(closed.consts), frames)[0]

    with _symbolic_dims_as_names():
        proto = to_onnx(replay, [spec], model_name=model_name, opset=ONNX_OPSET,
                        input_names=["frames"], output_names=["poses"])
    proto = rebuild_value_info(proto)
    onnx.checker.check_model(proto, full_check=True)
    return proto
