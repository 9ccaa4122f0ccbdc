"""3D from any number of cameras: calibration, triangulation, 3D filtering.

* :mod:`.project`: ``create_new_project_3d`` (DeepLabCut's layout and keys);
* :mod:`.boards`, :mod:`.detection`: checkerboard and ChArUco boards found in images or
  calibration videos, cached;
* :mod:`.intrinsics`, :mod:`.extrinsics`, :mod:`.bundle`, :mod:`.calibrate`: per-camera
  lenses, a spanning tree over camera pairs, bundle adjustment, and the refusals of bad
  calibrations; ``calibrate_cameras`` keeps DeepLabCut's name and works for N cameras;
* :mod:`.camera`, :mod:`.calibration_toml`: ``Camera``/``CameraGroup`` with aniposelib's
  names and shapes, anipose's ``calibration.toml``;
* :mod:`.triangulation`, :mod:`.optim`, :mod:`.triangulate`: vectorised DLT and RANSAC,
  anipose-style optimisation, and ``triangulate`` over a project's recordings;
* :mod:`.outputs`, :mod:`.filtering`, :mod:`.dlc_pickles`, :mod:`.views`: DeepLabCut's
  ``_DLC_3D.h5``, anipose's CSV, reprojections, ``filterpredictions_3d``, DeepLabCut's
  stereo pickles, and arrays for viewers.

No napari or Qt here. See docs/3d.md.
"""

from markerless.pose3d.boards import CharucoBoard, Checkerboard, board_from_dict
from markerless.pose3d.calibrate import (
    CalibrationReport,
    calibrate_cameras,
    calibrate_from_detections,
)
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.detection import Detections, detect_boards
from markerless.pose3d.errors import CalibrationError
from markerless.pose3d.filtering import filter_points3d, filterpredictions_3d
from markerless.pose3d.outputs import Points3D, read_anipose_csv, read_dlc_3d
from markerless.pose3d.project import create_new_project_3d
from markerless.pose3d.triangulate import triangulate, triangulate_arrays, triangulate_poses

__all__ = [
    "CalibrationError", "CalibrationReport", "Camera", "CameraGroup", "CharucoBoard",
    "Checkerboard", "Detections", "Points3D", "board_from_dict", "calibrate_cameras",
    "calibrate_from_detections", "create_new_project_3d", "detect_boards", "filter_points3d",
    "filterpredictions_3d", "read_anipose_csv", "read_dlc_3d", "triangulate",
    "triangulate_arrays", "triangulate_poses",
]
