"""Pruning a trained multi-animal network's complete graph (called at the end of training).

Why here and not in `markerless.assembly.prune`: this is the glue between a `Trainer`'s
in-memory data (scaled images, flat keypoints) and the pure pruning function.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__ = ["prune_trained"]

log = logging.getLogger(__name__)


def prune_trained(trainer: Any, max_frames: int = 100):
    """``(paf_best, candidate scores)`` for the trainer's current network.

    The network runs on up to ``max_frames`` evenly spaced training frames (already at
    ``global_scale``), predicting every edge; `prune_graph` picks the subset.
    """
    from markerless.analysis.ma_inference import predict_multi_frames
    from markerless.assembly.prune import prune_graph

    spec, tc = trainer.ma_spec, trainer.tc
    n = len(trainer.frames)
    idx = np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int))
    info = {"net_type": tc.net_type, "stride": tc.stride, "locref_stdev": tc.locref_stdev,
            "global_scale": 1.0, "pad_multiple": tc.pad_multiple,  # the images are scaled
            "meta": {"multianimal": spec.to_meta()}}
    out = predict_multi_frames(trainer.eval_model(), info, np.asarray(trainer.images[idx]),
                               tc.batch_size, edges=list(range(len(spec.edges))))
    flat = np.asarray(trainer.keypoints[idx])
    gt = flat[:, : spec.n_individuals * spec.n_multi].reshape(
        len(idx), spec.n_individuals, spec.n_multi, 2)
    best, scores = prune_graph(out["peaks"], out["affinity"], gt, list(spec.edges),
                               radius=tc.pos_dist_thresh, identity=out.get("identity"))
    log.info("Part-affinity graph: %d of %d edges kept (%s)", len(best), len(spec.edges),
             [spec.edges[i] for i in best])
    return best, scores
