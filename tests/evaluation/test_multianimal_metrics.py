"""OKS mAP/mAR against pycocotools on the same predictions; matched RMSE and PCK."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from markerless.evaluation.multianimal import gt_areas, matched_errors, oks_map, oks_matrix
from markerless.poses import Poses
from markerless.synthetic import SyntheticConfig, ground_truth

K = 9


def _scene(seed=0, n_frames=40):
    """Ground truth of a shared-arena clip and messy predictions of it."""
    gt = ground_truth(SyntheticConfig(n_frames=n_frames, n_animals=3, arena="shared",
                                      bodyparts=K, seed=seed))
    rng = np.random.default_rng(seed)
    g = gt.xy.copy()
    g[rng.random(g.shape[:3]) < 0.1] = np.nan  # unlabeled keypoints
    g[:, 2][rng.random(n_frames) < 0.3] = np.nan  # an animal sometimes unlabeled
    gt = Poses(g, gt.bodyparts, gt.individuals)
    n_p = 4
    p = np.full((n_frames, n_p, K, 2), np.nan)
    scale = rng.choice([0.2, 0.6, 2.0, 8.0], (n_frames, 3, 1, 1))  # good to poor predictions
    p[:, :3] = gt.xy[:, [1, 2, 0]] + rng.normal(0, 1, (n_frames, 3, K, 2)) * scale
    p[:, :3][np.isnan(p[:, :3])] = (gt.xy[:, [1, 2, 0]] + 3)[np.isnan(p[:, :3])]  # labels lost
    p[rng.random((n_frames, n_p, K)) < 0.1] = np.nan  # missed keypoints
    fp = rng.random(n_frames) < 0.4  # false positives
    p[fp, 3] = rng.uniform(20, 230, (fp.sum(), K, 2))
    lik = rng.uniform(0.2, 1.0, (n_frames, n_p, K))
    pred = Poses(p, gt.bodyparts, ["a", "b", "c", "d"], likelihood=lik, scorer="net")
    return pred, gt


def _coco(pred: Poses, gt: Poses, sigma: float):
    """pycocotools' keypoint mAP / mAR on the same data (quiet)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    area = gt_areas(gt.xy)
    images, anns, dets = [], [], []
    for f in range(gt.n_frames):
        images.append({"id": f, "width": 256, "height": 256})
        for a in range(gt.n_individuals):
            xy = gt.xy[f, a]
            vis = np.isfinite(xy).all(-1)
            if not np.isfinite(area[f, a]):
                continue
            kp = np.c_[np.nan_to_num(xy), 2 * vis].ravel().tolist()
            lo, hi = np.nanmin(xy, 0), np.nanmax(xy, 0)
            anns.append({"id": len(anns) + 1, "image_id": f, "category_id": 1, "iscrowd": 0,
                         "keypoints": kp, "num_keypoints": int(vis.sum()),
                         "area": float(area[f, a]), "bbox": [*lo, *(hi - lo)]})
        for d in range(pred.n_individuals):
            xy = pred.xy[f, d]
            vis = np.isfinite(xy).all(-1)
            if not vis.any():
                continue
            far = np.where(vis[:, None], xy, 3000.0)  # no similarity, inside COCO's area range
            score = float(np.mean(pred.likelihood[f, d][vis]))
            dets.append({"image_id": f, "category_id": 1, "score": score,
                         "keypoints": np.c_[far, np.ones(K)].ravel().tolist()})
    gt_coco = COCO()
    gt_coco.dataset = {"images": images, "annotations": anns,
                       "categories": [{"id": 1, "name": "animal", "keypoints": list(range(K))}]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt_coco.createIndex()
        dt_coco = gt_coco.loadRes(dets)
        ev = COCOeval(gt_coco, dt_coco, "keypoints")
        ev.params.kpt_oks_sigmas = np.full(K, sigma)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0], ev.stats[5]


@pytest.mark.parametrize("sigma", [0.1, 0.025])
@pytest.mark.parametrize("seed", [0, 1])
def test_map_matches_pycocotools(sigma, seed):
    pytest.importorskip("pycocotools")
    pred, gt = _scene(seed)
    ours = oks_map(pred, gt, sigma=sigma)
    coco_ap, coco_ar = _coco(pred, gt, sigma)
    assert 0.05 < ours.mAP < 0.98  # a non-trivial case
    assert abs(ours.mAP - coco_ap) < 0.005
    assert abs(ours.mAR - coco_ar) < 0.005
    assert ours.sigma == sigma and f"sigma={sigma}" in str(ours)


def test_map_is_one_for_perfect_predictions_and_lower_with_a_strict_sigma():
    _, gt = _scene(2)
    perfect = Poses(gt.xy + 0.3, gt.bodyparts, gt.individuals, likelihood=np.ones(gt.xy.shape[:3]))
    assert oks_map(perfect, gt, 0.1).mAP == pytest.approx(1.0)
    noisy = Poses(gt.xy + np.random.default_rng(0).normal(0, 2, gt.xy.shape), gt.bodyparts,
                  gt.individuals)
    assert oks_map(noisy, gt, 0.025).mAP < oks_map(noisy, gt, 0.1).mAP


def test_oks_matrix_values():
    gt = np.array([[[[0.0, 0.0], [10.0, 10.0]]]])  # area 100
    pred = gt + np.array([3.0, 4.0])  # d = 5 for both keypoints
    o = oks_matrix(pred, gt, sigma=0.1)
    assert o.shape == (1, 1, 1)
    assert o[0, 0, 0] == pytest.approx(np.exp(-25 / (2 * 100 * 0.04)), rel=1e-6)
    gt1 = gt.copy()
    gt1[0, 0, 1] = np.nan  # one labeled keypoint: no area, left out
    assert np.isnan(oks_matrix(pred, gt1)[0, 0, 0])


def test_matched_errors_ignore_individual_order():
    _, gt = _scene(3)
    rng = np.random.default_rng(3)
    err = rng.normal(0, 2.0, gt.xy.shape)
    shuffled = (gt.xy + err)[:, [2, 0, 1]]
    pred = Poses(shuffled, gt.bodyparts, ["x", "y", "z"])
    m = matched_errors(pred, gt, pck_thresholds=(1.0, 50.0))
    expected = np.nanmean(np.linalg.norm(err, axis=-1)[np.isfinite(gt.xy).all(-1)])
    assert m.rmse == pytest.approx(expected, rel=1e-6)
    assert m.pck[50.0] == pytest.approx(1.0)
    assert 0.05 < m.pck[1.0] < 0.3
    assert set(m.per_bodypart) == set(gt.bodyparts)
