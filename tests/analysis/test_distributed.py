"""Chunks as dask tasks on a LocalCluster give the in-process numbers exactly."""

from __future__ import annotations

import pytest
from analysis_helpers import make_video, output_files

from markerless.analysis import analyze_video_file, iter_analyze_video
from markerless.analysis.distributed import iter_analyze_distributed
from markerless.analysis.job import model_spec
from markerless.io.dlc_analysis import read_analysis

KW = {"batch_size": 8, "chunk_frames": 16}


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    videos = [folder / "one.mp4", folder / "two.mp4"]
    make_video(videos[0], 30, seed=11)
    make_video(videos[1], 24, seed=12)
    return videos


def _run(videos, model, info, client, dest):
    spec = model_spec(model, info)
    return list(iter_analyze_distributed(videos, model, spec, client, destfolder=dest, **KW))


def _check_same_as_local(videos, model, info, dest, tmp_path):
    for video in videos:
        local = analyze_video_file(video, model, info, destfolder=tmp_path / "local", **KW)
        remote = output_files(dest, video.stem)
        assert read_analysis(remote["h5"]).equals(read_analysis(local))
        assert not remote["partial"].exists()


def test_threaded_cluster_matches_local_and_resumes(tmp_path, tiny_model, two_videos):
    from distributed import Client, LocalCluster

    model, info = tiny_model
    dest = tmp_path / "dist"
    # a local run of video one is interrupted after its first chunk...
    for ev in iter_analyze_video(two_videos[0], model, info, destfolder=dest, **KW):
        if ev["frames_done"] >= 10:
            break
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        events = _run(two_videos, model, info, client, dest)
    # ...and the cluster finishes it: chunks 10-20 and 20-30 of one, 0-10 and 10-24 of two
    done = [e for e in events if e["status"] == "done"]
    assert sorted(e["video"] for e in done) == sorted(str(v) for v in two_videos)
    assert [(e["frames_done"], e["n_frames"]) for e in events if "one" in e["video"]] == [
        (20, 30), (30, 30)]
    assert len(events) == 4
    _check_same_as_local(two_videos, model, info, dest, tmp_path)


@pytest.mark.slow
def test_process_cluster_matches_local(tmp_path, tiny_model, two_videos):
    """Separate worker processes (the model travels pickled): same numbers."""
    from distributed import Client, LocalCluster

    model, info = tiny_model
    dest = tmp_path / "dist"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        _run(two_videos, model, info, client, dest)
    _check_same_as_local(two_videos, model, info, dest, tmp_path)


def test_analyze_videos_with_a_scheduler_address(tmp_path, tiny_model, two_videos, monkeypatch):
    """``analyze_cli(..., scheduler="ADDRESS")`` -> ``analyze_videos(..., client="ADDRESS")``."""
    from distributed import LocalCluster

    import markerless.training.snapshots as snapshots
    from markerless.analysis import analyze_cli
    from markerless.io.config import write_config

    model, info = tiny_model
    monkeypatch.setattr(snapshots, "load_model_for_inference", lambda *a, **k: (model, info))
    config = tmp_path / "config.yaml"
    write_config({"Task": "test", "scorer": "me", "date": "Mar1", "batch_size": 8,
                  "bodyparts": list(info["bodyparts"])}, config)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        code = analyze_cli(config, [str(v) for v in two_videos],
                           scheduler=cluster.scheduler_address, destfolder=tmp_path)
    assert code == 0
    for video in two_videos:
        local = analyze_video_file(video, model, info, destfolder=tmp_path / "local",
                                   batch_size=8)
        assert read_analysis(output_files(tmp_path, video.stem)["h5"]).equals(
            read_analysis(local))
