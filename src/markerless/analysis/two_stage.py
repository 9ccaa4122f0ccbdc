"""Two-stage single-animal inference: find the animal, then look closely at a crop.

Why: the default model is trained on crops around the animal, and an openfield mouse
covers about a tenth of a 640x480 frame, so whole-frame inference spends most of its work
on empty floor. Here each frame is first looked at where the animal was in the previous
frame (DeepLabCut's "dynamic cropping", ``dynamic=(True, pcutoff, margin)``): a fixed-size
crop around that pose goes through the pose network at full resolution. Only when the
animal is lost does the finder run: the same network on a downscaled whole frame; and only
when the finder finds nothing, the whole frame at full resolution (the fallback).

Everything is one jitted function with fixed crop sizes: crops are ``lax.dynamic_slice``
on the device, the later stages run under ``lax.cond`` only when some frame of the batch
needs them, and coordinates come back in full-frame pixels together with a per-frame code
of the stage that produced them (:data:`CROP`, :data:`RECENTRED`, :data:`FOUND`,
:data:`WHOLE_FRAME`), which the analysis metadata records.

Within a batch every frame starts from the box of the last confident pose of the previous
batch (a frame's pose needs the frame before it: a batch cannot wait for itself), and the
box is forgotten at every chunk start, so a chunk's numbers do not depend on the chunks
before it (resumed and distributed runs stay identical to a plain one).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from markerless.analysis.inference import Geometry, _set_eval, network_input_hw

__all__ = ["CROP", "FOUND", "RECENTRED", "TwoStageGeometry", "TwoStagePredictor",
           "WHOLE_FRAME", "crop_size_for"]

#: per-frame codes: the crop at the previous box was enough / the crop was moved onto
#: this frame's own pose / the finder found the animal / the whole frame was used
CROP, RECENTRED, FOUND, WHOLE_FRAME = 0, 1, 2, 3
CODE_NAMES = {CROP: "crop", RECENTRED: "recentred", FOUND: "finder", WHOLE_FRAME: "whole frame"}


@dataclass(frozen=True)
class TwoStageGeometry:
    """Everything that shapes the compiled two-stage function (hashable).

    ``base`` is the whole-frame geometry (frame size, crop origin, scale, stride...);
    ``crop_hw`` the crop size in *frame* pixels (a multiple of the network's padding
    after scaling, fixed for the video); ``finder_scale`` the extra downscale of the
    finder's whole-frame pass; ``pcutoff`` the likelihood a keypoint needs to count as
    found; ``margin`` (frame pixels) how close confident keypoints may come to the crop's
    edge before the crop is moved onto the frame's own pose.
    """

    base: Geometry
    crop_hw: tuple[int, int]
    finder_scale: float = 0.5
    pcutoff: float = 0.5
    margin: int = 10

    @property
    def finder(self) -> Geometry:
        return _scaled(self.base, self.base.scale * self.finder_scale)

    @property
    def whole(self) -> Geometry:
        """The whole (user-cropped) frame, in its own pixels (the offset is added last)."""
        return _scaled(self.base, self.base.scale)

    @property
    def crop(self) -> Geometry:
        return Geometry(frame_hw=self.crop_hw, scale=self.base.scale,
                        pad_multiple=self.base.pad_multiple, stride=self.base.stride,
                        locref_stdev=self.base.locref_stdev, net_type=self.base.net_type)


def _scaled(geom: Geometry, scale: float) -> Geometry:
    return Geometry(frame_hw=geom.frame_hw, scale=scale, pad_multiple=geom.pad_multiple,
                    stride=geom.stride, locref_stdev=geom.locref_stdev, net_type=geom.net_type)


def crop_size_for(frame_hw: tuple[int, int], train_crop_hw: tuple[int, int], extent_px: float,
                  margin: int, scale: float = 1.0, multiple: int = 32) -> tuple[int, int]:
    """The fixed crop of a video: at least the training crop and the animal's extent plus
    ``margin`` on each side, a multiple of ``multiple`` network pixels, at most the frame.

    ``train_crop_hw`` is in network pixels (after ``scale``), ``extent_px`` (the largest
    keypoint spread seen in the labels) and ``margin`` in frame pixels.
    """
    h, w = frame_hw
    want_net = max(max(train_crop_hw), (extent_px + 2 * margin) * scale)
    side = int(np.ceil(want_net / multiple) * multiple)
    side_px = int(np.ceil(side / scale))
    return min(h, side_px), min(w, side_px)


def _pose_centre(coords: jax.Array, pcutoff: float) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(centre (B, 2), confident (B, K), n (B,))``: mean of the confident keypoints."""
    confident = coords[..., 2] >= pcutoff
    n = confident.sum(axis=1)
    xy = jnp.where(confident[..., None], coords[..., :2], 0.0).sum(axis=1)
    return xy / jnp.maximum(n, 1)[:, None], confident, n


def _origins(centres: jax.Array, geom: TwoStageGeometry) -> jax.Array:
    """Top-left ``(B, 2)`` int32 (x, y) of crops centred on ``centres``, inside the frame.

    Origins sit on the network's coarsest grid (``pad_multiple`` network pixels): a
    convolutional network then sees the crop exactly as the same pixels of the whole
    frame, so the two stages agree wherever the crop holds the animal.
    """
    (h, w), (ch, cw) = geom.base.frame_hw, geom.crop_hw
    step = max(1.0, round(geom.base.pad_multiple / geom.base.scale))
    x0 = jnp.round((centres[:, 0] - (cw - 1) / 2) / step) * step
    y0 = jnp.round((centres[:, 1] - (ch - 1) / 2) / step) * step
    x0 = jnp.clip(x0, 0, w - cw)
    y0 = jnp.clip(y0, 0, h - ch)
    return jnp.stack([x0, y0], axis=1).astype(jnp.int32)


def _near_edge(coords: jax.Array, confident: jax.Array, origins: jax.Array,
               geom: TwoStageGeometry) -> jax.Array:
    """``(B,)``: a confident keypoint within ``margin`` of a crop edge that is not the
    frame's edge (the animal may reach beyond the crop there)."""
    (h, w), (ch, cw), m = geom.base.frame_hw, geom.crop_hw, geom.margin
    x, y = coords[..., 0], coords[..., 1]
    x0, y0 = origins[:, 0:1].astype(jnp.float32), origins[:, 1:2].astype(jnp.float32)
    left = (x < x0 + m) & (x0[:, :1] > 0)
    right = (x > x0 + cw - 1 - m) & (x0[:, :1] + cw < w)
    top = (y < y0 + m) & (y0[:, :1] > 0)
    bottom = (y > y0 + ch - 1 - m) & (y0[:, :1] + ch < h)
    return ((left | right | top | bottom) & confident).any(axis=1)


def _two_stage(graphdef: Any, geom: TwoStageGeometry, state: Any, frames: jax.Array,
               carry: tuple[jax.Array, jax.Array]):
    """The jitted body: see the module docstring. ``carry`` = (centre (2,), valid ())."""
    from markerless.analysis.inference import _fused

    b = frames.shape[0]
    ch, cw = geom.crop_hw
    prev_centre, prev_valid = carry

    def crop_pass(centres):
        origins = _origins(centres, geom)
        crops = jax.vmap(lambda f, o: jax.lax.dynamic_slice(
            f, (o[1], o[0], 0), (ch, cw, frames.shape[-1])))(frames, origins)
        coords = _fused(graphdef, geom.crop, state, crops)
        return coords.at[..., :2].add(origins.astype(jnp.float32)[:, None, :]), origins

    centres = jnp.broadcast_to(prev_centre, (b, 2))
    coords, origins = crop_pass(centres)
    _, confident, n = _pose_centre(coords, geom.pcutoff)
    lost = (n == 0) | ~prev_valid
    recentre = ~lost & _near_edge(coords, confident, origins, geom)
    code = jnp.where(lost, FOUND, jnp.where(recentre, RECENTRED, CROP)).astype(jnp.int32)

    def find(_):
        found_coords = _fused(graphdef, geom.finder, state, frames)
        centre, _, n_found = _pose_centre(found_coords, 0.5 * geom.pcutoff)
        return centre, n_found > 0

    new_centre, found = jax.lax.cond(
        lost.any(), find, lambda _: (centres, jnp.ones((b,), bool)), None)
    own_centre, _, _ = _pose_centre(coords, geom.pcutoff)
    target = jnp.where(lost[:, None], new_centre, jnp.where(recentre[:, None], own_centre,
                                                              centres))
    redo = (lost & found) | recentre
    coords = jax.lax.cond(redo.any(),
                          lambda c: jnp.where(redo[:, None, None], crop_pass(target)[0], c),
                          lambda c: c, coords)
    whole = lost & ~found
    coords = jax.lax.cond(
        whole.any(),
        lambda c: jnp.where(whole[:, None, None], _fused(graphdef, geom.whole, state, frames),
                            c),
        lambda c: c, coords)
    code = jnp.where(whole, WHOLE_FRAME, code)
    # the next batch starts from this batch's last confident pose
    last_centre, _, last_n = _pose_centre(coords, geom.pcutoff)
    has = last_n > 0
    idx = jnp.where(has.any(), jnp.max(jnp.where(has, jnp.arange(b), -1)), 0)
    carry_out = (jnp.where(has.any(), last_centre[idx], prev_centre), has.any())
    if geom.base.offset_xy != (0, 0):  # the config's cropping: back to full-frame pixels
        coords = coords.at[..., :2].add(jnp.asarray(geom.base.offset_xy, jnp.float32))
    return coords, code, carry_out


@dataclass
class TwoStagePredictor:
    """``predictor(frames (B, h, w, 3) uint8) -> (B, K, 3)``, keeping the box between calls.

    Same interface as `markerless.analysis.inference.FusedPredictor` (plus `reset`, called
    at every chunk start, and `last_codes`, the per-frame stage codes of the last call).
    With ``outputs="dict"`` a call returns ``{"coords": (B, K, 3), "stage": (B,)}`` instead
    (the analysis engine keeps both, chunk by chunk).
    """

    model: Any
    geometry: TwoStageGeometry
    outputs: str = "coords"
    _carry: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from flax import nnx

        _set_eval(self.model)
        graphdef, state = nnx.split(self.model)
        self._state = jax.device_put(state)
        self._fn = jax.jit(functools.partial(_two_stage, graphdef, self.geometry))
        self.reset()
        self.last_codes: jax.Array | None = None

    def reset(self) -> None:
        """Forget the box (the next frame runs the finder)."""
        self._carry = (jnp.zeros((2,), jnp.float32), jnp.zeros((), bool))

    def __call__(self, frames: np.ndarray | jax.Array) -> Any:
        coords, codes, self._carry = self._fn(self._state, frames, self._carry)
        self.last_codes = codes
        if self.outputs == "dict":
            return {"coords": coords, "stage": codes}
        return coords

    @property
    def frame_hw(self) -> tuple[int, int]:
        return self.geometry.base.frame_hw


def network_pixels(geom: TwoStageGeometry) -> dict[str, int]:
    """Input pixels per frame of each stage (for benchmarks and the docs' cost model)."""
    out = {}
    for name, g in (("crop", geom.crop), ("finder", geom.finder), ("whole", geom.base)):
        h, w = network_input_hw(g.frame_hw, g.scale)
        out[name] = int(h * w)
    return out
