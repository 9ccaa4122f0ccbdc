"""One labeled-data folder with images of two sizes (crops of one scene, as real projects
mixing cameras or cropped videos have): loading, crops, scaling and evaluation place every
keypoint on its own image's pixels."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from markerless.synthetic import SyntheticConfig, generate
from markerless.synthetic.project import write_labeled_project
from markerless.training.augment import PRESETS, augment_batch
from markerless.training.dataset import create_training_dataset
from markerless.training.training_data import load_training_data

#: every other frame is cut to 96 px wide and 112 px high around the animal
CROP_W, CROP_H = 96, 112


def _crop_around(xy: np.ndarray, h: int, w: int) -> tuple[int, int, int, int]:
    cx, cy = np.nanmean(xy, axis=0)
    x1 = int(np.clip(round(cx - CROP_W / 2), 0, w - CROP_W))
    y1 = int(np.clip(round(cy - CROP_H / 2), 0, h - CROP_H))
    return x1, y1, x1 + CROP_W, y1 + CROP_H


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    frames, poses = generate(SyntheticConfig(height=128, width=160, n_frames=24, seed=4,
                                             speed=2.0))
    crops = [_crop_around(poses.xy[i, 0], 128, 160) if i % 2 else None
             for i in range(len(frames))]
    config = write_labeled_project(tmp_path_factory.mktemp("mixed"), frames, poses,
                                   fractions=(0.75,), crops=crops)
    create_training_dataset(config, recipe="test")
    return config, frames, poses, crops


def _marker_value(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    x, y = np.rint(xy).astype(int)
    return image[y, x].astype(int)


def test_loading_keeps_each_image_and_its_labels_together(mixed):
    config, frames, poses, crops = mixed
    data = load_training_data(config, which="all")
    sizes = {tuple(s) for s in data.sizes.tolist()}
    assert sizes == {(128, 160), (112, 96)}
    assert data.images.shape[1:3] == (128, 160)  # padded to the largest
    for n, frame in enumerate(data.frames):
        i = int(frame.split("img")[1].split(".")[0])
        h, w = data.sizes[n]
        x1, y1, x2, y2 = crops[i] or (0, 0, 160, 128)
        np.testing.assert_array_equal(data.images[n, :h, :w], frames[i, y1:y2, x1:x2])
        assert not data.images[n, h:].any() and not data.images[n, :, w:].any()
        shift = np.array([x1, y1], float)
        expected = poses.xy[i, 0] - shift
        inside = np.isfinite(data.keypoints[n, 0]).all(-1)
        np.testing.assert_allclose(data.keypoints[n, 0][inside], expected[inside], atol=1e-4)
        for k in np.flatnonzero(inside):  # the pixel under each label is the same pixel
            np.testing.assert_array_equal(_marker_value(data.images[n], data.keypoints[n, 0, k]),
                                          _marker_value(frames[i], poses.xy[i, 0, k]))


def test_training_crops_follow_the_labels_on_both_sizes(mixed):
    config = mixed[0]
    data = load_training_data(config, which="all")
    cfg = PRESETS["none"]
    images, kp = augment_batch(jax.random.key(0), data.images, data.keypoints[:, 0], (64, 64),
                               cfg, ())
    images, kp = np.asarray(images), np.asarray(kp)
    from scipy.ndimage import map_coordinates

    checked = 0
    for n in range(len(data.frames)):
        ok = np.isfinite(kp[n]).all(-1)
        if not ok.any():
            continue
        # no scaling or rotation in "none": one translation maps every label into the crop
        shift = kp[n][ok] - data.keypoints[n, 0][ok]
        np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-3)
        # and the crop's pixels are the image's pixels moved by it (bilinear)
        ys, xs = np.mgrid[0:64, 0:64].astype(float)
        sy, sx = ys - shift[0, 1], xs - shift[0, 0]
        h, w = data.images.shape[1:3]
        inside = (sy >= 0) & (sy <= h - 1) & (sx >= 0) & (sx <= w - 1)
        assert inside.mean() > 0.5
        for c in range(3):
            back = map_coordinates(data.images[n, ..., c].astype(float), [sy, sx], order=1)
            np.testing.assert_allclose(images[n, ..., c][inside], back[inside], atol=0.51)
        checked += int(ok.sum())
    assert checked > 40


@pytest.mark.slow
def test_a_mixed_size_project_trains_and_evaluates_on_both_sizes(mixed):
    from markerless.evaluation.evaluate import predict_frames
    from markerless.evaluation.metrics import compute_rmse
    from markerless.training.snapshots import load_model_for_inference
    from markerless.training.trainer import train_network

    config = mixed[0]
    train_network(config, maxiters=300, progress=False)
    model, info = load_model_for_inference(config)
    data = load_training_data(config, which="all")
    pred = predict_frames(model, info, data.images, sizes=data.sizes)
    small = data.sizes[:, 1] == 96
    big, little = (compute_rmse(pred[m], data.keypoints[m, 0]) for m in (~small, small))
    untrained = 40.0  # a random map's argmax is tens of pixels off on these frames
    # both sizes are learned (a coordinate bug on one size would leave it near untrained)
    assert big < 0.25 * untrained and little < 0.25 * untrained, (big, little)
    assert little < 2.0 * big + 2.0, (big, little)
