"""CLI verbs of the 3D stage: create-project-3d, calibrate, triangulate, filter-3d."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from markerless.cli import command
from markerless.cli._args import (
    choice_of,
    config_file,
    existing_file,
    folder,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
)
from markerless.errors import ArgumentError

_METHODS = ["dlt", "ransac", "optim"]
_DISTORTION = ["standard", "rational", "radial", "none"]


def _camera_files(pairs: list[str] | None, what: str) -> dict[str, Path] | None:
    """``--videos cam=path ...`` -> {cam: path}."""
    if not pairs:
        return None
    out = {}
    for item in pairs:
        if "=" not in item:
            raise ArgumentError(f"{what} must be CAMERA=PATH, got {item!r}")
        cam, path = item.split("=", 1)
        out[cam] = Path(path).expanduser()
    return out


def _create3d_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project")
    p.add_argument("experimenter")
    p.add_argument("--num-cameras", type=positive_int, default=2)
    p.add_argument("--camera-names", nargs="+", default=None)
    p.add_argument("--working-directory", type=Path, default=None)


@command("create-project-3d", "create a 3D project (DeepLabCut's layout) for N cameras",
         _create3d_args)
def _create3d(ns: argparse.Namespace) -> int:
    from markerless.pose3d.project import create_new_project_3d

    print(create_new_project_3d(ns.project, ns.experimenter, ns.num_cameras,
                                ns.working_directory, camera_names=ns.camera_names))
    return 0


def _calibrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file, help="the 3D project's config.yaml")
    p.add_argument("--detect-only", action="store_true",
                   help="only find the boards and report them (DeepLabCut's calibrate=False)")
    p.add_argument("--images", nargs="+", metavar="CAMERA=FOLDER", default=None,
                   help="each camera's image folder (default: calibration_images/)")
    p.add_argument("--videos", nargs="+", metavar="CAMERA=VIDEO", default=None,
                   help="each camera's calibration video instead of images")
    p.add_argument("--every", type=positive_int, default=None,
                   help="videos: use every n-th frame")
    p.add_argument("--n-frames", type=positive_int, default=None,
                   help="videos: use this many evenly spaced frames")
    p.add_argument("--cbrow", type=positive_int, default=8)
    p.add_argument("--cbcol", type=positive_int, default=6)
    p.add_argument("--square-size", type=positive_float, default=None, help="mm")
    p.add_argument("--distortion", type=choice_of(_DISTORTION, "distortion model"),
                   default="standard")
    p.add_argument("--max-error", type=positive_float, default=1.5,
                   help="refuse when a camera's median reprojection error is above (px)")
    p.add_argument("--seed", type=nonnegative_int, default=0)


@command("calibrate", "find the board in every camera and calibrate them (N cameras)",
         _calibrate_args)
def _calibrate(ns: argparse.Namespace) -> int:
    from markerless.pose3d.calibrate import calibrate_cameras

    calibrate_cameras(ns.config, cbrow=ns.cbrow, cbcol=ns.cbcol, calibrate=not ns.detect_only,
                      images=_camera_files(ns.images, "--images"),
                      videos=_camera_files(ns.videos, "--videos"), square_size=ns.square_size,
                      every=ns.every, n_frames=ns.n_frames, distortion=ns.distortion,
                      max_error=ns.max_error, seed=ns.seed)
    return 0


def _triangulate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file, help="the 3D project's config.yaml")
    p.add_argument("inputs", nargs="+",
                   help="a folder, or one video / 2D file per camera (camera_names order), "
                        "or CAMERA=FILE pairs")
    p.add_argument("--method", type=choice_of(_METHODS, "method"), default=None)
    p.add_argument("--pcutoff", type=probability, default=None)
    p.add_argument("--destfolder", type=folder, default=None)
    p.add_argument("--save-as-csv", action="store_true")
    p.add_argument("--videotype", default="")
    p.add_argument("--frame-offsets", nargs="+", metavar="CAMERA=N", default=None,
                   help="first frame of each camera (cameras with different frame counts)")
    p.add_argument("--calibration", type=existing_file, default=None,
                   help="calibration.toml (default: the config's calibration_file)")


@command("triangulate", "triangulate 2D predictions from N cameras (DLC 3D h5, anipose csv)",
         _triangulate_args)
def _triangulate(ns: argparse.Namespace) -> int:
    from markerless.pose3d.triangulate import triangulate

    if len(ns.inputs) == 1 and Path(ns.inputs[0]).is_dir():
        video_path = ns.inputs[0]
    elif all("=" in i for i in ns.inputs):
        video_path = _camera_files(ns.inputs, "inputs")
    else:
        video_path = [ns.inputs]
    offsets = None
    if ns.frame_offsets:
        offsets = {}
        for item in ns.frame_offsets:
            cam, _, n = item.partition("=")
            if not n.strip().lstrip("-").isdigit():
                raise ArgumentError(f"--frame-offsets takes CAMERA=N, got {item!r}")
            offsets[cam] = int(n)
    out = triangulate(ns.config, video_path, videotype=ns.videotype, destfolder=ns.destfolder,
                      save_as_csv=ns.save_as_csv, method=ns.method, pcutoff=ns.pcutoff,
                      frame_offsets=offsets, calibration=ns.calibration)
    for rec in out:
        print(json.dumps({k: str(v) for k, v in rec.items()}))
    return 0


def _filter3d_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file, help="the 3D project's config.yaml")
    p.add_argument("files", nargs="+", type=existing_file,
                   help="<name>_DLC_3D.h5 or <name>_DLC_3D_anipose.csv")
    p.add_argument("--error-threshold", type=positive_float, default=15.0,
                   help="drop points whose reprojection error is above (px)")
    p.add_argument("--max-gap", type=nonnegative_int, default=10)
    p.add_argument("--windowlength", type=positive_int, default=5)
    p.add_argument("--save-as-csv", action="store_true")
    p.add_argument("--destfolder", type=folder, default=None)


@command("filter-3d", "gate 3D points by reprojection error, interpolate, median-filter",
         _filter3d_args)
def _filter3d(ns: argparse.Namespace) -> int:
    from tqdm import tqdm

    from markerless.pose3d.filtering import filterpredictions_3d

    for f in tqdm(ns.files, desc="filter-3d"):
        for out in filterpredictions_3d(ns.config, [f], error_threshold=ns.error_threshold,
                                        max_gap=ns.max_gap, windowlength=ns.windowlength,
                                        save_as_csv=ns.save_as_csv, destfolder=ns.destfolder):
            print(out)
    return 0
