"""Multi-animal evaluation: predict, assemble, match to the labeled animals.

`evaluate_network` on a multi-animal project runs the same network + peaks + PAF function
as ``analyze_videos`` on whole labeled frames, assembles on the host with the model's
``paf_best`` graph, then pairs assemblies with labeled animals (`ma_match`) so that DLC's
error table (mean pixel error, with p-cutoff, PCK) reads the *matched* errors: a labeled
keypoint without a matched prediction counts as a miss in the PCK and is left out of the
mean error, as single-animal evaluation treats an undetected keypoint. The OKS mAP/mAR
(pycocotools' definition, `markerless.evaluation.multianimal`) score the assemblies as
they come, unmatched ones included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from markerless.analysis.ma_inference import ma_spec_of, predict_multi_frames
from markerless.assembly.assembler import AssemblerConfig, assemble
from markerless.evaluation.ma_match import match_to_truth

__all__ = ["OKS_SIGMAS", "multi_truth", "oks_columns", "predict_matched"]

#: OKS sigmas reported: DeepLabCut's 0.1 and SLEAP's 0.025.
OKS_SIGMAS = (0.1, 0.025)


def multi_truth(keypoints: np.ndarray, n_individuals: int, n_multi: int) -> np.ndarray:
    """Labels ``(N, I[+single], Km + Ku, 2)`` -> the animals' ``(N, I, Km, 2)`` float64."""
    return np.asarray(keypoints[:, :n_individuals, :n_multi], dtype=np.float64)


def predict_matched(model: Any, info: Any, images: np.ndarray, gt: np.ndarray,
                    batch_size: int = 8, **assembler_kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(matched, assemblies)``: the assembled predictions in the labeled animals' order
    ``(N, I, Km, 3)`` [x, y, likelihood] (NaN where an animal has no matched assembly), and
    every assembly ``(N, A, Km, 4)`` as assembled (for the OKS mAP)."""
    spec = ma_spec_of(info)
    out = predict_multi_frames(model, info, images, batch_size)
    cfg = AssemblerConfig(max_n_individuals=spec.n_individuals, n_multibodyparts=spec.n_multi,
                          edges=spec.best_edges, **assembler_kw)
    res = assemble(out["peaks"], out["affinity"], cfg, out.get("identity"))
    return match_to_truth(res.data, gt)[..., :3].astype(np.float64), res.data


def oks_columns(assemblies: np.ndarray, gt: np.ndarray, frames: Sequence[str],
                bodyparts: Sequence[str], idx: Sequence[int], prefix: str = "test",
                sigmas: Sequence[float] = OKS_SIGMAS) -> dict[str, float]:
    """OKS mAP and mAR of the assemblies of frames ``idx`` at each sigma (DLC 0.1, SLEAP
    0.025), pycocotools' definition (`markerless.evaluation.multianimal.oks_map`); the
    sigma is in every column name. Assemblies rank by their mean keypoint likelihood."""
    from markerless.evaluation.multianimal import oks_map
    from markerless.poses import Poses

    idx = np.asarray(idx, dtype=int)
    if not len(idx):
        return {}
    names = [str(frames[i]) for i in idx]
    pred = Poses(assemblies[idx, ..., :2], list(bodyparts),
                 [f"assembly{a}" for a in range(assemblies.shape[1])], names, "pred",
                 assemblies[idx, ..., 2])
    truth = Poses(gt[idx], list(bodyparts), [f"animal{i}" for i in range(gt.shape[1])], names,
                  "labels")
    out = {}
    for sigma in sigmas:
        r = oks_map(pred, truth, sigma=sigma)
        out[f"{prefix}_mAP@sigma{sigma:g}"] = r.mAP
        out[f"{prefix}_mAR@sigma{sigma:g}"] = r.mAR
    return out
