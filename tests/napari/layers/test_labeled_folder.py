"""A labeled-data folder's layers without a viewer: points follow their image names."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.errors import LabelFileError
from markerless.napari.layers.labeled_folder import remap_frames


def test_remap_frames_follows_image_names():
    old = ["labeled-data/v/img07.png", "labeled-data/v/img25.png", "labeled-data/v/img37.png"]
    new = ["labeled-data/v/img07.png", "labeled-data/v/img10.png", "labeled-data/v/img25.png",
           "labeled-data/v/img37.png"]
    np.testing.assert_array_equal(remap_frames(np.array([0.0, 1.0, 2.0, 1.0]), old, new),
                                  [0, 2, 3, 2])
    with pytest.raises(LabelFileError, match="img07"):
        remap_frames(np.array([0.0]), old, new[1:])
