"""jax2onnx 0.17: wrong value_info after strided blocks; how markerless avoids and repairs it."""

from __future__ import annotations

import numpy as np
import pytest


def _strided_block():
    """conv stride 2 -> BatchNorm -> relu6 -> depthwise conv stride 2: jax2onnx's layer
    plugins keep the tensors NCHW but stamp relu6's value_info with JAX's NHWC shape."""
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(3, 8, (3, 3), strides=(2, 2), padding="SAME", rngs=rngs)
            self.bn = nnx.BatchNorm(8, use_running_average=True, rngs=rngs)
            self.c2 = nnx.Conv(8, 8, (3, 3), strides=(2, 2), padding="SAME",
                               feature_group_count=8, rngs=rngs)

        def __call__(self, x):
            import jax

            return jax.nn.relu6(self.c2(jax.nn.relu6(self.bn(self.c1(x)))))

    return Block(nnx.Rngs(0))


def test_jax2onnx_layer_path_writes_inconsistent_value_info():
    """The bug itself (if a later jax2onnx fixes it, this test says so)."""
    import onnx
    from jax2onnx import to_onnx

    proto = to_onnx(_strided_block(), [("B", 30, 44, 3)])
    with pytest.raises(onnx.shape_inference.InferenceError, match="differ"):
        onnx.shape_inference.infer_shapes(proto, strict_mode=True)


def test_rebuild_value_info_repairs_it():
    import onnx
    import onnxruntime as ort
    from jax2onnx import to_onnx

    from markerless.export.onnx_export import rebuild_value_info

    block = _strided_block()
    proto = rebuild_value_info(to_onnx(block, [("B", 30, 44, 3)]))
    onnx.shape_inference.infer_shapes(proto, strict_mode=True)  # consistent now
    session = ort.InferenceSession(proto.SerializeToString())
    x = np.random.default_rng(0).random((2, 30, 44, 3), dtype=np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert got.shape == (2, 8, 11, 8) == np.asarray(block(x)).shape
    np.testing.assert_allclose(got, np.asarray(block(x)), atol=1e-5)


def test_markerless_path_is_consistent_and_exact():
    """export_onnx lowers lax primitives (no layer patches): strict inference passes on the
    file as written, and onnxruntime reproduces JAX on the same strided block."""
    import jax
    import jax.numpy as jnp
    import onnx
    import onnxruntime as ort

    from markerless.export.onnx_export import export_onnx

    block = _strided_block()

    def predict(frames):
        return block(frames.astype(jnp.float32) / 255.0)

    proto = export_onnx(predict, (30, 44))
    onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    shapes = {vi.name: [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]
              for vi in proto.graph.value_info}
    assert shapes, "value_info rebuilt by ONNX"
    session = ort.InferenceSession(proto.SerializeToString())
    x = np.random.default_rng(1).integers(0, 255, (3, 30, 44, 3), dtype=np.uint8)
    got = session.run(None, {"frames": x})[0]
    want = np.asarray(jax.jit(predict)(x))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_max_pool_replay_is_exact():
    """ResNet's max-pool (a 4-D reduce_window ONNX MaxPool cannot take) replayed as slices."""
    import jax
    import jax.numpy as jnp

    from markerless.export.onnx_export import replay_jaxpr

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                                     ((0, 0), (1, 1), (1, 1), (0, 0)))

    x = np.random.default_rng(2).normal(size=(2, 9, 14, 5)).astype(np.float32)
    closed = jax.make_jaxpr(pool)(x)
    assert any(e.primitive.name == "reduce_window_max" for e in closed.jaxpr.eqns)
    np.testing.assert_array_equal(np.asarray(replay_jaxpr(closed.jaxpr, closed.consts, x)[0]),
                                  np.asarray(pool(x)))
