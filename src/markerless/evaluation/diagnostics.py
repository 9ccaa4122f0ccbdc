"""What to look at or label next, from a model's predictions on the labeled frames.

The mean error alone does not tell a user where to spend the next labeling hour. This
lists, frame by frame, the labeled points the model puts far from their label (a label
error, or a pose the training set lacks), the labeled points it calls not visible, and the
unlabeled points it calls visible (a forgotten label, or a part shown where it is hidden).
`evaluate_network` writes the list beside its results; `check_labels` and the Refine dock
point at these frames.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FAR_FACTOR", "MIN_FAR_PX", "label_suggestions", "read_latest_suggestions"]

#: a point is far from its label beyond max(MIN_FAR_PX, FAR_FACTOR x its bodypart's median)
MIN_FAR_PX = 10.0
FAR_FACTOR = 3.0
#: file name suffix of the list in evaluation-results
SUGGESTIONS_SUFFIX = "-label-suggestions.csv"

_COLUMNS = ["frame", "set", "individual", "bodypart", "problem", "error_px", "likelihood"]


def label_suggestions(
    pred: np.ndarray,
    gt: np.ndarray,
    frames: Sequence[str],
    bodyparts: Sequence[str],
    sets: Mapping[str, Sequence[int]],
    pcutoff: float,
    min_px: float = MIN_FAR_PX,
    factor: float = FAR_FACTOR,
) -> pd.DataFrame:
    """The points worth a look, worst first: one row per (frame, bodypart) with a problem.

    ``pred`` ``(N, K, 3)`` and ``gt`` ``(N, K, 2)`` in pixels; ``sets`` maps ``"train"``
    / ``"test"`` to frame positions. Problems: ``far from its label`` (error above
    ``max(min_px, factor x that bodypart's median error)``), ``labeled, but predicted not
    visible`` (likelihood below ``pcutoff``), ``not labeled, but predicted visible``.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    n, k = gt.shape[:2]
    set_of = np.full(n, "", dtype=object)
    for name, idx in sets.items():
        set_of[np.asarray(idx, dtype=int)] = name
    used = set_of != ""
    err = np.sqrt(((pred[..., :2] - gt) ** 2).sum(-1))  # (N, K), NaN where unlabeled
    lik = pred[..., 2]
    labeled = np.isfinite(gt).all(-1)
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(labeled & used[:, None], err, np.nan), axis=0)
    limit = np.maximum(min_px, factor * np.nan_to_num(median, nan=0.0))  # (K,)
    problems = {
        "far from its label": labeled & (err > limit[None]),
        "labeled, but predicted not visible": labeled & (lik < pcutoff) & ~(err > limit[None]),
        "not labeled, but predicted visible": ~labeled & (lik >= pcutoff),
    }
    rows = []
    for problem, mask in problems.items():
        f, b = np.nonzero(mask & used[:, None])
        rows.append(pd.DataFrame({
            "frame": np.asarray(frames, dtype=object)[f], "set": set_of[f], "individual": "",
            "bodypart": np.asarray(bodyparts, dtype=object)[b], "problem": problem,
            "error_px": err[f, b], "likelihood": lik[f, b],
        }))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=_COLUMNS)
    order = {"far from its label": 0, "labeled, but predicted not visible": 1,
             "not labeled, but predicted visible": 2}
    out["_rank"] = out["problem"].map(order)
    out = out.sort_values(["_rank", "error_px", "likelihood"], ascending=[True, False, False])
    return out.drop(columns="_rank").reset_index(drop=True)[_COLUMNS]


def read_latest_suggestions(config: str | os.PathLike) -> pd.DataFrame | None:
    """The newest label-suggestion list written by `evaluate_network` in the project's
    current iteration, or None when there is none."""
    from markerless.io.config import read_config

    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    cfg = read_config(config)
    folder = config.parent / "evaluation-results" / f"iteration-{int(cfg.get('iteration') or 0)}"
    found = sorted(folder.glob(f"*/*{SUGGESTIONS_SUFFIX}"), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    table = pd.read_csv(found[-1])
    table.attrs["path"] = str(found[-1])
    return table
