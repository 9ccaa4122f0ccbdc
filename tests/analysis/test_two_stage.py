"""Two-stage inference (find the animal, then a crop at full resolution): the same answer as
whole-frame inference where the crop holds the animal, recovery when the animal leaves and
comes back, and the stage of every frame recorded."""

from __future__ import annotations

import numpy as np
from analysis_helpers import PeakModel

from markerless.analysis.inference import FusedPredictor, Geometry
from markerless.analysis.two_stage import (
    CROP,
    FOUND,
    RECENTRED,
    WHOLE_FRAME,
    TwoStageGeometry,
    TwoStagePredictor,
    crop_size_for,
)

H, W = 192, 256


def _blob_video(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Frames with a 6x6 white square at (x, y) (NaN: no square), on black."""
    frames = np.zeros((len(xs), H, W, 3), np.uint8)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if np.isfinite(x):
            frames[i, int(y) - 3:int(y) + 3, int(x) - 3:int(x) + 3] = 255
    return frames


def _geometries(crop_hw=(64, 64)):
    base = Geometry(frame_hw=(H, W), stride=4, net_type="resnet18")
    # the blob's likelihood is sigmoid(normalised white) ~0.9, black ~0.1
    return base, TwoStageGeometry(base, crop_hw, finder_scale=0.5, pcutoff=0.5, margin=8)


def _run(pred, frames, batch):
    coords, codes = [], []
    for start in range(0, len(frames), batch):
        coords.append(np.asarray(pred(frames[start:start + batch])))
        codes.append(np.asarray(pred.last_codes))
    return np.concatenate(coords), np.concatenate(codes)


def test_crop_size_covers_training_crop_animal_and_margin():
    assert crop_size_for((480, 640), (192, 192), extent_px=80, margin=10) == (192, 192)
    assert crop_size_for((480, 640), (192, 192), extent_px=230, margin=10) == (256, 256)
    assert crop_size_for((480, 640), (192, 192), extent_px=80, margin=10, scale=0.5) == (
        384, 384)  # 192 network pixels at half scale
    assert crop_size_for((200, 640), (192, 192), extent_px=300, margin=10) == (200, 320)


def test_same_coordinates_as_whole_frame_while_the_crop_holds_the_animal():
    t = np.arange(40)
    xs, ys = 60 + 3.0 * t, 50 + 2.0 * t  # a steady walk across the frame
    frames = _blob_video(xs, ys)
    base, geom = _geometries()
    whole = np.asarray(FusedPredictor(PeakModel(), base)(frames))
    for batch in (1, 4):
        pred = TwoStagePredictor(PeakModel(), geom)
        coords, codes = _run(pred, frames, batch)
        np.testing.assert_array_equal(coords, whole)
        assert (codes[:batch] == FOUND).all()  # the first batch has no previous box
        later = codes[batch:]
        assert set(later) <= {CROP, RECENTRED} and (later == CROP).mean() > 0.5


def test_recovers_after_the_animal_leaves_and_comes_back():
    t = np.arange(36, dtype=float)
    xs, ys = 40 + 2.0 * t, 60 + 1.0 * t
    xs[12:20] = np.nan  # out of the frame for 8 frames
    xs[20:] = 220 - 2.0 * (t[20:] - 20)  # comes back elsewhere
    ys[20:] = 150.0
    frames = _blob_video(xs, ys)
    base, geom = _geometries()
    whole = np.asarray(FusedPredictor(PeakModel(), base)(frames))
    pred = TwoStagePredictor(PeakModel(), geom)
    coords, codes = _run(pred, frames, 1)
    assert (codes[12:20] == WHOLE_FRAME).all()  # nothing found: whole-frame fallback
    assert (coords[12:20, :, 2] < 0.5).all()  # ... and reported as not visible
    assert codes[20] == FOUND  # found again by the finder
    np.testing.assert_array_equal(coords[20:], whole[20:])
    assert (codes[21:] != WHOLE_FRAME).all()
    pred.reset()  # a chunk start forgets the box
    _, codes = _run(pred, frames[30:31], 1)
    assert codes[0] == FOUND
