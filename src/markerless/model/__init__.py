"""Heatmap pose models on JAX/Flax (flax.nnx): backbones, head, ImageNet weights.

>>> from flax import nnx
>>> from markerless.model import ModelConfig, build_model, normalize_images
>>> cfg = ModelConfig(net_type="resnet_tiny", num_keypoints=4, pretrained=False)
>>> model = build_model(cfg, nnx.Rngs(0))
>>> import numpy as np
>>> x = normalize_images(np.zeros((1, 64, 96, 3), np.uint8), cfg.net_type)
>>> scores, locref = model(x)
>>> scores.shape, locref.shape
((1, 8, 12, 4), (1, 8, 12, 4, 2))

See :mod:`markerless.model.heads` for the output-grid convention.
"""

from __future__ import annotations

from markerless.model.heads import HeatmapHead, HeatmapModel
from markerless.model.layers import FreezableBatchNorm, compute_dtype
from markerless.model.pretrained import SOURCES, cache_dir, load_pretrained
from markerless.model.registry import (
    NET_TYPES,
    STRIDES,
    ModelConfig,
    build_backbone,
    build_model,
    normalize_images,
    pad_input,
)

__all__ = [
    "NET_TYPES",
    "SOURCES",
    "STRIDES",
    "FreezableBatchNorm",
    "HeatmapHead",
    "HeatmapModel",
    "ModelConfig",
    "build_backbone",
    "build_model",
    "cache_dir",
    "compute_dtype",
    "load_pretrained",
    "normalize_images",
    "pad_input",
]
