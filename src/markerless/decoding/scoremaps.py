"""Jitted decoding of scoremaps + location refinement into keypoint coordinates.

Conventions (shared with the model and `markerless.training.targets`), identical to
DeepLabCut's ``predict.py``:

* scoremaps are ``(B, h, w, K)``; locref is ``(B, h, w, K, 2)`` with ``[..., 0] = dx`` and
  ``[..., 1] = dy`` in units of ``locref_stdev`` (DLC default 7.2801 px);
* cell ``(i, j)`` at output stride ``s`` has its centre at input pixel
  ``(x, y) = (j*s + s/2, i*s + s/2)``;
* single-animal decoding: ``argmax`` per keypoint, ``x = j*s + s/2 + dx*locref_stdev``,
  likelihood = scoremap probability at the argmax.

Every function here is ``jax.jit``-compiled with the geometry (stride, locref_stdev, peak
counts) static. Shapes are not static arguments but jit still specialises on them: the first
call with a new ``(B, h, w, K)`` compiles (~0.1 s), later calls with that shape reuse it. Keep
batch sizes fixed (pad the last batch) in a video loop to avoid recompiles.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = [
    "DEFAULT_LOCREF_STDEV",
    "decode_logits",
    "decode_peaks",
    "decode_scoremaps",
    "find_peaks",
]

DEFAULT_LOCREF_STDEV = 7.2801


def _check_shapes(scmap: jax.Array, locref: jax.Array | None) -> None:
    if scmap.ndim != 4:
        raise ValueError(f"scmap must be (B, h, w, K); got shape {scmap.shape}")
    if locref is not None and locref.shape != (*scmap.shape, 2):
        raise ValueError(
            f"locref must be (B, h, w, K, 2) = {(*scmap.shape, 2)} to match scmap; "
            f"got shape {locref.shape}"
        )


def _row_group(w: int, k: int) -> int:
    """Largest divisor g of w with g*k <= 16: folds g columns into the minor axis so the
    row-max reduction runs on >= 16-float vectors even for few keypoints (XLA CPU)."""
    return max(g for g in range(1, w + 1) if w % g == 0 and (g * k <= 16 or g == 1))


def _first_index_of(values: jax.Array, target: jax.Array, axis: int) -> jax.Array:
    """First index along ``axis`` where ``values`` equals ``target`` (NaN matches NaN), or 0.

    A plain int min-reduction: several times faster on XLA CPU than a (value, index) argmax.
    "Not found" can only happen on NaN maps (see `_argmax_cells`); it returns 0, like
    ``np.argmax`` on an all-NaN map, so the cell index is always in range.
    """
    target = jnp.expand_dims(target, axis)
    hit = (values == target) | (jnp.isnan(values) & jnp.isnan(target))
    n = values.shape[axis]
    iota = jax.lax.broadcasted_iota(jnp.int32, values.shape, axis % values.ndim)
    first = jnp.min(jnp.where(hit, iota, n), axis=axis)
    return jnp.where(first == n, 0, first)


def _argmax_cells(scmap: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Row-major first argmax per (frame, keypoint) -> (rows, cols), each (B, K) int32.

    Same result as ``np.argmax`` over the flattened h*w, ties included, but as one streaming
    max-reduction over the maps (max of each row) followed by work on tiny arrays; a direct
    (value, index) argmax over h*w is ~5-10x slower on XLA CPU.

    NaN: XLA CPU hands large max-reductions to YNNPACK, whose max skips NaN (measured with
    jaxlib 0.10.2 from 4x30x40x4 maps up), while small ones propagate NaN. So in a map with
    some NaN cells the winner is either the first NaN (``np.argmax``) or the largest number
    (``np.nanargmax``), depending on shape; making it exact would cost a second pass over the
    maps (a NaN-aware max is 2-3x slower there). A map that is all NaN always decodes to cell
    (0, 0) with NaN likelihood, as ``np.argmax`` does. Finite maps always match exactly.
    """
    b, h, w, k = scmap.shape
    g = _row_group(w, k)
    rowmax = scmap.reshape(b, h, w // g, g * k).max(axis=2)
    if g > 1:
        rowmax = rowmax.reshape(b, h, g, k).max(axis=2)
    # The barrier stops XLA from folding max(max(x)) into a second full pass over the maps.
    rowmax = jax.lax.optimization_barrier(rowmax)
    best = jnp.max(rowmax, axis=1)  # (B, K)
    rows = _first_index_of(rowmax, best, axis=1)  # first row holding the max
    bi = jnp.arange(b)[:, None]
    ki = jnp.arange(k)[None, :]
    row_vals = scmap[bi, rows, :, ki]  # (B, K, w): only the winning rows are read again
    cols = _first_index_of(row_vals, best, axis=-1)
    return rows, cols


def _gather(scmap: jax.Array, locref: jax.Array | None, rows: jax.Array, cols: jax.Array):
    """Scores (B, K) and locref offsets (B, K, 2) (or None) at the given cells."""
    b, _, _, k = scmap.shape
    bi = jnp.arange(b)[:, None]
    ki = jnp.arange(k)[None, :]
    score = scmap[bi, rows, cols, ki]
    offsets = None if locref is None else locref[bi, rows, cols, ki]
    return score, offsets


def _cells_to_pixels(
    rows: jax.Array,
    cols: jax.Array,
    offsets: jax.Array | None,
    stride: float,
    locref_stdev: float,
) -> tuple[jax.Array, jax.Array]:
    """Cell indices (+ locref offsets in stdev units) -> input pixel coordinates."""
    half = 0.5 * stride
    x = cols.astype(jnp.float32) * stride + half
    y = rows.astype(jnp.float32) * stride + half
    if offsets is not None:
        offsets = offsets.astype(jnp.float32) * locref_stdev
        x = x + offsets[..., 0]
        y = y + offsets[..., 1]
    return x, y


@functools.partial(jax.jit, static_argnames=("stride", "locref_stdev"))
def decode_scoremaps(
    scmap: jax.Array,
    locref: jax.Array | None,
    stride: float,
    locref_stdev: float = DEFAULT_LOCREF_STDEV,
) -> jax.Array:
    """Single-animal decode (DeepLabCut's ``argmax_pose_predict``), vectorised over B and K.

    Parameters
    ----------
    scmap
        ``(B, h, w, K)`` probabilities (already sigmoid-ed; see `decode_logits`).
    locref
        ``(B, h, w, K, 2)`` offsets in units of ``locref_stdev``, or None for cell centres.
    stride
        Output stride of the network (input pixels per scoremap cell).
    locref_stdev
        Scale of the locref channels in pixels.

    Returns
    -------
    ``(B, K, 3)`` float32 ``[x, y, likelihood]`` in network-input pixels. Ties resolve to the
    first cell in row-major order, as ``np.argmax`` does. An all-NaN map gives cell (0, 0)
    with NaN likelihood; for partly-NaN maps see `_argmax_cells`.
    """
    _check_shapes(scmap, locref)
    rows, cols = _argmax_cells(scmap)
    score, offsets = _gather(scmap, locref, rows, cols)
    x, y = _cells_to_pixels(rows, cols, offsets, stride, locref_stdev)
    return jnp.stack([x, y, score.astype(jnp.float32)], axis=-1)


def mask_padding(logits: jax.Array, valid_hw: jax.Array | tuple[int, int], stride: float
                 ) -> jax.Array:
    """``logits`` with the cells whose centre lies outside ``valid_hw`` set to the lowest
    float (see `decode_logits`)."""
    _, h, w, _ = logits.shape
    valid = jnp.asarray(valid_hw, jnp.float32).reshape(-1, 2)  # (B or 1, 2)
    cy = jnp.arange(h, dtype=jnp.float32) * stride + 0.5 * stride
    cx = jnp.arange(w, dtype=jnp.float32) * stride + 0.5 * stride
    inside = (cy[None, :, None] < valid[:, 0, None, None]) & (
        cx[None, None, :] < valid[:, 1, None, None])  # (B or 1, h, w)
    low = jnp.finfo(logits.dtype).min
    return jnp.where(inside[..., None], logits, low)


@functools.partial(jax.jit, static_argnames=("stride", "locref_stdev"))
def decode_logits(
    logits: jax.Array,
    locref: jax.Array | None,
    stride: float,
    locref_stdev: float = DEFAULT_LOCREF_STDEV,
    valid_hw: jax.Array | tuple[int, int] | None = None,
) -> jax.Array:
    """`decode_scoremaps` on raw network logits.

    The argmax is taken on the logits (sigmoid is monotonic, so the cell is the same) and the
    sigmoid is applied to the K winning values only; this lets XLA fuse decoding with the
    network's last layer without materialising the probability maps.

    ``valid_hw`` is the image's own ``(height, width)`` in network-input pixels when the
    input was zero-padded beyond it (to a multiple of 32, or to the largest image of a
    batch): a ``(2,)`` pair for the whole batch or ``(B, 2)`` per image. Cells whose centre
    lies in the padding are never chosen; the network was not trained on large black
    bands and can fire there.
    """
    _check_shapes(logits, locref)
    if valid_hw is not None:
        logits = mask_padding(logits, valid_hw, stride)
    rows, cols = _argmax_cells(logits)
    score, offsets = _gather(logits, locref, rows, cols)
    score = jax.nn.sigmoid(score.astype(jnp.float32))
    x, y = _cells_to_pixels(rows, cols, offsets, stride, locref_stdev)
    return jnp.stack([x, y, score], axis=-1)


@functools.partial(jax.jit, static_argnames=("nms_radius", "max_peaks"))
def find_peaks(
    scmap: jax.Array,
    threshold: float = 0.01,
    nms_radius: int = 2,
    max_peaks: int = 8,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Local maxima per keypoint channel, fixed-size for jit (multi-animal decoding).

    A cell is a peak when it equals the max over the ``(2*nms_radius+1)^2`` window around it
    (max-pool NMS via ``lax.reduce_window``) and its score is ``>= threshold``. DeepLabCut's
    ``find_local_peak_indices_maxpool_nms`` uses the same test with a ``radius``-wide window;
    here the window is centred and symmetric. Equal neighbours on a plateau are all peaks.

    Returns
    -------
    cells
        ``(B, K, max_peaks, 2)`` int32 ``(row, col)`` of the strongest peaks, best first.
    scores
        ``(B, K, max_peaks)`` their scoremap values (0 where not valid).
    valid
        ``(B, K, max_peaks)`` bool; False pads channels with fewer than ``max_peaks`` peaks.
    """
    _check_shapes(scmap, None)
    b, h, w, k = scmap.shape
    if max_peaks > h * w:
        raise ValueError(f"max_peaks={max_peaks} exceeds the {h}x{w} cells of the scoremap")
    size = 2 * nms_radius + 1
    pooled = jax.lax.reduce_window(
        scmap, -jnp.inf, jax.lax.max, (1, size, size, 1), (1, 1, 1, 1), "SAME"
    )
    is_peak = (scmap == pooled) & (scmap >= threshold)
    masked = jnp.where(is_peak, scmap, -jnp.inf)
    masked = jnp.moveaxis(masked, 3, 1).reshape(b, k, h * w)
    top, idx = jax.lax.top_k(masked, max_peaks)
    valid = jnp.isfinite(top)
    cells = jnp.stack([idx // w, idx % w], axis=-1).astype(jnp.int32)
    return cells, jnp.where(valid, top, 0.0), valid


@functools.partial(jax.jit, static_argnames=("stride", "locref_stdev"))
def decode_peaks(
    cells: jax.Array,
    scores: jax.Array,
    valid: jax.Array,
    locref: jax.Array | None,
    stride: float,
    locref_stdev: float = DEFAULT_LOCREF_STDEV,
) -> jax.Array:
    """Turn `find_peaks` output into ``(B, K, max_peaks, 3)`` ``[x, y, score]``.

    Invalid slots get NaN coordinates and score 0, so they can be carried through the
    assembly step with fixed shapes and dropped at the end.
    """
    rows, cols = cells[..., 0], cells[..., 1]
    offsets = None
    if locref is not None:
        b, h, w, k, _ = locref.shape
        # (B, K, h*w, 2) so the gather index is (B, K, P, 1).
        loc = jnp.moveaxis(locref, 3, 1).reshape(b, k, h * w, 2)
        flat_idx = (rows * w + cols)[..., None]
        offsets = jnp.take_along_axis(loc, flat_idx, axis=2)
    x, y = _cells_to_pixels(rows, cols, offsets, stride, locref_stdev)
    x = jnp.where(valid, x, jnp.nan)
    y = jnp.where(valid, y, jnp.nan)
    return jnp.stack([x, y, jnp.where(valid, scores, 0.0).astype(jnp.float32)], axis=-1)
