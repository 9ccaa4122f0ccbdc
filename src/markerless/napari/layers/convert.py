"""Pure conversions between :class:`~markerless.poses.Poses` and napari Points layer data.

napari orders point coordinates ``(frame, y, x)``; DeepLabCut stores ``(x, y)``.
The swap happens here and nowhere else. Nothing in this module needs a viewer,
so it is tested without one.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from markerless.errors import LabelFileError
from markerless.poses import SINGLE_ANIMAL, Poses

META_KEY = "markerless"


def bodypart_colors(bodyparts: list[str], colormap: str = "rainbow") -> dict[str, np.ndarray]:
    """One RGBA colour per bodypart (`markerless.drawing.colormap_colors`; an unknown
    colormap falls back to rainbow rather than failing a layer)."""
    from markerless.drawing import colormap_colors

    colors = colormap_colors(max(len(bodyparts), 1), colormap, fallback="rainbow")
    return dict(zip(bodyparts, colors, strict=False))


def poses_to_points(
    poses: Poses,
    *,
    kind: str = "labels",
    colormap: str = "rainbow",
    pcutoff: float | None = None,
    extra_meta: dict[str, Any] | None = None,
    size: float = 8.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Points layer ``(data, kwargs)`` for the labeled keypoints of ``poses``.

    ``data[:, 0]`` is the position in ``poses.frames`` (the image stack index).
    ``kwargs['metadata'][META_KEY]`` carries everything :func:`points_to_poses`
    needs to rebuild the same Poses, including frames with no label at all.
    """
    labeled = poses.labeled
    f, i, k = np.nonzero(labeled)
    xy = poses.xy[f, i, k]
    data = np.column_stack([f, xy[:, 1], xy[:, 0]]).astype(float)
    features = pd.DataFrame(
        {
            "bodypart": pd.Categorical(
                np.asarray(poses.bodyparts, dtype=object)[k], categories=poses.bodyparts
            ),
            "individual": pd.Categorical(
                np.asarray(poses.individuals, dtype=object)[i], categories=poses.individuals
            ),
            "likelihood": (
                poses.likelihood[f, i, k] if poses.likelihood is not None else np.ones(len(f))
            ),
        }
    )
    colors = bodypart_colors(poses.bodyparts, colormap)
    meta = {
        "kind": kind,
        "bodyparts": list(poses.bodyparts),
        "individuals": list(poses.individuals),
        "frames": [str(x) if not isinstance(x, (int, np.integer)) else int(x)
                   for x in poses.frames],
        "scorer": poses.scorer,
        "defined": poses.defined.tolist(),
        "has_likelihood": poses.likelihood is not None,
        "colormap": colormap,
        **(extra_meta or {}),
    }
    kwargs: dict[str, Any] = {
        "name": f"{kind} {poses.scorer}",
        "features": features,
        "face_color": "bodypart",
        # a mapping, not a list: napari assigns list colours in order of first appearance
        "face_color_cycle": {bp: colors[bp] for bp in poses.bodyparts},
        "border_color": "individual" if poses.multianimal else "white",
        "border_width": 0.1 if poses.multianimal else 0.05,
        "size": size,
        "metadata": {META_KEY: meta},
        "text": None,
    }
    if poses.multianimal:
        kwargs["border_color_cycle"] = bodypart_colors(poses.individuals, "tab10")
    if pcutoff is not None and poses.likelihood is not None:
        kwargs["shown"] = features["likelihood"].to_numpy() >= pcutoff
    return data, kwargs


def points_to_poses(
    data: np.ndarray, features: pd.DataFrame | dict, metadata: dict[str, Any]
) -> Poses:
    """Rebuild Poses from Points layer ``data`` (frame, y, x), features and metadata.

    Frames come from the metadata so frames whose labels were all deleted are kept
    (as NaN) rather than dropped. Two points for the same frame, individual and
    bodypart: the last one wins, with a warning naming them.
    """
    meta = metadata.get(META_KEY, metadata)
    try:
        bodyparts = list(meta["bodyparts"])
        individuals = list(meta.get("individuals", [SINGLE_ANIMAL]))
        frames = list(meta["frames"])
    except KeyError as err:
        raise LabelFileError(
            f"Points layer metadata lacks {err}: it was not opened from a DeepLabCut file or "
            "project; use the Labeling dock to create a keypoints layer"
        ) from None
    features = pd.DataFrame(features)
    data = np.asarray(data, dtype=float).reshape(-1, 3)
    n = len(data)
    fr = np.rint(data[:, 0]).astype(int)
    if n and (fr.min() < 0 or fr.max() >= len(frames)):
        bad = fr[(fr < 0) | (fr >= len(frames))][0]
        raise LabelFileError(f"A point sits on frame {bad}, outside the {len(frames)} frames")
    bp = features["bodypart"].astype(str).to_numpy() if n else np.array([], dtype=str)
    if "individual" in features and n:
        ind = features["individual"].astype(str).to_numpy()
    else:
        ind = np.full(n, individuals[0], dtype=object)
    bp_idx = pd.Index(bodyparts).get_indexer(bp)
    ind_idx = pd.Index(individuals).get_indexer(ind)
    if (bp_idx < 0).any():
        raise LabelFileError(f"Unknown bodypart {bp[bp_idx < 0][0]!r}; known: {bodyparts}")
    if (ind_idx < 0).any():
        raise LabelFileError(f"Unknown individual {ind[ind_idx < 0][0]!r}; known: {individuals}")
    flat = (fr * len(individuals) + ind_idx) * len(bodyparts) + bp_idx
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        f0, rest = divmod(dup, len(individuals) * len(bodyparts))
        warnings.warn(
            f"{int((counts > 1).sum())} keypoints were placed twice; keeping the last. "
            f"First: frame {frames[f0]}, bodypart {bodyparts[rest % len(bodyparts)]!r}",
            stacklevel=2,
        )
    xy = np.full((len(frames), len(individuals), len(bodyparts), 2), np.nan)
    xy[fr, ind_idx, bp_idx] = data[:, [2, 1]]
    likelihood = None
    if meta.get("has_likelihood") and "likelihood" in features:
        likelihood = np.full(xy.shape[:3], np.nan)
        likelihood[fr, ind_idx, bp_idx] = features["likelihood"].to_numpy(dtype=float)
    defined = np.asarray(meta.get("defined", np.ones((len(individuals), len(bodyparts)))), bool)
    return Poses(xy, bodyparts, individuals, frames, meta.get("scorer", "markerless"),
                 likelihood, defined)
