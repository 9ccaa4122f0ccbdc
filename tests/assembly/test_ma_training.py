"""A tiny multi-animal model trains on synthetic two-animal frames (with an animal out of
the frame and unlabeled keypoints), then evaluation and video analysis run on it.

One training run is shared by the module (the expensive part is compiling the train step):
``resnet_tiny``, 64x64 crops of 96x160 frames with two animals tinted apart (identity head
on), a unique bodypart, DLC 3's complete graph pruned after training.

Assertions hold on any machine: large effects only (most animals assembled right versus
none before training; identity right far above chance) and exact file layouts.
"""

from __future__ import annotations

import pickle
import shutil
import warnings

import numpy as np
import pytest
from ma_project import make_ma_project, synthetic_config

from markerless.analysis.ma_inference import ma_spec_of
from markerless.evaluation.ma_evaluate import multi_truth, predict_matched
from markerless.evaluation.ma_match import matched_errors
from markerless.io.config import read_config
from markerless.training.dataset import create_training_dataset
from markerless.training.recipes import read_pose_cfg
from markerless.training.snapshots import load_model_for_inference
from markerless.training.trainer import Trainer, train_network
from markerless.training.training_data import load_training_data

MAXITERS = 400


def _recovered(model, info, data) -> tuple[float, np.ndarray]:
    """Share of labeled animals whose matched assembly has >= 3 of 4 keypoints within 5 px."""
    gt = multi_truth(data.keypoints, 2, 4)
    err = matched_errors(predict_matched(model, info, data.images, gt)[0], gt)
    return float(np.mean((err < 5).sum(-1) >= 3)), err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    # Animal 1 leaves the frame (frames 0-2), some keypoints are unlabeled (NaN).
    unlabel = {0: [(1, [0, 1, 2, 3])], 1: [(1, [0, 1, 2, 3])], 2: [(1, [0, 1, 2, 3])],
               5: [(0, [1])], 9: [(1, [2, 3])]}
    config = make_ma_project(tmp_path_factory.mktemp("ma"), n_frames=40, identity=True,
                             unique=True, identity_colors=True, unlabel=unlabel)
    create_training_dataset(config, recipe="test", paf_graph="pruned", maxiters=MAXITERS,
                            saveiters=MAXITERS)
    untrained = Trainer(config)
    data = load_training_data(config, which="all")
    before, _ = _recovered(untrained.eval_model(), untrained.model_info(), data)
    del untrained
    train_network(config, progress=False, displayiters=50)
    model, info = load_model_for_inference(config)
    return config, model, info, data, before


def test_pose_cfg_and_snapshot_record_the_graph(trained):
    config, _, info, _, _ = trained
    pose_cfg = read_pose_cfg(config.parent / "dlc-models/iteration-0/maJan01-trainset90shuffle1")
    assert pose_cfg["partaffinityfield_graph"] == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert pose_cfg["multianimalbodyparts"] == ["snout", "leftear", "rightear", "tailbase"]
    assert pose_cfg["uniquebodyparts"] == ["marker"] and pose_cfg["num_idchannel"] == 2
    spec = ma_spec_of(info)
    assert list(spec.paf_best) == pose_cfg["paf_best"] and 3 <= len(spec.paf_best) <= 6
    assert len(pose_cfg["paf_best_scores"]) >= 2  # the candidate graphs pruning scored
    assert spec.individuals == ("animal0", "animal1") and spec.identity
    # The saved training state resumes (its signature ignores the pruned paf_best).
    resumed = Trainer(config)
    assert resumed.step == MAXITERS and list(resumed.ma_spec.paf_best) == pose_cfg["paf_best"]


def test_assemblies_recover_the_animals(trained):
    _, model, info, data, before = trained
    after, err = _recovered(model, info, data)
    assert before < 0.1
    assert after >= 0.5, f"only {after:.0%} of the animals assembled within 5 px"
    assert np.median(err[np.isfinite(err)]) < 4.5


def test_identity_head_names_the_animals(trained):
    from markerless.analysis.ma_inference import predict_multi_frames
    from markerless.assembly import AssemblerConfig, assemble

    _, model, info, data, _ = trained
    out = predict_multi_frames(model, info, data.images)
    spec = ma_spec_of(info)
    res = assemble(out["peaks"], out["affinity"], AssemblerConfig(
        max_n_individuals=2, n_multibodyparts=4, edges=spec.best_edges), out["identity"])
    gt = multi_truth(data.keypoints, 2, 4)
    d = np.linalg.norm(res.data[:, :, None, :, :2] - gt[:, None], axis=-1)  # (F, A, I, K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        owner = np.nanargmin(np.where(np.isfinite(d), d, np.inf).min(-1), axis=-1)
    present = res.count() > 0
    named = np.argmax(np.nan_to_num(res.identity, nan=-1), -1)
    real = np.isfinite(res.data[..., 0]).any(-1) & present[:, None]
    assert np.mean(named[real] == owner[real]) >= 0.9
    # Identity-only assembly puts each individual in its own row.
    ido = assemble(out["peaks"], out["affinity"], AssemblerConfig(
        max_n_individuals=2, n_multibodyparts=4, edges=spec.best_edges, identity_only=True),
        out["identity"])
    assert (np.argmax(np.nan_to_num(ido.identity[:, 0], nan=-1), -1) == 0).mean() >= 0.9


def test_evaluate_network_reports_matched_errors(trained):
    from markerless.evaluation.evaluate import evaluate_network

    config = trained[0]
    table = evaluate_network(config, show_errors=False)
    row = table.iloc[-1]
    assert row[" Train error(px)"] < 6.0 and row[" Test error(px)"] < 8.0
    assert row["test_pck@10px"] > 0.6


def test_analyze_videos_writes_dlc_pickles_and_resumes(trained, tmp_path):
    from markerless.analysis.analyze import analyze_videos, iter_analyze
    from markerless.synthetic import write_clip

    config, _, _, _, _ = trained
    video = tmp_path / "two.mp4"
    truth = write_clip(video, synthetic_config(70, seed=0, identity_colors=True), gop=10)
    gen = iter_analyze(config, [video], chunk_frames=20)
    for ev in gen:  # stop after the first chunk, as a killed run would
        if ev["frames_done"] >= 20:
            break
    gen.close()
    partial = list(tmp_path.glob("*.partial"))
    assert len(partial) == 1 and len(list(partial[0].glob("*.npz"))) >= 1
    scorer = analyze_videos(config, [video], progress=False)  # auto_track: the default
    assert not list(tmp_path.glob("*.partial"))
    stem = f"two{scorer}"
    full = pickle.loads((tmp_path / f"{stem}_full.pickle").read_bytes())
    ass = pickle.loads((tmp_path / f"{stem}_assemblies.pickle").read_bytes())
    assert (tmp_path / f"{stem}_meta.pickle").exists()
    assert not (tmp_path / f"{stem}.h5").exists()  # multi-animal: tracks, not a flat h5
    assert full["metadata"]["nframes"] == 70 and "frame00" in full
    assert full["metadata"]["all_joints_names"] == ["snout", "leftear", "rightear", "tailbase",
                                                    "marker"]
    entry = full["frame00"]
    assert len(entry["coordinates"][0]) == 5 and len(entry["identity"]) == 5
    assert set(entry["costs"]) == set(range(len(full["metadata"]["PAFgraph"])))
    frames = [k for k in ass if k != "single"]
    assert len(frames) >= 60 and ass[frames[0]].shape[1:] == (4, 4)
    # The assembled animals are where the animals are.
    ok = []
    for f in frames:
        for animal in ass[f]:
            d = np.linalg.norm(animal[None, :, :2] - truth.xy[f], axis=-1)
            ok.append(np.nanmin(np.nanmean(d, axis=-1)))
    assert np.mean(np.array(ok) < 12) >= 0.8  # new, compressed frames: a looser bound
    # auto_track: DLC 3's tracklets and stitched tracks, scored against the truth
    from markerless.evaluation.tracking import evaluate_tracking, load_tracks

    assert (tmp_path / f"{stem}_el.pickle").exists()
    tracks = load_tracks(tmp_path / f"{stem}_el.h5")
    assert tracks.n_frames == 70 and tracks.n_individuals >= 2
    # each track follows one animal: near it, and the same animal all along (no swaps)
    xy = tracks.xy[:, :2, :4]  # (F, tracks, bodyparts, 2)
    d = np.nanmean(np.linalg.norm(xy[:, :, None] - truth.xy[:, None, :, :4], axis=-1), -1)
    seen = np.isfinite(d).all(-1)  # (F, tracks): the track has this frame
    near = np.nanargmin(np.where(np.isfinite(d), d, np.inf), axis=-1)
    assert seen.mean() >= 0.8
    for t in range(2):
        follows = near[seen[:, t], t]
        assert np.mean(np.min(d[seen[:, t], t], axis=-1) < 16) >= 0.8
        assert np.mean(follows == np.bincount(follows).argmax()) >= 0.9
    assert near[seen.all(-1)][:, 0].tolist() != near[seen.all(-1)][:, 1].tolist()
    scores = evaluate_tracking(tmp_path / f"{stem}_el.h5", truth, sigma=0.5)  # small animals
    print(scores)
    assert scores.id_switches <= 2, scores
    # Analysing again skips; redo recomputes the same numbers (resumed = uninterrupted).
    shutil.copy(tmp_path / f"{stem}_assemblies.pickle", tmp_path / "resumed.pickle")
    analyze_videos(config, [video], progress=False, redo=True)
    again = pickle.loads((tmp_path / f"{stem}_assemblies.pickle").read_bytes())
    first = pickle.loads((tmp_path / "resumed.pickle").read_bytes())
    assert first.keys() == again.keys()
    for k in frames:
        np.testing.assert_array_equal(first[k], again[k])
    cfg = read_config(config)
    assert cfg["multianimalproject"]


def test_dask_cluster_gives_the_local_numbers(trained, tmp_path):
    from distributed import Client, LocalCluster

    from markerless.analysis.analyze import analyze_videos
    from markerless.synthetic import write_clip

    config = trained[0]
    video = tmp_path / "dask.mp4"
    write_clip(video, synthetic_config(30, seed=3), gop=10)
    kw = {"progress": False, "auto_track": False, "batch_size": 8}
    scorer = analyze_videos(config, [video], destfolder=tmp_path / "local", **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        analyze_videos(config, [video], destfolder=tmp_path / "dask", client=client, **kw)
    name = f"dask{scorer}_assemblies.pickle"
    local = pickle.loads((tmp_path / "local" / name).read_bytes())
    remote = pickle.loads((tmp_path / "dask" / name).read_bytes())
    assert local.keys() == remote.keys() and len(local) > 20
    for k in local:
        if k != "single":
            np.testing.assert_array_equal(local[k], remote[k])
