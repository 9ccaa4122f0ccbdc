"""A ResNet-18-style backbone with configurable width and depth (trained from scratch).

Basic residual blocks (two 3x3 convolutions), a 7x7 stride-2 stem and a 3x3
stride-2 max-pool, then four stages at strides 4, 8, 16 and 32, as in He et
al. (2016). ``width`` scales every channel count (``width=0.25`` with one
block per stage is the ``resnet_tiny`` preset used by the CI tests).

There are no ImageNet weights for it in markerless (none ship on PyPI under a
licence we can use), so the last BatchNorm of every residual branch starts
with scale 0: each block starts as the identity, which keeps activations
bounded even when BatchNorm statistics are frozen at their initial values.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.model.layers import ConvBN

__all__ = ["BasicBlock", "ResNet"]


class BasicBlock(nnx.Module):
    """Two 3x3 ConvBN layers and a (projected when needed) shortcut."""

    def __init__(
        self, cin: int, cout: int, stride: int, *, freeze_stats: bool, dtype: Any, rngs: nnx.Rngs
    ):
        kw = {"freeze_stats": freeze_stats, "dtype": dtype, "rngs": rngs}
        self.conv1 = ConvBN(cin, cout, 3, stride=stride, **kw)
        self.conv2 = ConvBN(cout, cout, 3, act=None, zero_init_scale=True, **kw)
        self.shortcut = (
            ConvBN(cin, cout, 1, stride=stride, act=None, **kw)
            if stride != 1 or cin != cout
            else None
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        residual = x if self.shortcut is None else self.shortcut(x)
        return jax.nn.relu(self.conv2(self.conv1(x)) + residual)


def _channels(base: int, width: float) -> int:
    return max(8, int(round(base * width / 8)) * 8)


class ResNet(nnx.Module):
    """ResNet feature extractor returning ``{4: C2, 8: C3, 16: C4, 32: C5}``.

    Parameters
    ----------
    depths
        Residual blocks per stage, ``(2, 2, 2, 2)`` for ResNet-18.
    width
        Channel multiplier; stage channels are ``64, 128, 256, 512`` times it
        (rounded to multiples of 8).
    """

    def __init__(
        self,
        depths: tuple[int, ...] = (2, 2, 2, 2),
        width: float = 1.0,
        *,
        freeze_stats: bool = True,
        dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if len(depths) != 4 or min(depths) < 1:
            raise ValueError(f"depths must be 4 positive block counts, got {depths}")
        chans = [_channels(c, width) for c in (64, 128, 256, 512)]
        kw = {"freeze_stats": freeze_stats, "dtype": dtype, "rngs": rngs}
        self.stem = ConvBN(3, chans[0], 7, stride=2, **kw)
        stages = []
        cin = chans[0]
        for i, (n, cout) in enumerate(zip(depths, chans, strict=True)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(cin, cout, stride, **kw))
                cin = cout
            stages.append(nnx.List(blocks))
        self.stages = nnx.List(stages)
        self.feature_channels = {4: chans[0], 8: chans[1], 16: chans[2], 32: chans[3]}

    def __call__(self, x: jax.Array) -> dict[int, jax.Array]:
        x = self.stem(x)
        # 3x3/2 max-pool, symmetric padding like PyTorch: ceil(n/2) outputs.
        x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        feats = {}
        for level, stage in zip((4, 8, 16, 32), self.stages, strict=True):
            for block in stage:
                x = block(x)
            feats[level] = x
        return feats
