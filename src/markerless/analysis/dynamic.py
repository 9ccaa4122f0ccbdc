"""``dynamic=(on, pcutoff, margin)``: when analysis uses two-stage inference, and how.

DeepLabCut's ``analyze_videos(..., dynamic=(True, pcutoff, margin))`` crops each frame
around the previous pose. Here ``dynamic=None`` (the default) chooses by the model: a model
trained on crops around the animal (the default recipe) analyses with two-stage inference
(`markerless.analysis.two_stage`) when its crop is clearly smaller than the frame; a model
trained on whole frames, or a frame not much larger than the crop, is analysed whole.
``dynamic=(False, ...)`` always analyses whole frames, ``(True, ...)`` always crops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from markerless.analysis.inference import Geometry, network_input_hw
from markerless.analysis.two_stage import CODE_NAMES, WHOLE_FRAME, TwoStageGeometry, crop_size_for
from markerless.errors import ArgumentError

__all__ = ["DEFAULT_DYNAMIC", "describe", "parse_dynamic", "resolve_two_stage", "stage_summary"]

#: DeepLabCut's default: (on, pcutoff, margin in pixels)
DEFAULT_DYNAMIC = (False, 0.5, 10)
#: two-stage is chosen automatically only when the crop covers at most this share of the frame
AUTO_MAX_AREA = 0.5


def parse_dynamic(dynamic: Any) -> tuple[bool | None, float, int]:
    """``(on, pcutoff, margin)`` from DeepLabCut's tuple; ``on=None`` for "choose"."""
    if dynamic is None or (isinstance(dynamic, str) and dynamic.lower() == "auto"):
        return None, DEFAULT_DYNAMIC[1], DEFAULT_DYNAMIC[2]
    if isinstance(dynamic, bool):
        return dynamic, DEFAULT_DYNAMIC[1], DEFAULT_DYNAMIC[2]
    try:
        on, pcutoff, margin = dynamic
        pcutoff, margin = float(pcutoff), int(margin)
    except (TypeError, ValueError):
        raise ArgumentError(f"dynamic must be (on, pcutoff, margin) as in DeepLabCut, e.g. "
                            f"(True, 0.5, 10), got {dynamic!r}") from None
    if not 0 <= pcutoff <= 1:
        raise ArgumentError(f"dynamic pcutoff must be in [0, 1], got {pcutoff}")
    if margin < 0:
        raise ArgumentError(f"dynamic margin must be >= 0 pixels, got {margin}")
    return bool(on), pcutoff, margin


def resolve_two_stage(dynamic: Any, geometry: Geometry, extra: dict) -> TwoStageGeometry | None:
    """The two-stage geometry of a video, or None for whole-frame inference.

    ``extra`` is the model's `ModelSpec.extra`: ``train_crop_size`` (network pixels) and
    ``keypoint_extent`` (the largest keypoint spread in the labels, frame pixels), recorded
    by the trainer; without them the crop is a third of the frame's larger side, and the
    automatic choice keeps whole frames.
    """
    on, pcutoff, margin = parse_dynamic(dynamic)
    if on is False:
        return None
    train_crop = extra.get("train_crop_size")
    if on is None and not train_crop:
        return None  # the model does not say it was trained on crops
    h, w = geometry.frame_hw
    scale = geometry.scale
    extent = float(extra.get("keypoint_extent") or max(h, w) / 3)
    crop = crop_size_for((h, w), tuple(train_crop or (0, 0)), extent, margin, scale,
                         max(1, int(geometry.pad_multiple)))
    if crop[0] >= h and crop[1] >= w:
        return None  # the crop would be the whole frame: nothing to gain
    if on is None:
        ch, cw = network_input_hw(crop, scale)
        fh, fw = network_input_hw((h, w), scale)
        if ch * cw > AUTO_MAX_AREA * fh * fw:
            return None
    return TwoStageGeometry(geometry, crop, pcutoff=pcutoff, margin=margin)


def stage_summary(codes: np.ndarray, two_stage: TwoStageGeometry) -> dict[str, Any]:
    """What the analysis metadata records: frames per stage and where the whole frame was
    needed (the fallback), as ``[first, last]`` frame ranges."""
    from markerless.analysis.resume import bad_frame_ranges

    codes = np.asarray(codes).astype(int).ravel()
    counts = {CODE_NAMES[c]: int((codes == c).sum()) for c in CODE_NAMES}
    whole = np.flatnonzero(codes == WHOLE_FRAME)
    return {
        "two_stage": True, "crop_size": list(two_stage.crop_hw),
        "finder_scale": two_stage.finder_scale, "pcutoff": two_stage.pcutoff,
        "margin": two_stage.margin, "frames_by_stage": counts,
        "whole_frame_fallback": [list(r) for r in bad_frame_ranges(whole.tolist())],
    }


def describe(summary: dict[str, Any]) -> str:
    """One line for the user: how many frames each stage handled."""
    if not summary.get("two_stage"):
        return "whole-frame inference"
    c = summary["frames_by_stage"]
    n = max(sum(c.values()), 1)
    return (f"two-stage inference on {summary['crop_size'][1]}x{summary['crop_size'][0]} "
            f"crops: {100 * (c['crop'] + c['recentred']) / n:.1f}% of frames from the previous "
            f"box, {c['finder']} found by the finder, {c['whole frame']} on the whole frame")
