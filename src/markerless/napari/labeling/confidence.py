"""Low-confidence machine labels drawn with their own edge, as napari-deeplabcut's E shows.

Machine labels (``machinelabels-iter*.h5``, opened by the Refine dock as a ``machine``
Points layer) carry the model's likelihood per point. Those below the project's
``pcutoff`` (config.yaml) get a thick red rim; the others keep the machine labels'
gold one, so the guesses worth checking first stand out. The Labeling dock applies it
to every machine-labels layer and toggles it (its checkbox, or E with
napari-deeplabcut's keys).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from markerless.napari.layers.lookup import meta

LOW_CONFIDENCE_RGBA = (1.0, 0.18, 0.18, 1.0)  # red rim
LOW_CONFIDENCE_WIDTH = 0.3  # relative to the point size (machine labels: 0.12)
KIND_MACHINE = "machine"


def is_machine_labels(layer: Any) -> bool:
    from napari.layers import Points

    return isinstance(layer, Points) and meta(layer).get("kind") == KIND_MACHINE


def low_confidence(likelihood: Any, pcutoff: float) -> np.ndarray:
    """True where a point's likelihood is below ``pcutoff`` (unknown counts as confident)."""
    lik = np.asarray(likelihood, float).reshape(-1)
    return np.nan_to_num(lik, nan=1.0) < float(pcutoff)


def confidence_borders(likelihood: Any, pcutoff: float, base_rgba: Any, base_width: float,
                       on: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-point ``(border colours (N, 4), border widths (N,))``: low ones red and wide."""
    low = low_confidence(likelihood, pcutoff) if on else np.zeros(len(np.ravel(likelihood)), bool)
    colors = np.tile(np.asarray(base_rgba, float).reshape(-1)[:4], (len(low), 1))
    colors[low] = LOW_CONFIDENCE_RGBA
    widths = np.where(low, LOW_CONFIDENCE_WIDTH, float(base_width))
    return colors, widths


def mark_low_confidence(layer: Any, pcutoff: float, on: bool = True) -> int:
    """Draw (or, ``on=False``, remove) the low-confidence rim on a machine-labels layer;
    returns how many points are below ``pcutoff``."""
    from napari.utils.colormaps.standardize_color import transform_color

    from markerless.napari.refine.jobs import MACHINE_STYLE

    feats = layer.features
    lik = (feats["likelihood"].to_numpy(float) if "likelihood" in feats
           else np.ones(len(layer.data)))
    base = transform_color(MACHINE_STYLE["border_color"])[0]
    colors, widths = confidence_borders(lik, pcutoff, base, MACHINE_STYLE["border_width"], on)
    if len(layer.data):
        layer.border_color = colors
        layer.border_width = widths
    return int(low_confidence(lik, pcutoff).sum()) if on else 0
