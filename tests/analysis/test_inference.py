"""The fused jitted predictor: same numbers as network + decoding, geometry mapped back."""

from __future__ import annotations

import pickle

import jax
import numpy as np
import pytest
from analysis_helpers import PeakModel, direct_predictions
from flax import nnx

from markerless.analysis.inference import FusedPredictor, Geometry, ModelPayload
from markerless.decoding import decode_logits
from markerless.model import normalize_images


def test_fused_equals_network_then_decode(tiny_model):
    """Odd frame size: the predictor pads to 32 (repeating the edge pixels) and decodes only
    inside the frame; compare with doing it by hand."""
    model, info = tiny_model
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 50, 70, 3), dtype=np.uint8)
    pred = FusedPredictor(model, Geometry(frame_hw=(50, 70), stride=8, net_type="resnet_tiny"))
    got = np.asarray(pred(frames))

    padded = np.pad(frames, ((0, 0), (0, 14), (0, 26), (0, 0)), mode="edge")
    graphdef, state = nnx.split(model)

    @jax.jit  # by hand: pad, normalise, network, decode within the 50x70 frame
    def reference(state, x):
        logits, locref = nnx.merge(graphdef, state)(normalize_images(x, "resnet_tiny"))
        return decode_logits(logits, locref, stride=8, valid_hw=(50, 70))

    want = np.asarray(reference(state, padded))
    assert got.shape == (3, 4, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)


def _blob_frames(cx: int, cy: int, size: int = 128) -> np.ndarray:
    frames = np.zeros((2, size, size, 3), np.uint8)
    frames[:, cy - 3:cy + 3, cx - 3:cx + 3] = 255  # 6x6 white square centred on (cx-0.5, cy-0.5)
    return frames


@pytest.mark.parametrize(
    ("crop", "scale", "tol"),
    [(None, 1.0, 2.5), (None, 0.5, 6.0), ((8, 120, 16, 128), 0.5, 6.0),
     ((24, 88, 40, 104), 1.0, 2.5)],
)
def test_coordinates_come_back_in_full_frame_pixels(crop, scale, tol):
    truth = np.array([42.5, 72.5])  # the square covers pixels 40..45 x 70..75
    frames = _blob_frames(43, 73)
    x1, x2, y1, y2 = crop or (0, 128, 0, 128)
    geom = Geometry(frame_hw=(y2 - y1, x2 - x1), offset_xy=(x1, y1), scale=scale, stride=4,
                    net_type="resnet18")
    out = np.asarray(FusedPredictor(PeakModel(), geom)(frames[:, y1:y2, x1:x2]))
    assert out.shape == (2, 2, 3)
    err = np.abs(out[..., :2] - truth)
    assert err.max() <= tol, out[0]


def test_geometry_network_size():
    assert Geometry(frame_hw=(480, 640)).net_hw == (480, 640)
    assert Geometry(frame_hw=(480, 640), scale=0.5).net_hw == (256, 320)  # 240 -> pad 256
    assert Geometry(frame_hw=(50, 70), pad_multiple=1).net_hw == (50, 70)


def test_payload_pickles_to_the_same_predictions(tiny_model):
    model, info = tiny_model
    geom = Geometry(frame_hw=(64, 96), stride=8, net_type="resnet_tiny")
    frames = np.random.default_rng(1).integers(0, 256, (8, 64, 96, 3), dtype=np.uint8)
    payload = pickle.loads(pickle.dumps(ModelPayload.from_model(model)))
    assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(payload.state))
    got = np.asarray(FusedPredictor.from_payload(payload, geom)(frames))
    np.testing.assert_array_equal(got, direct_predictions(model, info, frames))
