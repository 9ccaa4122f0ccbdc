"""Training targets (scoremaps + location refinement) and the DeepLabCut heatmap loss.

Mirrors DeepLabCut's ``compute_target_part_scoremap_numpy``: a scoremap cell ``(i, j)`` with
centre ``(j*s + s/2, i*s + s/2)`` in network-input pixels is positive when its distance to the
keypoint is ``<= pos_dist_thresh``; inside that disk the locref target is
``(keypoint - centre) / locref_stdev`` with weight 1. The Gaussian option follows DLC's
``gaussian_scmap``: ``exp(-d^2 / 2 sigma^2)`` scores, locref targets everywhere, weighted in
the disk. Decoding these targets with `markerless.decoding.decode_scoremaps` returns the
keypoints exactly, which is what makes the two modules consistent.

Everything is broadcasting over ``(B, h, w, K)``: no Python loop over keypoints or pixels,
and the functions jit (geometry arguments are static).
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
import optax

__all__ = ["DEFAULT_LOCREF_STDEV", "heatmap_loss", "heatmap_loss_terms", "make_targets",
           "positive_weights"]

DEFAULT_LOCREF_STDEV = 7.2801


@functools.partial(
    jax.jit,
    static_argnames=(
        "out_hw",
        "stride",
        "pos_dist_thresh",
        "mode",
        "sigma",
        "locref_stdev",
        "unlabeled_weight",
    ),
)
def make_targets(
    keypoints: jax.Array,
    out_hw: tuple[int, int],
    stride: int,
    pos_dist_thresh: float = 17.0,
    mode: Literal["disk", "gaussian"] = "disk",
    sigma: float | None = None,
    locref_stdev: float = DEFAULT_LOCREF_STDEV,
    unlabeled_weight: float = 0.0,
) -> dict[str, jax.Array]:
    """Scoremap and locref targets for a batch of keypoints.

    Parameters
    ----------
    keypoints
        ``(B, K, 2)`` ``[x, y]`` in network-input pixels; NaN (either coordinate) = unlabeled.
    out_hw
        ``(h, w)`` of the network's output maps.
    stride
        Input pixels per output cell.
    pos_dist_thresh
        Disk radius in input pixels (DLC ``pos_dist_thresh``, default 17).
    mode
        ``"disk"`` (DLC's binary targets) or ``"gaussian"``.
    sigma
        Gaussian standard deviation in input pixels; None = ``pos_dist_thresh / 4`` as DLC.
    locref_stdev
        Scale of the locref targets in pixels (DLC ``locref_stdev``).
    unlabeled_weight
        Scoremap weight of unlabeled keypoints. 0 (default) masks them out of the loss;
        1 reproduces DLC's ``weigh_only_present_joints: false`` (they become negatives).

    Returns
    -------
    dict with ``scmap`` ``(B, h, w, K)``, ``scmap_weights`` ``(B, h, w, K)``, ``locref``
    ``(B, h, w, K, 2)`` and ``locref_weights`` ``(B, h, w, K, 2)``, all float32.
    """
    if mode not in ("disk", "gaussian"):
        raise ValueError(f"mode must be 'disk' or 'gaussian', got {mode!r}")
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints must be (B, K, 2); got shape {keypoints.shape}")
    h, w = out_hw
    kp = keypoints.astype(jnp.float32)
    labeled = ~jnp.any(jnp.isnan(kp), axis=-1)  # (B, K)
    kp = jnp.where(labeled[..., None], kp, 0.0)

    half = 0.5 * stride
    cx = jnp.arange(w, dtype=jnp.float32) * stride + half  # (w,)
    cy = jnp.arange(h, dtype=jnp.float32) * stride + half  # (h,)
    # (B, 1, w, K) and (B, h, 1, K): broadcast to (B, h, w, K) only where needed.
    dx = kp[:, None, None, :, 0] - cx[None, None, :, None]
    dy = kp[:, None, None, :, 1] - cy[None, :, None, None]
    dist_sq = dx**2 + dy**2  # (B, h, w, K)
    lab = labeled[:, None, None, :]
    in_disk = (dist_sq <= pos_dist_thresh**2) & lab

    if mode == "disk":
        scmap = in_disk.astype(jnp.float32)
        locref_region = in_disk
    else:
        sd = pos_dist_thresh / 4.0 if sigma is None else float(sigma)
        scmap = jnp.where(lab, jnp.exp(-dist_sq / (2.0 * sd**2)), 0.0)
        locref_region = jnp.broadcast_to(lab, dist_sq.shape)

    scmap_weights = jnp.broadcast_to(
        jnp.where(lab, 1.0, unlabeled_weight).astype(jnp.float32), scmap.shape
    )
    locref = jnp.stack(
        [jnp.broadcast_to(dx, dist_sq.shape), jnp.broadcast_to(dy, dist_sq.shape)], axis=-1
    )
    locref = jnp.where(locref_region[..., None], locref / locref_stdev, 0.0)
    locref_weights = jnp.broadcast_to(
        in_disk[..., None].astype(jnp.float32), locref.shape
    )
    return {
        "scmap": scmap,
        "scmap_weights": scmap_weights,
        "locref": locref.astype(jnp.float32),
        "locref_weights": locref_weights,
    }


def positive_weights(keypoints, base: float = 1.0, max_ratio: float = 8.0):
    """``(K,)`` positive weights: ``base``, times how much rarer each part is labeled than
    the most often labeled one (capped at ``max_ratio``).

    ``keypoints`` ``(N, ..., K, 2)``, NaN = unlabeled. Why: trained as negatives where it is
    not labeled, a part labeled in a fifth of the frames gets a fifth of the positive
    gradient of the others; this restores it (up to ``max_ratio``).
    """
    import numpy as np

    kp = np.asarray(keypoints, dtype=np.float64)
    labeled = np.isfinite(kp).all(-1).reshape(-1, kp.shape[-2])
    share = labeled.mean(axis=0)
    top = share.max() if share.size and share.max() > 0 else 1.0
    ratio = np.where(share > 0, top / np.maximum(share, 1e-12), 1.0)
    return (base * np.clip(ratio, 1.0, max_ratio)).astype(np.float32)


def _mean_over_nonzero(values: jax.Array, weights: jax.Array) -> jax.Array:
    """TF1 ``SUM_BY_NONZERO_WEIGHTS`` reduction (DLC's losses): sum(w*v) / #(w != 0)."""
    weights = jnp.broadcast_to(weights, values.shape)
    count = jnp.sum(weights != 0)
    return jnp.sum(weights * values) / jnp.maximum(count, 1).astype(values.dtype)


@functools.partial(jax.jit, static_argnames=("visibility_weight",))
def heatmap_loss_terms(
    logits: jax.Array,
    locref_pred: jax.Array | None,
    targets: dict[str, jax.Array],
    locref_huber_weight: float = 0.05,
    positive_weight: float | jax.Array = 1.0,
    visibility_weight: float = 0.0,
) -> dict[str, jax.Array]:
    """DLC's training loss split into terms: ``part_loss``, ``locref_loss`` and ``total``.

    ``part_loss`` is the weighted sigmoid cross-entropy of the scoremap logits against
    ``targets["scmap"]``; ``locref_loss`` is ``locref_huber_weight`` times the weighted Huber
    loss (delta 1) of ``locref_pred`` against ``targets["locref"]`` (DLC:
    ``locref_loss_weight: 0.05``, ``locref_huber_loss: true``). Both are averaged over
    non-zero weights like TF1's losses; a batch with no labeled keypoint gives 0, not NaN.
    ``locref_pred=None`` trains scoremaps only. Jitted (inlined when called under the
    trainer's own jit).

    ``positive_weight`` (a number, or ``(K,)`` one per bodypart) multiplies the
    cross-entropy of target cells (score > 0): with the maps of absent parts trained as
    negatives, a part visible in few frames otherwise sees its rare positives outweighed by
    thousands of empty cells and never reaches a confident score (`positive_weights` gives
    rarer parts more). The loss is computed on the logits plus ``log(positive_weight)``, so
    that the network's own logits stay calibrated probabilities. ``visibility_weight`` adds ``visibility_loss``: the cross-entropy of
    each map's largest logit (what decoding reads as the likelihood) against "the part is
    in this image", so the likelihood itself learns to answer "not visible".
    """
    logits = logits.astype(jnp.float32)
    pos_w = jnp.asarray(positive_weight, jnp.float32)
    # weighted cross-entropy with the logits shifted by log(weight) ("logit adjustment"):
    # the gradient still favours the positives, but the raw logits the network outputs stay
    # calibrated (the optimum of w-weighted BCE is logit(p) + log w), so the likelihood that
    # decoding reads, and pcutoff, keep their meaning
    part = optax.sigmoid_binary_cross_entropy(logits + jnp.log(pos_w), targets["scmap"])
    part = part * jnp.where(targets["scmap"] > 0, pos_w, 1.0)
    part_loss = _mean_over_nonzero(part, targets["scmap_weights"])
    if visibility_weight:
        # in the image = some cell within pos_dist_thresh of it (the disk, in either mode)
        present = jnp.max(targets["locref_weights"][..., 0], axis=(1, 2))  # (B, K)
        counted = jnp.max(targets["scmap_weights"], axis=(1, 2))  # masked parts: 0
        peak = jnp.max(logits, axis=(1, 2))
        vis = optax.sigmoid_binary_cross_entropy(peak, present)
        visibility_loss = visibility_weight * _mean_over_nonzero(vis, counted)
    else:
        visibility_loss = jnp.zeros((), jnp.float32)
    if locref_pred is None:
        locref_loss = jnp.zeros((), jnp.float32)
    else:
        if locref_pred.shape != targets["locref"].shape:
            raise ValueError(
                f"locref_pred shape {locref_pred.shape} does not match the targets' "
                f"{targets['locref'].shape} (expected (B, h, w, K, 2))"
            )
        hub = optax.huber_loss(locref_pred.astype(jnp.float32), targets["locref"], delta=1.0)
        locref_loss = locref_huber_weight * _mean_over_nonzero(hub, targets["locref_weights"])
    return {"part_loss": part_loss, "locref_loss": locref_loss,
            "visibility_loss": visibility_loss,
            "total": part_loss + locref_loss + visibility_loss}


def heatmap_loss(
    logits: jax.Array,
    locref_pred: jax.Array | None,
    targets: dict[str, jax.Array],
    locref_huber_weight: float = 0.05,
) -> jax.Array:
    """Scalar DLC loss (see `heatmap_loss_terms`), ready for ``jax.value_and_grad``."""
    return heatmap_loss_terms(logits, locref_pred, targets, locref_huber_weight)["total"]
