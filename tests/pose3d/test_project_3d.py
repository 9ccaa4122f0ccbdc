"""A 3D project end to end: create, calibrate from images, triangulate files, filter, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from markerless.cli import main
from markerless.errors import ConfigError
from markerless.io.config import read_config
from markerless.io.dlc_analysis import write_analysis
from markerless.pose3d.boards import CharucoBoard
from markerless.pose3d.calibrate import calibrate_cameras
from markerless.pose3d.camera import CameraGroup
from markerless.pose3d.outputs import read_anipose_csv, read_dlc_3d
from markerless.pose3d.project import FOLDERS, create_new_project_3d
from markerless.pose3d.triangulate import triangulate
from markerless.poses import Poses
from markerless.synthetic.multicam import (
    ANIMAL_BODYPARTS,
    animal_3d,
    board_poses,
    make_rig,
    project_animal,
    render_board_images,
)

cv2 = pytest.importorskip("cv2")


def test_create_new_project_3d_layout(tmp_path):
    config = create_new_project_3d("reach", "Ann", 3, tmp_path)
    cfg = read_config(config)
    project = tmp_path / f"reach-Ann-{cfg['project_path'].split('Ann-')[1]}"
    assert project.name.endswith("-3d") and all((project / f).is_dir() for f in FOLDERS)
    assert cfg["camera_names"] == ["camera-1", "camera-2", "camera-3"]
    assert cfg["num_cameras"] == 3 and cfg["scorername_3d"] == "DLC_3D"
    for key in ("config_file_camera-3", "shuffle_camera-2", "trainingsetindex_camera-1",
                "pcutoff", "skeleton", "calibration_board", "calibration_file"):
        assert key in cfg
    with pytest.raises(ConfigError, match="square size is not set"):
        calibrate_cameras(config)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A 2-camera project with rendered ChArUco images, calibrated once."""
    tmp = tmp_path_factory.mktemp("p3d")
    board = CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    rig = make_rig(image_size=(480, 360), radius=480, height=330, focal=560, seed=2,
                   names=["left", "right"], azimuths=[0, 70])
    config = create_new_project_3d("rig", "Bo", 2, tmp, camera_names=["left", "right"],
                                   board=board)
    images, _ = render_board_images(rig, board, board_poses(board, 12, seed=4, max_tilt=35),
                                    seed=5)
    folder = tmp / read_config(config)["project_path"].rsplit("/", 1)[1] / "calibration_images"
    for c, name in enumerate(rig.get_names()):
        for v in range(images.shape[1]):
            cv2.imwrite(str(folder / f"{name}-{v:02d}.png"), images[c, v])
    report = calibrate_cameras(config, calibrate=True, progress=False, verbose=False)
    return config, rig, report, folder.parent


def test_calibrate_writes_toml_and_dlc_pickles(project):
    config, rig, report, root = project
    group = CameraGroup.load(root / "camera_matrix" / "calibration.toml")
    assert group.get_names() == ["left", "right"]
    assert all(q.median_error < 0.3 and q.boards_used >= 6 for q in report.cameras)
    assert abs(group.cameras[1].matrix[0, 0] / rig.cameras[1].matrix[0, 0] - 1) < 0.01
    assert (root / "camera_matrix" / "stereo_params.pickle").is_file()
    assert (root / "camera_matrix" / "left_intrinsic_params.pickle").is_file()
    assert (root / "corners" / "left_detections.npz").is_file()  # the detection cache


def test_triangulate_filter_and_cli(project, tmp_path):
    config, rig, _, root = project
    X = animal_3d(40, seed=6)
    px, lik, _ = project_animal(rig, X, noise=0.3, missing=0.1, seed=7)
    files = []
    for c, name in enumerate(rig.get_names()):
        poses = Poses(px[c][:, None], list(ANIMAL_BODYPARTS), likelihood=lik[c][:, None],
                      scorer="DLC_resnet50_rigshuffle1_100")
        files.append(write_analysis(poses, tmp_path / f"trial1-{name}DLC_resnet50_x.h5"))
    out = triangulate(config, [files], method="ransac", destfolder=tmp_path, progress=False)
    res = read_dlc_3d(out[0]["dlc_3d"])
    assert out[0]["dlc_3d"].name == "trial1_DLC_3D.h5"
    cam1 = rig.cameras[0]
    truth = X @ cam1.rotation_matrix.T + cam1.tvec  # calibration world = first camera
    err = np.linalg.norm(res.points[:, 0] - truth, axis=-1)
    assert np.nanmedian(err) < 2.0 and np.isfinite(err).mean() > 0.7
    assert (tmp_path / "trial1-leftDLC_3D_reprojected.h5").is_file()
    meta = json.loads(out[0]["meta"].read_text())
    assert meta["method"] == "ransac" and meta["cameras"] == ["left", "right"]
    # the same through the CLI, then filter-3d
    dest = tmp_path / "cli"
    assert main(["triangulate", config, *map(str, files), "--destfolder", str(dest),
                 "--method", "dlt"]) == 0
    assert main(["filter-3d", config, str(dest / "trial1_DLC_3D_anipose.csv")]) == 0
    filt = read_anipose_csv(dest / "trial1_DLC_3D_filtered_anipose.csv")
    assert filt.points.shape == (40, 1, 10, 3)
    assert main(["calibrate", config, "--detect-only"]) == 0


def test_cli_errors_are_one_line(project, tmp_path, capsys):
    config, *_ = project
    assert main(["triangulate", config, str(tmp_path / "missing.h5"), "x.h5"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err
