"""Targets -> on-device peaks + PAF integrals -> host assembly recovers the animals exactly.

Score maps peaked at each keypoint's nearest cell, with the training targets' locref and
part-affinity fields as the "network output": decoding must return every keypoint at its
labeled position (float32), each animal as one assembly of mean affinity 1 (the line
integral over a true limb's target field), in the identity head's order.
"""

from __future__ import annotations

import numpy as np
import pytest

from markerless.assembly.assembler import AssemblerConfig, assemble
from markerless.assembly.graph import complete_graph
from markerless.decoding.ma_peaks import PeakConfig, detect_peaks
from markerless.training.ma_targets import MultiLayout, make_ma_targets

H, W, STRIDE = 96, 128, 4


def _synthetic_outputs(kp: np.ndarray, edges, identity: bool = True):
    import jax
    import jax.numpy as jnp

    b, i, k, _ = kp.shape
    layout = MultiLayout(i, k, 0, tuple(edges), identity)
    flat = jnp.asarray(kp.reshape(b, i * k, 2), jnp.float32)
    t = make_ma_targets(flat, layout, (H // STRIDE, W // STRIDE), STRIDE, pos_dist_thresh=5.0,
                        paf_half_width=3.0)
    cx = (np.arange(W // STRIDE) + 0.5) * STRIDE
    cy = (np.arange(H // STRIDE) + 0.5) * STRIDE
    d2 = ((kp[:, None, None, :, :, 0] - cx[None, None, :, None, None]) ** 2
          + (kp[:, None, None, :, :, 1] - cy[None, :, None, None, None]) ** 2)
    logits = 6.0 - np.nanmin(d2, axis=3) / 4.0  # (B, h, w, K): one peak per animal and part
    out = {"scores": jnp.asarray(logits, jnp.float32), "locref": t["locref"], "paf": t["paf"]}
    if identity:
        out["identity"] = jax.nn.one_hot(t["identity"], i) * 10.0
    return out


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(0)
    b, i, k = 6, 2, 4
    centres = np.array([[30.0, 40.0], [95.0, 55.0]])
    kp = centres[None, :, None] + rng.uniform(-14, 14, (b, i, k, 2))
    return kp, complete_graph(k)


def test_peaks_and_affinities_on_device(scene):
    kp, edges = scene
    out = _synthetic_outputs(kp, edges)
    cfg = PeakConfig(max_peaks=4, nms_radius=2, edges=tuple(edges),
                     edge_channels=tuple(range(len(edges))), stride=STRIDE, locref_stdev=7.2801)
    det = {k: np.asarray(v) for k, v in detect_peaks(out, cfg).items()}
    assert det["peaks"].shape == (6, 4, 4, 3) and det["affinity"].shape == (6, 6, 4, 4)
    # Two real peaks per bodypart, best first, at the labeled positions; the rest is padding.
    assert np.isfinite(det["peaks"][:, :, :2, 0]).all()
    assert np.isnan(det["peaks"][:, :, 2:, :2]).all()
    assert (det["peaks"][:, :, 2:, 2] == 0).all()
    found = np.sort(det["peaks"][:, :, :2, 0], axis=-1)
    np.testing.assert_allclose(found, np.sort(np.moveaxis(kp[..., 0], 1, 2), -1), atol=1e-3)
    # True limbs integrate to 1 along their unit-vector field; pairs across animals do not.
    aff = det["affinity"][:, :, :2, :2]
    owner = np.argmin(np.abs(det["peaks"][:, :, :2, None, 0] - np.moveaxis(kp[..., 0], 1, 2)[
        :, :, None]), axis=-1)  # (B, K, 2): animal of each peak
    e = np.asarray(edges)
    same = owner[:, e[:, 0], :, None] == owner[:, e[:, 1], None, :]
    np.testing.assert_allclose(aff[same], 1.0, atol=1e-5)
    assert aff[~same].max() < 0.5
    assert np.isnan(det["affinity"][:, :, 2:]).all() and np.isnan(det["affinity"][..., 2:]).all()
    # Identity at each peak is its animal's.
    ident = det["identity"][:, :, :2]
    assert (np.argmax(ident, -1) == owner).all() and (ident.max(-1) > 0.99).all()


@pytest.mark.parametrize("graph", ["complete", "tree"])
def test_assembly_recovers_every_animal_exactly(scene, graph):
    kp, edges = scene
    if graph == "tree":
        edges = [(0, 1), (0, 2), (0, 3)]
    out = _synthetic_outputs(kp, edges)
    cfg = PeakConfig(max_peaks=4, edges=tuple(edges), edge_channels=tuple(range(len(edges))),
                     stride=STRIDE, locref_stdev=7.2801)
    det = {k: np.asarray(v) for k, v in detect_peaks(out, cfg).items()}
    res = assemble(det["peaks"], det["affinity"],
                   AssemblerConfig(max_n_individuals=2, n_multibodyparts=4, edges=tuple(edges)),
                   det["identity"])
    assert res.data.shape == (6, 2, 4, 4) and (res.count() == 2).all()
    order = np.argmax(res.identity, axis=-1)  # the identity head names each assembly
    assert (np.sort(order, axis=1) == [0, 1]).all()
    got = np.take_along_axis(res.data, np.argsort(order, 1)[:, :, None, None], axis=1)
    np.testing.assert_allclose(got[..., :2], kp, atol=1e-3)
    np.testing.assert_allclose(got[..., 3], 1.0, atol=1e-5)  # mean link affinity
    assert (res.n_links == len(edges)).all()
    assert (got[..., 2] > 0.98).all()  # sigmoid of the peak logit (>= 6 - 2 = 4)
