"""DeepLabCut-style heatmap head and the full model.

Output grid convention (the one DeepLabCut decodes): for an input of ``H x W``
pixels and output stride ``s``, the score map has ``h = ceil(H / s)`` by
``w = ceil(W / s)`` cells (exactly ``H / s`` when ``H`` and ``W`` are multiples
of 32), and cell ``(i, j)`` covers pixels ``[j*s, (j+1)*s) x [i*s, (i+1)*s)``.
A keypoint found in cell ``(i, j)`` with location refinement ``(dx, dy)`` lies
at pixel coordinates::

    x = j * s + s / 2 + dx * locref_stdev      (locref_stdev = 7.2801 in DLC)
    y = i * s + s / 2 + dy * locref_stdev

in the coordinates of the network input (pixel centres at integer + 0.5,
DLC's convention). ``locref[..., 0]`` is ``dx`` and ``locref[..., 1]`` is ``dy``.

Why resize + conv and not transposed convolutions: on CPU, XLA's transposed
convolutions made training about 2.6x slower; nearest (``jnp.repeat``) or
bilinear upsampling followed by a 3x3 convolution costs little. The head is a
light FPN: starting from the deepest (stride-32) features it upsamples by 2,
adds a 1x1 projection of the backbone's features at that stride, and smooths
with a 3x3 convolution, down to the requested stride. The skips restore the
spatial detail a stride-8/4 map needs.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.model.layers import normal, upsample2x_to, variance_scaling

__all__ = ["HeatmapHead", "HeatmapModel", "SCORE_PRIOR"]

SCORE_PRIOR = 0.01  # initial sigmoid(score) everywhere: most cells hold no keypoint


class HeatmapHead(nnx.Module):
    """FPN-style decoder from backbone features to score maps and location refinement."""

    def __init__(
        self,
        feature_channels: dict[int, int],
        num_keypoints: int,
        *,
        stride: int = 8,
        channels: int = 128,
        upsample: str = "nearest",
        locref: bool = True,
        dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        top = max(feature_channels)
        if stride not in feature_channels:
            raise ValueError(
                f"stride {stride} not among backbone strides {sorted(feature_channels)}"
            )
        self.levels = tuple(sorted((lv for lv in feature_channels if lv >= stride), reverse=True))
        self.stride, self.num_keypoints, self.upsample = stride, num_keypoints, upsample
        conv = {"dtype": dtype, "param_dtype": jnp.float32, "rngs": rngs}
        self.lateral = nnx.Dict(
            {
                str(lv): nnx.Conv(
                    feature_channels[lv],
                    channels,
                    (1, 1),
                    kernel_init=variance_scaling(1.0),
                    **conv,
                )
                for lv in self.levels
            }
        )
        self.smooth = nnx.Dict(
            {
                str(lv): nnx.Conv(
                    channels,
                    channels,
                    (3, 3),
                    padding="SAME",
                    kernel_init=variance_scaling(2.0),
                    **conv,
                )
                for lv in self.levels
                if lv != top or len(self.levels) == 1
            }
        )
        prior = math.log(SCORE_PRIOR / (1 - SCORE_PRIOR))
        self.score = nnx.Conv(
            channels,
            num_keypoints,
            (1, 1),
            kernel_init=normal(1e-2),
            bias_init=nnx.initializers.constant(prior),
            **conv,
        )
        self.locref = (
            nnx.Conv(channels, 2 * num_keypoints, (1, 1), kernel_init=normal(1e-3), **conv)
            if locref
            else None
        )

    def features(self, feats: dict[int, jax.Array]) -> jax.Array:
        """The FPN's output features at ``stride`` (before the 1x1 output convolutions).

        Shared with `markerless.model.multianimal`, whose extra outputs read the same
        features.
        """
        y = None
        for lv in self.levels:
            lateral = self.lateral[str(lv)](feats[lv])
            y = (
                lateral
                if y is None
                else upsample2x_to(y, lateral.shape[1:3], self.upsample) + lateral
            )
            if str(lv) in self.smooth:
                y = jax.nn.relu(self.smooth[str(lv)](y))
        return y

    def __call__(self, feats: dict[int, jax.Array]) -> tuple[jax.Array, jax.Array]:
        return self.outputs(self.features(feats))

    def outputs(self, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Score-map logits and locref from `features`."""
        scores = self.score(y).astype(jnp.float32)
        b, h, w, k = scores.shape
        if self.locref is None:
            locref = jnp.zeros((b, h, w, k, 2), jnp.float32)
        else:
            locref = self.locref(y).astype(jnp.float32).reshape(b, h, w, k, 2)
        return scores, locref


class HeatmapModel(nnx.Module):
    """Backbone + :class:`HeatmapHead`.

    ``model(x)`` takes ``x`` of shape ``(B, H, W, 3)``, already normalised
    with :func:`markerless.model.normalize_images`, and returns
    ``(scoremap_logits (B, h, w, K), locref (B, h, w, K, 2))`` in float32
    (apply a sigmoid to the logits for probabilities). ``locref`` is all zeros
    when the model was built with ``locref=False``. See the module docstring
    for the grid convention.
    """

    def __init__(
        self,
        backbone: nnx.Module,
        head: HeatmapHead,
        *,
        config: Any = None,
        dtype: Any = jnp.float32,
    ):
        self.backbone = backbone
        self.head = head
        self.config = config
        self.dtype = dtype

    @property
    def stride(self) -> int:
        return self.head.stride

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.head(self.backbone(x.astype(self.dtype)))

    def freeze_batch_stats(self, frozen: bool = True) -> None:
        """Use (and never update) BatchNorm running statistics, also in ``train()`` mode.

        Equivalent to ``model.set_attributes(freeze_stats=frozen)``.
        """
        self.set_attributes(freeze_stats=frozen)

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        """Score-map size ``(ceil(H / stride), ceil(W / stride))`` for an input size."""
        return -(-height // self.stride), -(-width // self.stride)
