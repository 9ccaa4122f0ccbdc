"""Model configuration, backbone presets and :func:`build_model`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.errors import ConfigError
from markerless.model.efficientnet import EfficientNetLite0
from markerless.model.heads import HeatmapHead, HeatmapModel
from markerless.model.layers import compute_dtype
from markerless.model.mobilenet import MobileNetV2
from markerless.model.pretrained import SOURCES, load_pretrained
from markerless.model.resnet import ResNet

__all__ = [
    "NET_TYPES",
    "STRIDES",
    "ModelConfig",
    "build_backbone",
    "build_model",
    "normalize_images",
]

NET_TYPES = ("resnet18", "resnet_tiny", "efficientnet_lite0", "mobilenet_v2")
STRIDES = (4, 8, 16, 32)

# ResNet presets: (blocks per stage, width multiplier, head channels).
_RESNET_PRESETS = {"resnet18": ((2, 2, 2, 2), 1.0, 128), "resnet_tiny": ((1, 1, 1, 1), 0.25, 32)}

# Per-net input normalisation (RGB, 0..255 scale): what each set of weights was trained with.
_IMAGENET = ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
_NORMALISATION = {
    "resnet18": _IMAGENET,
    "resnet_tiny": _IMAGENET,
    "efficientnet_lite0": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "mobilenet_v2": _IMAGENET,
}


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Everything that defines a heatmap model's architecture.

    Attributes
    ----------
    net_type
        One of :data:`NET_TYPES`.
    num_keypoints
        K, the number of score maps (bodyparts x individuals, as the training
        code lays them out).
    stride
        Output stride, one of 4, 8, 16, 32 (DeepLabCut uses 8).
    pretrained
        Load ImageNet weights (``efficientnet_lite0``, ``mobilenet_v2``). The
        ResNets have none in markerless: they start from random weights with a
        warning.
    width
        Channel multiplier for the backbone; must be 1.0 with pretrained weights.
    frozen_bn
        Keep BatchNorm running statistics fixed, also in ``train()`` mode
        (fine-tuning with small batches). Change later with
        ``model.freeze_batch_stats(flag)``.
    locref
        Predict location refinement (otherwise the model returns zeros).
    depths
        ResNet blocks per stage; ``None`` takes the preset's.
    head_channels
        Channels of the FPN head; ``None``: 128 (32 for ``resnet_tiny``).
    upsample
        ``"nearest"`` or ``"bilinear"`` upsampling in the head.
    dtype
        Compute dtype name (``"float32"``, ``"bfloat16"``); ``None`` picks
        :func:`compute_dtype` (bfloat16 on GPU/TPU). Parameters stay float32.
    multianimal
        Build `markerless.model.multianimal.MultiAnimalModel` (a dict of score maps,
        locref, part-affinity fields and identity maps) instead of `HeatmapModel`.
    num_pafs
        Part-affinity-field edges (multi-animal only).
    num_identities
        Identity channels (multi-animal with ``identity: true``), 0 for none.
    """

    net_type: str = "resnet18"
    num_keypoints: int
    stride: int = 8
    pretrained: bool = True
    width: float = 1.0
    frozen_bn: bool = True
    locref: bool = True
    depths: tuple[int, ...] | None = None
    head_channels: int | None = None
    upsample: str = "nearest"
    dtype: str | None = None
    multianimal: bool = False
    num_pafs: int = 0
    num_identities: int = 0

    def __post_init__(self) -> None:
        if self.net_type not in NET_TYPES:
            raise ConfigError(f"unknown net_type {self.net_type!r}; choose one of {NET_TYPES}")
        if not isinstance(self.num_keypoints, int) or self.num_keypoints < 1:
            raise ConfigError(
                f"num_keypoints must be a positive integer, got {self.num_keypoints}"
            )
        if self.stride not in STRIDES:
            raise ConfigError(f"stride must be one of {STRIDES}, got {self.stride}")
        if self.width <= 0:
            raise ConfigError(f"width must be positive, got {self.width}")
        if self.pretrained and self.net_type in SOURCES and self.width != 1.0:
            raise ConfigError(
                f"pretrained {self.net_type} weights exist for width 1.0 only "
                f"(got width={self.width}); set pretrained=False to change it"
            )
        if self.depths is not None and not self.net_type.startswith("resnet"):
            raise ConfigError(f"depths applies to ResNets only, not {self.net_type}")
        if self.upsample not in ("nearest", "bilinear"):
            raise ConfigError(f"upsample must be 'nearest' or 'bilinear', got {self.upsample!r}")
        if self.dtype is not None and self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if self.depths is not None:
            object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        for name in ("num_pafs", "num_identities"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
            if value and not self.multianimal:
                raise ConfigError(f"{name} needs multianimal=True")

    def compute_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.dtype) if self.dtype else compute_dtype()


def build_backbone(
    config: ModelConfig, rngs: nnx.Rngs, *, dtype: Any = jnp.float32, num_classes: int = 0
) -> nnx.Module:
    """The (randomly initialised) backbone for ``config``; no weights are loaded."""
    kw = {"freeze_stats": config.frozen_bn, "dtype": dtype, "rngs": rngs}
    if config.net_type in _RESNET_PRESETS:
        depths, width, _ = _RESNET_PRESETS[config.net_type]
        return ResNet(config.depths or depths, width * config.width, **kw)
    if config.net_type == "efficientnet_lite0":
        return EfficientNetLite0(config.width, num_classes=num_classes, **kw)
    return MobileNetV2(config.width, **kw)


def build_model(config: ModelConfig, rngs: nnx.Rngs) -> HeatmapModel:
    """Build the heatmap model, loading ImageNet weights when ``config.pretrained``.

    ``config.multianimal`` gives a `MultiAnimalModel` (same backbone and head, plus
    part-affinity and identity outputs).

    Raises
    ------
    ModelError
        When pretrained weights cannot be fetched (with instructions for
        placing them by hand) or do not fit the model.
    """
    dtype = config.compute_dtype()
    if config.pretrained and config.net_type in SOURCES:
        # Abstract build (no random init, which costs seconds), then fill in the weights.
        abstract = nnx.eval_shape(lambda: build_backbone(config, nnx.Rngs(0), dtype=dtype))
        backbone = load_pretrained(abstract, config.net_type)
    else:
        backbone = build_backbone(config, rngs, dtype=dtype)
        if config.pretrained:
            warnings.warn(
                f"markerless has no ImageNet weights for {config.net_type}; it starts from "
                "random weights (use net_type='efficientnet_lite0' or 'mobilenet_v2' for a "
                "pretrained backbone, or pretrained=False to silence this)",
                UserWarning,
                stacklevel=2,
            )
    channels = config.head_channels or _RESNET_PRESETS.get(config.net_type, (0, 0, 128))[2]
    head = HeatmapHead(
        backbone.feature_channels,
        config.num_keypoints,
        stride=config.stride,
        channels=channels,
        upsample=config.upsample,
        locref=config.locref,
        dtype=dtype,
        rngs=rngs,
    )
    if config.multianimal:
        from markerless.model.multianimal import MultiAnimalHead, MultiAnimalModel

        ma_head = MultiAnimalHead(head, channels, config.num_pafs, config.num_identities,
                                  dtype=dtype, rngs=rngs)
        return MultiAnimalModel(backbone, ma_head, config=config, dtype=dtype)
    return HeatmapModel(backbone, head, config=config, dtype=dtype)


def pad_input(x: jax.Array, height: int, width: int) -> jax.Array:
    """``(B, h, w, C)`` images padded bottom/right to ``(height, width)`` by repeating their
    last row and column.

    Why not black: a network trained on crops of real images fires on a band of black pixels
    it never saw (measured: 17 px error on 112-row images padded to 128 with zeros, 2.2 px
    with edge padding, same model). Decoding also never picks a cell whose centre lies in the
    padding (`markerless.decoding.decode_logits`'s ``valid_hw``).
    """
    ph, pw = height - x.shape[1], width - x.shape[2]
    if ph < 0 or pw < 0:
        raise ValueError(f"cannot pad {x.shape[1:3]} down to {(height, width)}")
    if not (ph or pw):
        return x
    return jnp.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")


def normalize_images(images: jax.Array, net_type: str) -> jax.Array:
    """Map RGB images (uint8 0..255, ``(..., H, W, 3)``) to the net's float32 input.

    Each backbone is normalised the way its weights were trained: ImageNet
    mean/std for ResNets and MobileNetV2, ``(x - 127) / 128`` for
    EfficientNet-Lite. Pure ``jnp``, so it can run inside ``jax.jit``.
    """
    if net_type not in _NORMALISATION:
        raise ConfigError(f"unknown net_type {net_type!r}; choose one of {NET_TYPES}")
    mean, std = _NORMALISATION[net_type]
    x = jnp.asarray(images).astype(jnp.float32)
    return (x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)
