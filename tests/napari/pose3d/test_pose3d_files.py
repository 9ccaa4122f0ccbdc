"""What the 3D view finds around a result, and the per-camera disagreement (no viewer)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from markerless.napari.layers.pose3d_files import (
    camera_files,
    disagreement,
    is_3d_result,
    load_result,
    reprojection,
)


def test_only_3d_files_are_3d_results(result3d, tmp_path):
    from markerless.io.dlc_labels import write_labels
    from markerless.poses import Poses

    _, _, out, _, _ = result3d
    meta = out["meta"]
    inputs = sorted(meta.parent.parent.glob("trial/*.h5"))
    assert is_3d_result(out["dlc_3d"]) and is_3d_result(out["anipose"])
    labels = Poses(np.ones((2, 1, 2, 2)), ["a", "b"], frames=["img0.png", "img1.png"])
    write_labels(labels, tmp_path / "CollectedData_x.h5")
    (tmp_path / "other.csv").write_text("a_x,b\n1,2\n")
    for path in [out["reprojected_top"], *inputs, tmp_path / "CollectedData_x.h5",
                 tmp_path / "CollectedData_x.csv", tmp_path / "other.csv", meta]:
        assert not is_3d_result(path), path


def test_a_result_finds_its_meta_calibration_project_and_files(result3d):
    config, rig, out, _, _ = result3d
    res = load_result(out["anipose"])  # from the anipose CSV as from the DLC file
    assert res.config == config and res.cameras == ["top", "left", "right"]
    assert res.calibration.get_names() == res.cameras
    assert res.skeleton[0] == ("snout", "neck") and res.colormap == "rainbow"
    assert res.skeleton_color == "white"  # the config's black would vanish on napari's canvas
    top = camera_files(res, "top")
    assert top.video.name == "trial1-top.mp4" and top.reprojected == out["reprojected_top"]
    assert top.predictions.name.startswith("trial1-topDLC_resnet50")
    assert camera_files(res, "left").video is None


def test_a_filtered_result_is_reprojected_with_the_calibration(result3d):
    from markerless.pose3d.filtering import filterpredictions_3d

    config, rig, out, _, _ = result3d
    (filtered,) = [p for p in filterpredictions_3d(config, out["dlc_3d"])
                   if str(p).endswith("_filtered.h5")]
    res = load_result(filtered)
    assert res.filtered and res.meta["cameras"] == ["top", "left", "right"]
    assert camera_files(res, "left").reprojected is None  # the file is the unfiltered one's
    xy = reprojection(res, "left")
    ok = np.isfinite(res.points.points).all(-1)
    expected = rig.project(res.points.points[ok])[1]
    np.testing.assert_allclose(xy[ok], expected, atol=1e-9)
    assert np.isnan(xy[~ok]).all()


def test_disagreement_follows_frame_offsets_and_pcutoff():
    F, J = 6, 2
    reproj = np.zeros((F, 1, J, 2))
    pred = np.full((F + 3, 1, J, 2), np.nan)
    lik = np.ones((F + 3, 1, J))
    pred[3:, 0, :, 0] = 3.0  # the camera started 3 frames early: its frame t+3 is our t
    pred[3:, 0, :, 1] = 4.0
    lik[4, 0, 1] = 0.1  # below pcutoff: not compared
    dis = disagreement(pred, lik, reproj, offset=3, pcutoff=0.5)
    assert len(dis.error) == F * J - 1
    np.testing.assert_allclose(dis.error, 5.0)
    assert (dis.video_frame == dis.frame + 3).all()
    assert (1, 1) not in set(zip(dis.frame.tolist(), dis.bodypart.tolist(), strict=True))
    assert "12 points" not in dis.summary(10) and "0 of 11 points over 10 px" in dis.summary(10)
    assert "11 of 11 points over 4 px (frames 0, 1, 2, 3, 4, 5)" in dis.summary(4)


def test_triangulation_jobs_find_a_folders_recordings(result3d, tmp_path):
    from markerless.napari.pose3d import jobs

    config, _, out, _, _ = result3d
    for f in (out["meta"].parent.parent / "trial").glob("*.h5"):
        shutil.copy(f, tmp_path / f.name)
    (rec,) = jobs.recordings_in(config, tmp_path)
    assert sorted(rec) == ["left", "right", "top"]
    assert jobs.config_path(config.parent / "calibration_images") == config
    gen = jobs.triangulation_job(config, [rec], "ransac", 0.4, tmp_path / "3d")
    reports = []
    with pytest.raises(StopIteration) as stop:
        while True:
            reports.append(next(gen))
    assert [r["done"] for r in reports] == [0, 1] and reports[-1]["total"] == 1
    assert stop.value.value[0]["dlc_3d"] == tmp_path / "3d" / "trial1_DLC_3D.h5"
