"""anipose's calibration.toml: round trips, camera order, refused defective files."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.pose3d.calibration_toml import calibration_text, camera_keys, read_calibration
from markerless.pose3d.camera import CameraGroup
from markerless.pose3d.errors import CalibrationError
from markerless.synthetic.multicam import make_rig


def test_round_trip_is_byte_identical(tmp_path, rig):
    path = tmp_path / "calibration.toml"
    g = rig.copy()
    g.metadata = {"units": "mm", "quality": {"camera-1": {"error_median": 0.1}}}
    g.dump(path)
    back = CameraGroup.load(path)
    assert back.get_names() == rig.get_names()
    for a, b in zip(rig.cameras, back.cameras, strict=True):
        assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.dist, b.dist)
        assert np.array_equal(a.rvec, b.rvec) and np.array_equal(a.tvec, b.tvec)
        assert a.size == b.size
    assert back.metadata["quality"]["camera-1"]["error_median"] == 0.1
    assert calibration_text(back) == path.read_text()


def test_twelve_cameras_keep_their_order(tmp_path):
    names = [f"cam{i}" for i in (5, 11, 0, 3, 10, 1, 2, 9, 4, 8, 6, 7)]  # not sorted
    rig = make_rig(12, names=names, seed=3)
    rig.dump(tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text()
    assert "[cam_00]" in text and "[cam_11]" in text  # aniposelib sorts keys as strings
    keys = camera_keys(12)
    assert keys == sorted(keys)
    assert CameraGroup.load(tmp_path / "c.toml").get_names() == names


def test_cam_n_sorts_numerically(tmp_path, rig):
    entries = []
    for key, cam in zip(["cam_10", "cam_2", "cam_1", "cam_0"], rig.cameras, strict=True):
        d = cam.get_dict()
        entries.append(f"[{key}]\nname = \"{d['name']}\"\nsize = {d['size']}\n"
                       f"matrix = {d['matrix']}\ndistortions = {d['distortions']}\n"
                       f"rotation = {d['rotation']}\ntranslation = {d['translation']}\n")
    (tmp_path / "c.toml").write_text("\n".join(entries))
    names = read_calibration(tmp_path / "c.toml").get_names()
    assert names == ["camera-4", "camera-3", "camera-2", "camera-1"]  # cam_0, 1, 2, 10


def test_copied_camera_is_refused(tmp_path, rig):
    g = rig.copy()
    g.cameras[3] = g.cameras[2].copy()
    g.cameras[3].set_name("copy")
    g.dump(tmp_path / "c.toml")
    with pytest.raises(CalibrationError, match="'camera-3' and 'copy' have identical"):
        CameraGroup.load(tmp_path / "c.toml")
    assert len(CameraGroup.load(tmp_path / "c.toml", validate=False)) == 4


@pytest.mark.parametrize("body, message", [
    ("[cam_0]\nname = \"a\"\n", "lacks size, matrix"),
    ("[cam_0]\nname = \"a\"\nfisheye = true\n", "fisheye"),
    ("[metadata]\nx = 1\n", "holds no camera"),
    ("[cam_0\n", "cannot read"),
])
def test_malformed_files_name_the_problem(tmp_path, body, message):
    (tmp_path / "c.toml").write_text(body)
    with pytest.raises(CalibrationError, match=message):
        read_calibration(tmp_path / "c.toml")


def test_missing_file(tmp_path):
    with pytest.raises(CalibrationError, match="not found"):
        read_calibration(tmp_path / "nope.toml")


@pytest.mark.shared
def test_shipped_sleap_anipose_calibration_is_defective(anipose_session):
    path = anipose_session / "calibration.toml"
    with pytest.raises(CalibrationError, match="'side' and 'top' have identical"):
        CameraGroup.load(path)
    g = CameraGroup.load(path, validate=False)
    assert g.get_names() == ["back", "mid", "side", "top"]
