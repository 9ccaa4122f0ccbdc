"""DeepLabCut's Assembler semantics on hand-made peaks and affinities, and the vectorised
path against the step-by-step one."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.assembly.assembler import AssemblerConfig, assemble
from markerless.assembly.graph import complete_graph


def _frame(parts: list[list[tuple[float, float, float]]], n_peaks: int = 4) -> np.ndarray:
    """One frame's peaks ``(1, K, P, 3)`` from per-part lists of (x, y, score)."""
    out = np.full((1, len(parts), n_peaks, 3), np.nan)
    out[..., 2] = 0.0
    for k, peaks in enumerate(parts):
        peaks = sorted(peaks, key=lambda p: -p[2])  # the device sends them best first
        out[0, k, : len(peaks)] = peaks
    return out


def _affinity(peaks: np.ndarray, edges, values: dict) -> np.ndarray:
    """``(1, E, P, P)``: ``values[(e, p, q)]``, 0 for other real pairs, NaN for padding."""
    p = peaks.shape[2]
    valid = np.isfinite(peaks[0, :, :, 0])
    aff = np.zeros((1, len(edges), p, p))
    for e, (s, t) in enumerate(edges):
        aff[0, e][~(valid[s][:, None] & valid[t][None, :])] = np.nan
    for (e, a, b), v in values.items():
        aff[0, e, a, b] = v
    return aff


def _random_scene(seed: int, n_frames: int = 300, n_ind: int = 3, k: int = 6, p: int = 5,
                  n_edges: int = 8):
    rng = np.random.default_rng(seed)
    edges = np.array(complete_graph(k))[rng.permutation(k * (k - 1) // 2)[:n_edges]]
    peaks = np.full((n_frames, k, p, 3), np.nan)
    peaks[..., 2] = 0
    n = rng.integers(0, p + 1, (n_frames, k))
    slot = np.arange(p)
    valid = slot < n[..., None]
    scores = -np.sort(-rng.uniform(0, 1, (n_frames, k, p)), axis=-1)
    peaks[..., 2] = np.where(valid, scores, 0)
    xy = rng.uniform(0, 100, (n_frames, k, p, 2))
    peaks[..., :2] = np.where(valid[..., None], xy, np.nan)
    aff = rng.uniform(-0.2, 1, (n_frames, len(edges), p, p))
    aff = np.where(valid[:, edges[:, 0], :, None] & valid[:, edges[:, 1], None, :], aff, np.nan)
    return peaks, aff, tuple(map(tuple, edges)), n_ind, k


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("greedy", [False, True])
def test_vectorised_path_equals_dlc_steps_on_random_frames(seed, greedy):
    peaks, aff, edges, n_ind, k = _random_scene(seed)
    cfg = AssemblerConfig(max_n_individuals=n_ind, n_multibodyparts=k, edges=edges,
                          greedy=greedy)
    fast = assemble(peaks, aff, cfg)
    steps = assemble(peaks, aff, cfg, vectorized=False)
    np.testing.assert_array_equal(fast.data, steps.data)
    np.testing.assert_array_equal(fast.n_links, steps.n_links)
    assert 1.0 < fast.count().mean() < n_ind  # a mix of empty, partial and full frames


def test_many_animals_use_the_hungarian_fallback():
    peaks, aff, edges, _, k = _random_scene(3, n_frames=40, n_ind=7, p=8)
    cfg = AssemblerConfig(max_n_individuals=7, n_multibodyparts=k, edges=edges)
    fast = assemble(peaks, aff, cfg)
    np.testing.assert_array_equal(fast.data, assemble(peaks, aff, cfg, vectorized=False).data)


def test_crossing_links_are_resolved_like_dlc():
    """Two animals A, B with parts 0-1-2; edge (0, 2) prefers the cross pairs (A0-B2, B0-A2)
    so all six peaks form one component with every bodypart twice: DLC grows the strongest
    links first and rejects the cross links, giving both animals back."""
    a = [(10.0, 10.0, 0.9), (12.0, 14.0, 0.9), (14.0, 18.0, 0.9)]
    b = [(60.0, 10.0, 0.8), (62.0, 14.0, 0.8), (64.0, 18.0, 0.8)]
    peaks = _frame([[a[k], b[k]] for k in range(3)])
    edges = [(0, 1), (1, 2), (0, 2)]
    aff = _affinity(peaks, edges, {(0, 0, 0): 0.9, (0, 1, 1): 0.9, (1, 0, 0): 0.8,
                                   (1, 1, 1): 0.8, (2, 0, 1): 0.6, (2, 1, 0): 0.6,
                                   (2, 0, 0): 0.1, (2, 1, 1): 0.1})
    res = assemble(peaks, aff, AssemblerConfig(max_n_individuals=2, n_multibodyparts=3,
                                               edges=tuple(edges)))
    got = res.data[0]
    np.testing.assert_allclose(got[0, :, :3], a)
    np.testing.assert_allclose(got[1, :, :3], b)
    np.testing.assert_allclose(got[:, :, 3], 0.85)  # (0.9 + 0.8) / 2 links each
    assert (res.n_links[0] == 2).all()


def test_min_links_pose_nms_and_max_individuals():
    # Animal A (3 parts), a duplicate A' on the same spots (DLC's intersection_with = 1), and B
    # with one link only.
    a = [(10.0, 10.0, 0.9), (20.0, 14.0, 0.9), (30.0, 18.0, 0.9)]
    a2 = [(x, y, 0.5) for x, y, _ in a]
    b = [(70.0, 10.0, 0.8), (74.0, 14.0, 0.8)]
    peaks = _frame([[a[0], a2[0], b[0]], [a[1], a2[1], b[1]], [a[2], a2[2]]])
    edges = [(0, 1), (1, 2)]
    # Slots (best first): part 0 [a, b, a2]; part 1 [a, b, a2]; part 2 [a, a2].
    aff = _affinity(peaks, edges, {(0, 0, 0): 0.9, (0, 1, 1): 0.9, (0, 2, 2): 0.7,
                                   (1, 0, 0): 0.9, (1, 2, 1): 0.6})
    cfg = AssemblerConfig(max_n_individuals=3, n_multibodyparts=3, edges=tuple(edges))
    res = assemble(peaks, aff, cfg)
    # B has one link (< min_n_links=2): dropped. A' lies inside A's box: suppressed by NMS.
    assert res.count()[0] == 1
    np.testing.assert_allclose(res.data[0, 0, :, :2], np.array(a)[:, :2])
    keep_all = assemble(peaks, aff, AssemblerConfig(
        max_n_individuals=3, n_multibodyparts=3, edges=tuple(edges), min_n_links=1,
        max_overlap=1.0))
    assert keep_all.count()[0] == 3
    two = assemble(peaks, aff, AssemblerConfig(
        max_n_individuals=2, n_multibodyparts=3, edges=tuple(edges), min_n_links=1,
        max_overlap=1.0))
    # max_n_individuals=2: only the two strongest peaks per bodypart are candidates.
    assert two.count()[0] == 2
    np.testing.assert_allclose(two.data[0, 0, :, :2], np.array(a)[:, :2])


def test_unique_bodyparts_take_the_best_peak_above_pcutoff():
    multi = [[(10.0, 10.0, 0.9)], [(12.0, 12.0, 0.9)]]
    peaks = _frame(multi + [[(50.0, 50.0, 0.7), (55.0, 55.0, 0.95)], [(80.0, 80.0, 0.05)]])
    edges = [(0, 1)]
    aff = _affinity(peaks, edges, {(0, 0, 0): 0.9})
    res = assemble(peaks, aff, AssemblerConfig(max_n_individuals=2, n_multibodyparts=2,
                                               edges=tuple(edges), min_n_links=1))
    np.testing.assert_allclose(res.unique[0, 0], [55.0, 55.0, 0.95])
    assert np.isnan(res.unique[0, 1]).all()  # below pcutoff 0.1
    assert res.count()[0] == 1


def test_identity_only_groups_peaks_by_identity():
    a = [(10.0, 10.0, 0.9), (12.0, 14.0, 0.8)]
    b = [(60.0, 10.0, 0.7), (62.0, 14.0, 0.6)]
    peaks = _frame([[a[0], b[0]], [a[1], b[1]]])
    ident = np.zeros((1, 2, 4, 2))
    ident[0, :, 0] = [0.1, 0.9]  # slot 0 (animal a) looks like individual 1
    ident[0, :, 1] = [0.8, 0.2]
    aff = _affinity(peaks, [(0, 1)], {(0, 0, 1): 0.9, (0, 1, 0): 0.9})  # PAFs say: cross
    cfg = AssemblerConfig(max_n_individuals=2, n_multibodyparts=2, edges=((0, 1),),
                          identity_only=True)
    res = assemble(peaks, aff, cfg, ident)
    np.testing.assert_allclose(res.data[0, 0, :, :2], np.array(b)[:, :2])  # identity 0
    np.testing.assert_allclose(res.data[0, 1, :, :2], np.array(a)[:, :2])  # identity 1
    np.testing.assert_allclose(res.identity[0], [[0.8, 0.2], [0.1, 0.9]])
    by_paf = assemble(peaks, aff, AssemblerConfig(max_n_individuals=2, n_multibodyparts=2,
                                                  edges=((0, 1),), min_n_links=1), ident)
    xy = sorted(map(tuple, by_paf.data[0, :, :, 0]))
    assert xy == [(10.0, 62.0), (60.0, 12.0)]  # the PAF pairs, not the identity ones
    with pytest.warns(UserWarning, match="not trained with identity"):
        assemble(peaks, aff, cfg)


def test_one_bodypart_and_one_individual():
    peaks = _frame([[(10.0, 10.0, 0.9), (50.0, 50.0, 0.5), (90.0, 90.0, 0.05)]])
    res = assemble(peaks, None, AssemblerConfig(max_n_individuals=3, n_multibodyparts=1))
    assert res.count()[0] == 2  # every peak above pcutoff is an animal
    peaks = _frame([[(10.0, 10.0, 0.9), (50.0, 50.0, 0.95)], [(12.0, 12.0, 0.05)]])
    res = assemble(peaks, None, AssemblerConfig(max_n_individuals=1, n_multibodyparts=2))
    np.testing.assert_allclose(res.data[0, 0, :, :3], [[50, 50, 0.95], [12, 12, 0.05]])


def test_empty_frames_and_frames_without_peaks():
    peaks, aff, edges, n_ind, k = _random_scene(0, n_frames=10)
    peaks[3:6] = np.nan
    peaks[3:6, ..., 2] = 0
    aff[3:6] = np.nan
    res = assemble(peaks, aff, AssemblerConfig(max_n_individuals=n_ind, n_multibodyparts=k,
                                               edges=edges))
    assert (res.count()[3:6] == 0).all() and np.isnan(res.data[3:6]).all()
