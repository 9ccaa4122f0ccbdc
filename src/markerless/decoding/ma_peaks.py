"""On-device multi-animal decoding: peaks by NMS, locref offsets, PAF line integrals.

Everything here is pure ``jnp`` on fixed shapes, so it runs inside the same ``jax.jit`` as
the network (`markerless.analysis.ma_inference`): only fixed-size padded arrays leave the
device, never the maps:

* ``peaks`` ``(B, K, P, 3)`` ``[x, y, score]`` in network-input pixels: the ``P`` strongest
  local maxima of each bodypart's score map (a cell equal to the max of its
  ``(2r+1)^2`` window and with score ``>= threshold``, as DLC's max-pool NMS), best first,
  refined by locref; NaN coordinates and score 0 pad channels with fewer peaks;
* ``affinity`` ``(B, E, P, P)``: for each assembled edge ``(s, t)`` and every pair of peaks
  (``p`` of bodypart ``s``, ``q`` of ``t``), the mean over ``n_points`` samples along the
  segment of the PAF vector projected on the segment's direction (OpenPose's line
  integral; ~1 for a true limb, ~0 across animals); NaN where either peak is padding;
* ``identity`` ``(B, K, P, N)`` (identity models): softmax over individuals at each peak.

Sampling takes the PAF of the cell under each point (no interpolation), as DLC does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

__all__ = ["PeakConfig", "detect_peaks"]


@dataclass(frozen=True)
class PeakConfig:
    """Static settings of `detect_peaks` (hashable: part of the compiled function's key).

    ``edges`` are the ``(s, t)`` bodypart pairs whose affinities are computed (the model's
    ``paf_best``) and ``edge_channels`` their PAF output channels.
    """

    max_peaks: int = 4
    nms_radius: int = 2
    threshold: float = 0.01
    edges: tuple[tuple[int, int], ...] = ()
    edge_channels: tuple[int, ...] = ()
    n_points: int = 10
    stride: float = 8.0
    locref_stdev: float = 7.2801

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.edge_channels):
            raise ValueError("edges and edge_channels must have the same length")
        if self.max_peaks < 1 or self.nms_radius < 0 or self.n_points < 2:
            raise ValueError(f"bad peak settings: {self}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


def _gather_cells(maps: jax.Array, flat_idx: jax.Array) -> jax.Array:
    """``maps`` ``(B, h, w, C, ...)`` at flat cells ``(B, C, P)`` -> ``(B, C, P, ...)``."""
    b, h, w, c = maps.shape[:4]
    rest = maps.shape[4:]
    m = jnp.moveaxis(maps.reshape(b, h * w, c, *rest), 2, 1)  # (B, C, h*w, ...)
    idx = flat_idx.reshape(*flat_idx.shape, *([1] * len(rest)))
    return jnp.take_along_axis(m, idx, axis=2)


def detect_peaks(outputs: dict[str, jax.Array], cfg: PeakConfig) -> dict[str, jax.Array]:
    """Peaks, identity and edge affinities from the multi-animal model's raw outputs.

    ``outputs`` holds ``scores`` logits ``(B, h, w, K)``, ``locref`` ``(B, h, w, K, 2)``,
    ``paf`` ``(B, h, w, E_all, 2)`` and optionally ``identity`` logits ``(B, h, w, N)``.
    See the module docstring for the returned arrays. Traceable (call it under ``jit``).
    """
    logits = outputs["scores"].astype(jnp.float32)
    b, h, w, k = logits.shape
    p = min(cfg.max_peaks, h * w)
    size = 2 * cfg.nms_radius + 1
    # NMS on the logits: the sigmoid is monotonic, so the peaks are those of the maps.
    pooled = jax.lax.reduce_window(logits, -jnp.inf, jax.lax.max, (1, size, size, 1),
                                   (1, 1, 1, 1), "SAME")
    thr = math.log(cfg.threshold / (1.0 - cfg.threshold))
    masked = jnp.where((logits == pooled) & (logits >= thr), logits, -jnp.inf)
    top, idx = jax.lax.top_k(jnp.moveaxis(masked, 3, 1).reshape(b, k, h * w), p)
    valid = jnp.isfinite(top)  # (B, K, P)
    offsets = _gather_cells(outputs["locref"].astype(jnp.float32), idx)  # (B, K, P, 2)
    half = 0.5 * cfg.stride
    x = (idx % w).astype(jnp.float32) * cfg.stride + half + offsets[..., 0] * cfg.locref_stdev
    y = (idx // w).astype(jnp.float32) * cfg.stride + half + offsets[..., 1] * cfg.locref_stdev
    score = jnp.where(valid, jax.nn.sigmoid(top), 0.0)
    nan = jnp.float32(jnp.nan)
    out = {"peaks": jnp.stack([jnp.where(valid, x, nan), jnp.where(valid, y, nan), score], -1)}
    if "identity" in outputs:
        ident = outputs["identity"].astype(jnp.float32)
        n_id = ident.shape[-1]
        flat = ident.reshape(b, h * w, n_id)
        at = jnp.take_along_axis(flat, idx.reshape(b, k * p, 1), axis=1).reshape(b, k, p, n_id)
        out["identity"] = jax.nn.softmax(at, axis=-1)
    out["affinity"] = _affinities(outputs["paf"], x, y, valid, cfg, h, w)
    return out


def _affinities(paf: jax.Array, x: jax.Array, y: jax.Array, valid: jax.Array,
                cfg: PeakConfig, h: int, w: int) -> jax.Array:
    b, _, p = x.shape
    n_e = len(cfg.edges)
    if n_e == 0:
        return jnp.zeros((b, 0, p, p), jnp.float32)
    s = jnp.asarray([e[0] for e in cfg.edges])
    t = jnp.asarray([e[1] for e in cfg.edges])
    x0 = jnp.where(valid, x, 0.0)
    y0 = jnp.where(valid, y, 0.0)
    xs, ys = x0[:, s, :, None, None], y0[:, s, :, None, None]  # (B, E, P, 1, 1)
    xt, yt = x0[:, t, None, :, None], y0[:, t, None, :, None]  # (B, E, 1, P, 1)
    frac = jnp.linspace(0.0, 1.0, cfg.n_points, dtype=jnp.float32)
    px = xs + (xt - xs) * frac  # (B, E, P, P, n)
    py = ys + (yt - ys) * frac
    col = jnp.clip(jnp.floor(px / cfg.stride), 0, w - 1).astype(jnp.int32)
    row = jnp.clip(jnp.floor(py / cfg.stride), 0, h - 1).astype(jnp.int32)
    cells = (row * w + col).reshape(b, n_e, -1)  # (B, E, P*P*n)
    sel = paf[..., jnp.asarray(cfg.edge_channels), :].astype(jnp.float32)  # (B, h, w, E, 2)
    vec = _gather_cells(sel, cells).reshape(b, n_e, p, p, cfg.n_points, 2)
    dx, dy = (xt - xs)[..., 0], (yt - ys)[..., 0]  # (B, E, P, P)
    length = jnp.sqrt(dx**2 + dy**2)
    ux = dx / jnp.maximum(length, 1e-6)
    uy = dy / jnp.maximum(length, 1e-6)
    aff = jnp.mean(vec[..., 0] * ux[..., None] + vec[..., 1] * uy[..., None], axis=-1)
    both = valid[:, s, :, None] & valid[:, t, None, :]
    return jnp.where(both, aff, jnp.nan)
