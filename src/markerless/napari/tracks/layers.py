"""Identity swaps on the Tracks dock's Points layer, in place.

A swap keeps every point where it is and changes only whose it is, so rebuilding the
layer (napari recolours every point through its colour cycle: seconds for a long
video) is not needed: the swapped points get the other animal's ``individual`` feature
and border colour, directly (milliseconds). The trajectories are rebuilt from the
poses (one line per animal, cheap).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from markerless.napari.layers.convert import individual_colors


def swap_points(layer: Any, a: str, b: str, start: int, stop: int | None = None) -> int:
    """Give ``a``'s points on frames ``[start, stop)`` to ``b`` and the other way round;
    returns how many points changed."""
    frames = np.asarray(layer.data)[:, 0]
    in_range = frames >= start
    if stop is not None:
        in_range &= frames < stop
    column = layer.features["individual"]
    names = [str(c) for c in column.cat.categories]
    ia, ib = names.index(a), names.index(b)
    codes = column.cat.codes.to_numpy().copy()
    was_a, was_b = in_range & (codes == ia), in_range & (codes == ib)
    codes[was_a], codes[was_b] = ib, ia
    layer.features["individual"] = pd.Categorical.from_codes(codes, categories=column.cat.
                                                             categories)  # fmt: skip
    colors = individual_colors(names)
    border = np.array(layer.border_color, dtype=float, copy=True)
    border[was_a], border[was_b] = colors[b], colors[a]
    layer.border_color = border  # direct colours: no pass over every point's category
    return int(was_a.sum() + was_b.sum())
