"""Multi-animal evaluation: predict, assemble, match to the labeled animals.

`evaluate_network` on a multi-animal project runs the same network + peaks + PAF function
as ``analyze_videos`` on whole labeled frames, assembles on the host with the model's
``paf_best`` graph, then pairs assemblies with labeled animals (`ma_match`) so that DLC's
error table (mean pixel error, with p-cutoff, PCK) reads the *matched* errors: a labeled
keypoint without a matched prediction counts as a miss in the PCK and is left out of the
mean error, as single-animal evaluation treats an undetected keypoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from markerless.analysis.ma_inference import ma_spec_of, predict_multi_frames
from markerless.assembly.assembler import AssemblerConfig, assemble
from markerless.evaluation.ma_match import match_to_truth

__all__ = ["multi_truth", "predict_matched"]


def multi_truth(keypoints: np.ndarray, n_individuals: int, n_multi: int) -> np.ndarray:
    """Labels ``(N, I[+single], Km + Ku, 2)`` -> the animals' ``(N, I, Km, 2)`` float64."""
    return np.asarray(keypoints[:, :n_individuals, :n_multi], dtype=np.float64)


def predict_matched(model: Any, info: Any, images: np.ndarray, gt: np.ndarray,
                    batch_size: int = 8, **assembler_kw: Any) -> np.ndarray:
    """Assembled predictions in the labeled animals' order: ``(N, I, Km, 3)`` [x, y,
    likelihood], NaN where an animal has no matched assembly."""
    spec = ma_spec_of(info)
    out = predict_multi_frames(model, info, images, batch_size)
    cfg = AssemblerConfig(max_n_individuals=spec.n_individuals, n_multibodyparts=spec.n_multi,
                          edges=spec.best_edges, **assembler_kw)
    res = assemble(out["peaks"], out["affinity"], cfg, out.get("identity"))
    return match_to_truth(res.data, gt)[..., :3].astype(np.float64)
