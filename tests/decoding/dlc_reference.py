"""NumPy reference of DeepLabCut's batched decode (``predict.getposeNP`` with one output).

Written from DeepLabCut's algorithm (``extract_cnn_outputmulti`` + ``get_top_values`` +
the per-frame, per-keypoint gather loop) so tests and benchmarks compare against what DLC
actually computes, including its cost profile: the full locref array is scaled by
``locref_stdev`` before a Python loop over frames x keypoints gathers offsets and scores.
"""

from __future__ import annotations

import numpy as np

DLC_LOCREF_STDEV = 7.2801


def dlc_top_cells(scmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched argmax over the flattened maps -> (rows, cols), each (B, K)."""
    batch, ny, nx, num_joints = scmap.shape
    flat = scmap.reshape(batch, ny * nx, num_joints)
    top = np.argmax(flat, axis=1)
    return np.unravel_index(top, (ny, nx))


def dlc_decode(
    scmap: np.ndarray,
    locref: np.ndarray | None,
    stride: float,
    locref_stdev: float = DLC_LOCREF_STDEV,
    scale_full_locref: bool = True,
    inplace: bool = False,
) -> np.ndarray:
    """(B, K, 3) [x, y, likelihood] exactly as DeepLabCut's getposeNP (num_outputs=1).

    ``scale_full_locref=True`` mirrors DLC (multiply the whole locref array first);
    False scales only the gathered offsets, a cheaper variant used as a second, faster
    baseline in benchmarks. ``inplace=True`` scales the caller's locref in place exactly as
    DLC does (no temporary; the array is modified). ``locref=None`` decodes to cell centres.
    """
    batch, _, _, num_joints = scmap.shape
    rows, cols = dlc_top_cells(scmap)
    if locref is not None and scale_full_locref:
        if inplace:
            locref *= locref_stdev
        else:
            locref = locref * locref_stdev
    dz = np.zeros((batch, num_joints, 3))
    for b in range(batch):
        for k in range(num_joints):
            y, x = rows[b, k], cols[b, k]
            if locref is not None:
                dz[b, k, :2] = locref[b, y, x, k, :]
            dz[b, k, 2] = scmap[b, y, x, k]
    if locref is not None and not scale_full_locref:
        dz[:, :, :2] *= locref_stdev
    xs = cols.astype("float32") * stride + 0.5 * stride + dz[:, :, 0]
    ys = rows.astype("float32") * stride + 0.5 * stride + dz[:, :, 1]
    return np.stack([xs, ys, dz[:, :, 2]], axis=-1)
