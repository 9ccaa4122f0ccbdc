"""Turn network outputs (scoremaps + location refinement) into keypoint coordinates."""

from markerless.decoding.scoremaps import (
    DEFAULT_LOCREF_STDEV,
    decode_logits,
    decode_peaks,
    decode_scoremaps,
    find_peaks,
)

__all__ = [
    "DEFAULT_LOCREF_STDEV",
    "decode_logits",
    "decode_peaks",
    "decode_scoremaps",
    "find_peaks",
]
