"""Multi-animal head: score maps + locref per bodypart, part-affinity fields, identity maps.

Why a separate model class: the single-animal `HeatmapModel` keeps its exact outputs (a
``(logits, locref)`` tuple, the same parameters, the same speed); the multi-animal model
returns a dict with two more outputs read from the *same* FPN features of the shared
`HeatmapHead`:

* ``paf`` ``(B, h, w, E, 2)``: one part-affinity field per graph edge ``(s, t)``, the unit
  vector from bodypart ``s`` to ``t`` on the cells near that limb of every animal
  (OpenPose / DeepLabCut's maDLC), used to tell which peaks belong together;
* ``identity`` ``(B, h, w, N)`` (optional): per-cell logits over the N individuals, trained
  on the cells around each animal's keypoints (DLC's ``identity: true``).

Each extra output has its own 3x3 convolution on the shared features: a limb spans several
cells and a 1x1 convolution alone sees one. Unique bodyparts (DLC's individual ``single``)
are ordinary score-map channels after the multi-animal ones.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from markerless.model.heads import HeatmapHead, HeatmapModel
from markerless.model.layers import normal, variance_scaling

__all__ = ["MultiAnimalHead", "MultiAnimalModel"]


class _Branch(nnx.Module):
    """3x3 conv + ReLU, then a 1x1 output convolution (small initial outputs). Heads wider
    than 64 channels get a half-width 3x3: at full width (128) it costs about a third of
    an EfficientNet-Lite0 forward pass."""

    def __init__(self, channels: int, out: int, *, dtype: Any, rngs: nnx.Rngs):
        conv = {"dtype": dtype, "param_dtype": jnp.float32, "rngs": rngs}
        hidden = channels if channels <= 64 else channels // 2
        self.hidden = nnx.Conv(channels, hidden, (3, 3), padding="SAME",
                               kernel_init=variance_scaling(2.0), **conv)
        self.out = nnx.Conv(hidden, out, (1, 1), kernel_init=normal(1e-3), **conv)

    def __call__(self, y: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.hidden(y))).astype(jnp.float32)


class MultiAnimalHead(nnx.Module):
    """`HeatmapHead` (score maps + locref for every bodypart) plus PAF and identity branches."""

    def __init__(self, heatmap: HeatmapHead, channels: int, num_pafs: int,
                 num_identities: int = 0, *, dtype: Any = jnp.float32, rngs: nnx.Rngs):
        self.heatmap = heatmap
        self.stride = heatmap.stride
        self.num_pafs, self.num_identities = int(num_pafs), int(num_identities)
        self.paf = (_Branch(channels, 2 * num_pafs, dtype=dtype, rngs=rngs)
                    if num_pafs else None)
        self.identity = (_Branch(channels, num_identities, dtype=dtype, rngs=rngs)
                         if num_identities else None)

    def __call__(self, feats: dict[int, jax.Array]) -> dict[str, jax.Array]:
        y = self.heatmap.features(feats)
        scores, locref = self.heatmap.outputs(y)
        b, h, w, _ = scores.shape
        out = {"scores": scores, "locref": locref}
        if self.paf is not None:
            out["paf"] = self.paf(y).reshape(b, h, w, self.num_pafs, 2)
        else:
            out["paf"] = jnp.zeros((b, h, w, 0, 2), jnp.float32)
        if self.identity is not None:
            out["identity"] = self.identity(y)
        return out


class MultiAnimalModel(HeatmapModel):
    """Backbone + `MultiAnimalHead`.

    ``model(x)`` (``x`` normalised as for `HeatmapModel`) returns a dict of float32 arrays:
    ``scores`` logits ``(B, h, w, K)``, ``locref`` ``(B, h, w, K, 2)``, ``paf``
    ``(B, h, w, E, 2)`` and, with identity, ``identity`` logits ``(B, h, w, N)``. K counts
    the multi-animal bodyparts then the unique ones; the grid convention is `HeatmapModel`'s.
    """

    @property
    def stride(self) -> int:
        return self.head.stride

    def __call__(self, x: jax.Array) -> dict[str, jax.Array]:  # type: ignore[override]
        return self.head(self.backbone(x.astype(self.dtype)))
