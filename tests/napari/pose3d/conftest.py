"""Small synthetic 3D projects for the 3D docks and layers (built once per session).

``result3d``: three known cameras (the true rig as the project's calibration.toml), a
walking animal projected into every view with noise, a few missing views and confident
30 px outliers, one camera's video, triangulated by ``triangulate``.
``board_images``: a ChArUco board rendered at 8 poses into two cameras (some views show
no board), to calibrate from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from markerless.synthetic.multicam import (
    ANIMAL_BODYPARTS,
    ANIMAL_SKELETON,
    animal_3d,
    board_poses,
    make_rig,
    project_animal,
    render_board_images,
)

cv2 = pytest.importorskip("cv2")

CAMERAS = ["top", "left", "right"]
N_FRAMES = 30
SCORER_2D = "DLC_resnet50_mouseJan1shuffle1_100"


def _config(tmp: Path, names, board=None) -> Path:
    from markerless.io.config import read_config, write_config
    from markerless.pose3d.boards import CharucoBoard
    from markerless.pose3d.project import create_new_project_3d

    board = board or CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    config = Path(create_new_project_3d("mouse", "ml", len(names), tmp, camera_names=names,
                                        board=board))
    cfg = read_config(config)
    cfg["skeleton"] = [list(e) for e in ANIMAL_SKELETON]
    cfg["colormap"] = "rainbow"
    cfg["pcutoff"] = 0.4
    write_config(cfg, config)
    return config


def _write_video(path: Path, px: np.ndarray, size: tuple[int, int]) -> None:
    """The camera's view: a grey floor and the animal as a pale blob along its points."""
    from markerless.drawing import draw_discs
    from markerless.io.video_write import VideoWriter

    w, h = size
    frames = np.full((len(px), h, w, 3), 70, np.uint8)
    frames[:, ::16] = 90
    frames[:, :, ::16] = 90
    colors = np.full((px.shape[1], 3), 185.0, np.float32)
    draw_discs(frames, px, np.isfinite(px).all(-1), colors, 5.0, 0.9)
    with VideoWriter(path, fps=30, crf=23, gop=10, preset="ultrafast") as writer:
        writer.write(frames)


@pytest.fixture(scope="session")
def result3d(tmp_path_factory):
    """(config, rig, outputs of triangulate, truth (F, J, 3), outliers (C, F, J))."""
    from markerless.io.dlc_analysis import write_analysis
    from markerless.pose3d.project import calibration_path, read_config3d
    from markerless.pose3d.triangulate import triangulate
    from markerless.poses import Poses

    tmp = tmp_path_factory.mktemp("result3d")
    rig = make_rig(3, image_size=(320, 240), radius=520, height=380, focal=330, seed=3,
                   names=CAMERAS)
    config = _config(tmp, CAMERAS)
    cfg, project = read_config3d(config)
    rig.dump(calibration_path(cfg, project))
    truth = animal_3d(N_FRAMES, seed=1)
    px, lik, outliers = project_animal(rig, truth, noise=0.5, missing=0.05, outliers=0.03,
                                       outlier_px=30.0, seed=2)
    data = tmp / "trial"
    data.mkdir()
    files = []
    for c, name in enumerate(CAMERAS):
        poses = Poses(px[c][:, None], list(ANIMAL_BODYPARTS), likelihood=lik[c][:, None],
                      scorer=SCORER_2D)
        files.append(write_analysis(poses, data / f"trial1-{name}{SCORER_2D}.h5"))
    _write_video(data / "trial1-top.mp4", px[0], rig.cameras[0].size)
    out = triangulate(config, [files], method="dlt", destfolder=tmp / "3d", progress=False)
    return config, rig, out[0], truth, outliers


@pytest.fixture(scope="session")
def board_images():
    """(rig, board, images (2, 8, h, w)) rendered once: the slow part of a calibration."""
    from markerless.pose3d.boards import CharucoBoard

    board = CharucoBoard(7, 5, 40.0, 30.0, dict_size=50)
    rig = make_rig(image_size=(480, 360), radius=480, height=330, focal=560, seed=2,
                   names=["left", "right"], azimuths=[0, 70])
    images, _ = render_board_images(rig, board, board_poses(board, 8, seed=4, max_tilt=35),
                                    seed=5)
    return rig, board, images


@pytest.fixture
def calibration_project(tmp_path, board_images):
    """A fresh 2-camera 3D project with the rendered images in calibration_images/."""
    rig, board, images = board_images
    config = _config(tmp_path, rig.get_names(), board)
    folder = config.parent / "calibration_images"
    for c, name in enumerate(rig.get_names()):
        for v in range(images.shape[1]):
            cv2.imwrite(str(folder / f"{name}-{v:02d}.png"), images[c, v])
    return config
