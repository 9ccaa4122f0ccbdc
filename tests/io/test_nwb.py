"""NWB with ndx-pose 0.4: write, read back with markerless, movement and sleap-io, validate."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ndx_pose")
pytest.importorskip("pynwb")

from markerless.io.nwb import (  # noqa: E402
    NWB3D,
    export_nwb,
    export_nwb_labels,
    read_nwb,
    validate_nwb,
)
from markerless.poses import Poses  # noqa: E402

SCORER = "DLC_resnet50_nwbTestJan1shuffle1_1000"
PARTS = ["snout", "leftear", "rightear", "tailbase"]


def _analysis(tmp_path, individuals=("",), n=20, fps=25.0, seed=0):
    """An analysis .h5 + _meta.json as analyze_videos writes them."""
    from markerless.analysis.outputs import output_paths, write_metadata
    from markerless.io.dlc_analysis import write_analysis

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (n, len(individuals), len(PARTS), 2))
    xy[5, 0, 1] = np.nan
    lik = rng.uniform(0, 1, xy.shape[:3])
    poses = Poses(xy, PARTS, list(individuals), list(range(n)), SCORER, lik)
    paths = output_paths(tmp_path / "session1.mp4", SCORER)
    write_analysis(poses, paths.h5)
    write_metadata(paths, {"fps": fps, "frame_dimensions": (480, 640),
                           "video": str(tmp_path / "session1.mp4")})
    return paths.h5, poses


def _config(tmp_path):
    from markerless.io.config import default_config, write_config

    cfg = default_config(task="nwb", scorer="tester", date="Jan1",
                         project_path=str(tmp_path), bodyparts=PARTS)
    cfg["skeleton"] = [["snout", "leftear"], ["snout", "rightear"], ["snout", "tailbase"]]
    return write_config(cfg, tmp_path / "config.yaml")


def test_single_animal_round_trip_movement_and_validator(tmp_path):
    from movement.io import load_poses

    h5, poses = _analysis(tmp_path)
    out = export_nwb(_config(tmp_path), h5, subject={"subject_id": "m1", "species":
                                                     "Mus musculus"})
    assert out == h5.with_suffix(".nwb") and out.is_file()
    assert validate_nwb(out) == []
    back = read_nwb(out)
    assert back.bodyparts == PARTS and back.individuals == [""] and back.scorer == SCORER
    np.testing.assert_array_equal(back.xy, poses.xy)
    np.testing.assert_array_equal(back.likelihood, poses.likelihood)
    ds = load_poses.from_nwb_file(out).sel(keypoints=PARTS)  # movement sorts them by name
    pos = ds.position.transpose("time", "individuals", "keypoints", "space").values
    conf = ds.confidence.transpose("time", "individuals", "keypoints").values
    assert ds.attrs["fps"] == 25.0
    np.testing.assert_array_equal(pos, poses.xy)
    np.testing.assert_array_equal(conf, poses.likelihood)
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        pe = nwb.processing["behavior"]["PoseEstimation"]
        assert pe.source_software == "markerless" and pe.scorer == SCORER
        assert list(pe.source_video.external_file[:]) == [str(tmp_path / "session1.mp4")]
        assert list(pe.source_video.dimension[:]) == [640, 480]
        skel = nwb.processing["behavior"]["Skeletons"].skeletons["skeleton"]
        assert list(skel.nodes[:]) == PARTS and skel.edges[:].tolist() == [[0, 1], [0, 2],
                                                                            [0, 3]]
        assert nwb.subject.subject_id == "m1"


def test_multi_animal_one_pose_estimation_per_individual(tmp_path):
    from movement.io import load_poses

    h5, poses = _analysis(tmp_path, individuals=("mouse1", "mouse2"))
    out = export_nwb(None, h5)
    assert validate_nwb(out) == []
    back = read_nwb(out)
    assert back.individuals == ["mouse1", "mouse2"]
    np.testing.assert_array_equal(back.xy, poses.xy)
    for i, ind in enumerate(["mouse1", "mouse2"]):
        ds = load_poses.from_nwb_file(out, pose_estimation_key=f"PoseEstimation_{ind}")
        ds = ds.sel(keypoints=PARTS)
        pos = ds.position.transpose("time", "individuals", "keypoints", "space").values
        np.testing.assert_array_equal(pos[:, 0], poses.xy[:, i])


def test_3d_data_writes_x_y_z(tmp_path):
    rng = np.random.default_rng(3)
    cols = pd.MultiIndex.from_product([["DLC_3D"], PARTS, ["x", "y", "z"]],
                                      names=["scorer", "bodyparts", "coords"])
    xyz = rng.normal(size=(10, len(PARTS), 3))
    h5 = tmp_path / "session_DLC_3D.h5"
    pd.DataFrame(xyz.reshape(10, -1), columns=cols).to_hdf(h5, key="df_with_missing")
    out = export_nwb(None, h5)
    assert validate_nwb(out) == []
    back = read_nwb(out)
    assert isinstance(back, NWB3D) and back.bodyparts == PARTS
    np.testing.assert_array_equal(back.xyz[:, 0], xyz)


def test_labels_as_pose_training_read_by_sleap_io(tmp_path):
    sio = pytest.importorskip("sleap_io")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
    from project_factory import make_project

    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import find_labels_file, read_labels
    from markerless.synthetic import SyntheticConfig, write_clip

    config = make_project(tmp_path, n_frames=6, height=48, width=64,
                          unlabel={2: [1], 4: [0, 1, 2, 3]})
    labels = read_labels(find_labels_file(config.parent / "labeled-data" / "clip0"))
    # the labeled frames' video (make_project's frames), so the labels index a real video
    video = config.parent / "videos" / "clip0.mp4"
    video.parent.mkdir()
    write_clip(video, SyntheticConfig(height=48, width=64, n_frames=6, seed=0, speed=3.0))
    cfg = read_config(config)
    cfg["video_sets"] = {str(video): {"crop": "0, 64, 0, 48"}}
    write_config(cfg, config)
    out = export_nwb_labels(config, path=tmp_path / "labels.nwb")
    assert validate_nwb(out) == []
    back = read_nwb(out)  # frame 4 has no label: no training frame
    keep = [0, 1, 2, 3, 5]
    np.testing.assert_array_equal(back.xy, labels.xy[keep])
    slp = sio.load_nwb(out)
    assert [n.name for n in slp.skeletons[0].nodes] == labels.bodyparts
    got = np.stack([lf.instances[0].numpy() for lf in slp.labeled_frames])
    np.testing.assert_array_equal(got, labels.xy[keep, 0])
    assert sorted(lf.frame_idx for lf in slp.labeled_frames) == keep


def test_export_into_an_open_nwbfile_and_from_a_video_path(tmp_path):
    import datetime

    from pynwb import NWBFile

    h5, _ = _analysis(tmp_path)
    nwb = NWBFile(session_description="mine", identifier="abc",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    (tmp_path / "session1.mp4").write_bytes(b"")  # the analysis is found by the video's name
    same = export_nwb(None, tmp_path / "session1.mp4", nwbfile=nwb)
    assert same is nwb and "PoseEstimation" in nwb.processing["behavior"].data_interfaces


def test_cli_export_nwb(tmp_path, capsys):
    from markerless.cli import main

    h5, poses = _analysis(tmp_path)
    assert main(["export-nwb", str(_config(tmp_path)), str(h5), "--subject", "m2",
                 "--destfolder", str(tmp_path / "nwb")]) == 0
    out = tmp_path / "nwb" / f"{h5.stem}.nwb"
    assert capsys.readouterr().out.strip() == str(out)
    np.testing.assert_array_equal(read_nwb(out).xy, poses.xy)
