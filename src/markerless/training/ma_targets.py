"""Training targets and loss of the multi-animal head (score maps, locref, PAFs, identity).

Keypoints arrive flat, ``(B, I*Km + Ku, 2)``: the ``I`` individuals' ``Km`` multi-animal
bodyparts (individual-major), then the ``Ku`` unique bodyparts; NaN = unlabeled. The layout
is `MultiLayout`.

* Score maps: DLC's disk targets, the union over individuals; locref points at the *nearest*
  labeled animal's keypoint (where two animals' disks overlap, each cell refines towards
  the closer one). A bodypart channel labeled for no animal in a frame is masked, as the
  single-animal targets mask an unlabeled keypoint. Unique bodyparts use
  `markerless.training.targets.make_targets` unchanged.
* Part-affinity fields: for edge ``(s, t)`` and every animal with both ends labeled, the
  cells whose centre is within ``paf_half_width`` pixels of the segment (a capsule, so short
  limbs still cover a few cells) hold the unit vector from ``s`` to ``t``; overlapping
  animals average. Mean squared error over every cell (DLC's PAF loss).
* Identity: cells inside any keypoint disk of an animal are of that animal (the nearest one
  where disks overlap); softmax cross-entropy over the individuals on those cells.

All of it broadcasts over ``(B, h, w, I, ...)``: no Python loop over animals, keypoints or
edges.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from markerless.training.targets import DEFAULT_LOCREF_STDEV, heatmap_loss_terms, make_targets

__all__ = ["MultiLayout", "ma_loss_terms", "make_ma_targets"]


@dataclass(frozen=True)
class MultiLayout:
    """Where each keypoint of a flat multi-animal keypoint array belongs (hashable, static)."""

    n_individuals: int
    n_multi: int
    n_unique: int = 0
    edges: tuple[tuple[int, int], ...] = ()
    identity: bool = False

    @property
    def n_flat(self) -> int:
        return self.n_individuals * self.n_multi + self.n_unique

    @property
    def n_keypoints(self) -> int:
        """Score-map channels: multi-animal bodyparts then unique ones."""
        return self.n_multi + self.n_unique

    def split(self, flat: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(B, I*Km + Ku, 2)`` -> ``(multi (B, I, Km, 2), unique (B, Ku, 2))``."""
        b = flat.shape[0]
        cut = self.n_individuals * self.n_multi
        return (flat[:, :cut].reshape(b, self.n_individuals, self.n_multi, 2),
                flat[:, cut:])


@functools.partial(jax.jit, static_argnames=("layout", "out_hw", "stride", "pos_dist_thresh",
                                             "locref_stdev", "paf_half_width"))
def make_ma_targets(keypoints: jax.Array, layout: MultiLayout, out_hw: tuple[int, int],
                    stride: int, pos_dist_thresh: float = 17.0,
                    locref_stdev: float = DEFAULT_LOCREF_STDEV,
                    paf_half_width: float | None = None) -> dict[str, jax.Array]:
    """Targets for a batch of flat multi-animal keypoints (see the module docstring).

    Returns the keys of `markerless.training.targets.make_targets` (``scmap``,
    ``scmap_weights``, ``locref``, ``locref_weights``, over all ``Km + Ku`` channels) plus
    ``paf`` ``(B, h, w, E, 2)`` and, with identity, ``identity`` ``(B, h, w)`` int32 and
    ``identity_weights`` ``(B, h, w)``. ``paf_half_width`` defaults to
    ``pos_dist_thresh / 2``.
    """
    h, w = out_hw
    multi, unique = layout.split(keypoints.astype(jnp.float32))
    lab = ~jnp.any(jnp.isnan(multi), axis=-1)  # (B, I, Km)
    m0 = jnp.where(lab[..., None], multi, 0.0)
    half = 0.5 * stride
    cx = jnp.arange(w, dtype=jnp.float32) * stride + half
    cy = jnp.arange(h, dtype=jnp.float32) * stride + half
    dx = m0[:, None, None, :, :, 0] - cx[None, None, :, None, None]  # (B, 1, w, I, Km)
    dy = m0[:, None, None, :, :, 1] - cy[None, :, None, None, None]  # (B, h, 1, I, Km)
    d2 = jnp.where(lab[:, None, None], dx**2 + dy**2, jnp.inf)  # (B, h, w, I, Km)
    in_disk = d2 <= pos_dist_thresh**2
    scmap = jnp.any(in_disk, axis=3).astype(jnp.float32)  # (B, h, w, Km)
    nearest = jnp.argmin(d2, axis=3)  # (B, h, w, Km)
    onehot = (jnp.arange(layout.n_individuals)[:, None] == nearest[..., None, :])
    dxs = jnp.sum(jnp.where(onehot, dx, 0.0), axis=3)
    dys = jnp.sum(jnp.where(onehot, dy, 0.0), axis=3)
    region = scmap > 0
    locref = jnp.where(region[..., None], jnp.stack([dxs, dys], -1) / locref_stdev, 0.0)
    any_lab = jnp.any(lab, axis=1)[:, None, None, :]  # (B, 1, 1, Km)
    weights = jnp.broadcast_to(any_lab.astype(jnp.float32), scmap.shape)
    loc_w = jnp.broadcast_to(scmap[..., None], locref.shape)
    out = {"scmap": scmap, "scmap_weights": weights, "locref": locref, "locref_weights": loc_w}
    if layout.n_unique:
        u = make_targets(unique, out_hw=out_hw, stride=stride, pos_dist_thresh=pos_dist_thresh,
                         locref_stdev=locref_stdev)
        out = {k: jnp.concatenate([out[k], u[k]], axis=3) for k in out}
    out["paf"] = _paf_targets(m0, lab, cx, cy, layout.edges,
                              pos_dist_thresh / 2 if paf_half_width is None else paf_half_width)
    if layout.identity:
        d_any = jnp.min(d2, axis=4)  # (B, h, w, I): nearest keypoint of each animal
        out["identity"] = jnp.argmin(d_any, axis=3).astype(jnp.int32)
        out["identity_weights"] = (jnp.min(d_any, axis=3) <= pos_dist_thresh**2).astype(
            jnp.float32)
    return out


def _paf_targets(m0: jax.Array, lab: jax.Array, cx: jax.Array, cy: jax.Array,
                 edges: tuple[tuple[int, int], ...], half_width: float) -> jax.Array:
    b = m0.shape[0]
    if not edges:
        return jnp.zeros((b, cy.shape[0], cx.shape[0], 0, 2), jnp.float32)
    s = jnp.asarray([e[0] for e in edges])
    t = jnp.asarray([e[1] for e in edges])
    ps, pt = m0[:, :, s], m0[:, :, t]  # (B, I, E, 2)
    v = pt - ps
    length = jnp.linalg.norm(v, axis=-1)  # (B, I, E)
    valid = lab[:, :, s] & lab[:, :, t] & (length > 1e-6)
    u = v / jnp.maximum(length, 1e-6)[..., None]
    rx = cx[None, None, :, None, None] - ps[:, None, None, ..., 0]  # (B, 1, w, I, E)
    ry = cy[None, :, None, None, None] - ps[:, None, None, ..., 1]  # (B, h, 1, I, E)
    ux, uy = u[:, None, None, ..., 0], u[:, None, None, ..., 1]
    along = jnp.clip(rx * ux + ry * uy, 0.0, length[:, None, None])  # (B, h, w, I, E)
    d2 = (rx - along * ux) ** 2 + (ry - along * uy) ** 2
    inside = (d2 <= half_width**2) & valid[:, None, None]
    count = jnp.sum(inside, axis=3)  # (B, h, w, E)
    vec = jnp.stack([jnp.sum(jnp.where(inside, ux, 0.0), axis=3),
                     jnp.sum(jnp.where(inside, uy, 0.0), axis=3)], axis=-1)
    return vec / jnp.maximum(count, 1)[..., None].astype(jnp.float32)


def ma_loss_terms(outputs: dict[str, jax.Array], targets: dict[str, jax.Array],
                  locref_huber_weight: float = 0.05, paf_weight: float = 1.0,
                  identity_weight: float = 1.0) -> dict[str, jax.Array]:
    """DLC's score-map + locref loss plus ``paf_loss`` (MSE) and ``id_loss`` (cross-entropy).

    Keys: ``part_loss``, ``locref_loss``, ``paf_loss``, ``id_loss`` and ``total``
    (``part + locref + paf_weight * paf + identity_weight * id``).
    """
    terms = dict(heatmap_loss_terms(outputs["scores"], outputs["locref"], targets,
                                    locref_huber_weight))
    paf = outputs["paf"]
    if paf.shape[3]:
        terms["paf_loss"] = jnp.mean((paf.astype(jnp.float32) - targets["paf"]) ** 2)
    else:
        terms["paf_loss"] = jnp.zeros((), jnp.float32)
    if "identity" in outputs and "identity" in targets:
        ce = optax.softmax_cross_entropy_with_integer_labels(
            outputs["identity"].astype(jnp.float32), targets["identity"])
        wts = targets["identity_weights"]
        terms["id_loss"] = jnp.sum(ce * wts) / jnp.maximum(jnp.sum(wts), 1.0)
    else:
        terms["id_loss"] = jnp.zeros((), jnp.float32)
    terms["total"] = (terms["part_loss"] + terms["locref_loss"] + paf_weight * terms["paf_loss"]
                      + identity_weight * terms["id_loss"])
    return terms
