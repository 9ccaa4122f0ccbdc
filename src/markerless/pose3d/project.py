"""3D projects in DeepLabCut's layout: ``create_new_project_3d`` and the config's helpers.

``<project>-<experimenter>-<YYYY-MM-DD>-3d/`` holds ``config.yaml`` with DeepLabCut's
3D keys (``camera_names``, ``scorername_3d``, ``config_file_<camera>``,
``shuffle_<camera>``, ``trainingsetindex_<camera>``, ``pcutoff``, ``skeleton``...) and
the folders ``camera_matrix``, ``calibration_images``, ``undistortion``, ``corners`` and
``removed_calibration_images``. markerless adds ``calibration_board`` (the board and
its square size in mm: 3D units are the board's), ``calibration_file`` (anipose's
``calibration.toml``, by default ``camera_matrix/calibration.toml``) and
``triangulation`` (method and its settings).
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markerless.errors import ArgumentError, ConfigError
from markerless.io.config import read_config, write_config
from markerless.pose3d.boards import Board, board_from_dict, board_to_dict

FOLDERS = ("camera_matrix", "calibration_images", "undistortion", "corners",
           "removed_calibration_images")

_TEMPLATE = """\
# Project definitions (do not edit)
Task:
scorer:
date:

# Project path (change when moving around)
project_path:

# Plotting configuration
skeleton: # Note that the pairs must be defined, as you want them linked!
skeleton_color:
pcutoff:
colormap:
dotsize:
alphaValue:
markerType:
markerColor:

# Number of cameras, camera names, path of the config files, shuffle index and trainingsetindex
# used to analyze videos:
num_cameras:
camera_names:
scorername_3d: # Enter the scorer name for the 3D output

# Calibration board (markerless): its square size in mm sets the units of every 3D result
calibration_board:
# anipose's calibration.toml written by 'markerless calibrate' (relative to project_path)
calibration_file:
# Triangulation (markerless): dlt, ransac or optim, and their settings
triangulation:
"""


def create_new_project_3d(project: str, experimenter: str, num_cameras: int = 2,
                          working_directory: str | os.PathLike | None = None, *,
                          camera_names: Sequence[str] | None = None,
                          board: Board | Mapping[str, Any] | None = None) -> str:
    """Create a 3D project for ``num_cameras`` >= 2 cameras; returns the config.yaml path.

    ``camera_names`` default to DeepLabCut's ``camera-1``, ``camera-2``...; ``board`` to a
    checkerboard of 6 x 8 inner corners (DeepLabCut's ``cbcol``/``cbrow``) whose square
    size you must fill in (``calibration_board: square_length``, mm).
    """
    from ruamel.yaml.comments import CommentedMap

    from markerless.io.config import _yaml

    if not project or not experimenter:
        raise ConfigError("project and experimenter must be non-empty strings")
    if int(num_cameras) < 2:
        raise ArgumentError(f"num_cameras must be >= 2, got {num_cameras}")
    names = list(camera_names) if camera_names else [f"camera-{i}" for i in
                                                     range(1, int(num_cameras) + 1)]
    if len(names) != int(num_cameras) or len(set(names)) != len(names):
        raise ArgumentError(f"need {num_cameras} distinct camera names, got {names}")
    wd = Path(working_directory or Path.cwd()).expanduser().resolve()
    path = wd / f"{project}-{experimenter}-{_dt.date.today().isoformat()}-3d"
    config = path / "config.yaml"
    if config.exists():
        warnings.warn(f"Project {path} already exists; leaving it unchanged.", stacklevel=2)
        return str(config)
    for folder in FOLDERS:
        (path / folder).mkdir(parents=True, exist_ok=True)
    if board is None:
        board_map: dict[str, Any] = {"type": "checkerboard", "squares_x": 6, "squares_y": 8,
                                     "square_length": None}
    elif isinstance(board, Mapping):
        board_map = board_to_dict(board_from_dict(board))
    else:
        board_map = board_to_dict(board)
    cfg: CommentedMap = _yaml().load(_TEMPLATE)
    cfg.update(
        Task=project, scorer=experimenter, date=_dt.date.today().strftime("%b%d"),
        project_path=str(path),
        skeleton=[["bodypart1", "bodypart2"], ["bodypart2", "bodypart3"],
                  ["bodypart3", "bodypart4"], ["bodypart4", "bodypart5"]],
        skeleton_color="black", pcutoff=0.4, colormap="jet", dotsize=15, alphaValue=0.8,
        markerType="*", markerColor="r", num_cameras=len(names), camera_names=names,
        scorername_3d="DLC_3D", calibration_board=board_map,
        calibration_file="camera_matrix/calibration.toml",
        triangulation={"method": "dlt", "ransac_threshold": 10.0, "weighted": True,
                       "scale_smooth": 4.0, "scale_length": 2.0,
                       "reproj_error_threshold": 15.0},
    )
    for i, name in enumerate(names, start=1):
        cfg[f"config_file_{name}"] = (f"/path/to/2Dproject-camera{i}/config.yaml")
    for name in names:
        cfg[f"shuffle_{name}"] = 1
        cfg[f"trainingsetindex_{name}"] = 0
    write_config(cfg, config, backup=False)
    return str(config)


def read_config3d(config: str | os.PathLike) -> tuple[Mapping[str, Any], Path]:
    """The 3D config and the project folder (the config's folder, wherever it was moved)."""
    path = Path(config)
    if path.is_dir():
        path = path / "config.yaml"
    cfg = read_config(path)
    names = cfg.get("camera_names")
    if not names or len(names) < 2:
        raise ConfigError(f"{str(path)!r} is not a 3D project config: camera_names needs at "
                          "least 2 cameras (create one with create_new_project_3d)")
    if len(set(names)) != len(names):
        raise ConfigError(f"{str(path)!r}: camera_names {list(names)} are not unique")
    return cfg, path.parent


def project_board(cfg: Mapping[str, Any], cbrow: int | None = None, cbcol: int | None = None,
                  square_size: float | None = None) -> Board:
    """The board from ``calibration_board`` (or DeepLabCut's ``cbrow``/``cbcol`` arguments)."""
    spec = dict(cfg.get("calibration_board") or {})
    if not spec:
        spec = {"type": "checkerboard", "squares_x": cbcol or 6, "squares_y": cbrow or 8}
    if square_size is not None:
        spec["square_length"] = float(square_size)
    if spec.get("square_length") in (None, ""):
        raise ConfigError(
            "the calibration board's square size is not set: put it (in mm) under "
            "calibration_board: square_length in the 3D config.yaml, or pass square_size=. "
            "3D coordinates come out in the board's units, so it cannot be guessed")
    return board_from_dict(spec)


def calibration_path(cfg: Mapping[str, Any], project: Path) -> Path:
    rel = cfg.get("calibration_file") or "camera_matrix/calibration.toml"
    p = Path(rel)
    return p if p.is_absolute() else project / p


def triangulation_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return dict(cfg.get("triangulation") or {})
