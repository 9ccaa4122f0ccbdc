"""anipose's ``calibration.toml``: read and write, keeping the cameras' order.

Layout (aniposelib's): one table per camera, ``[cam_N]`` with ``name``, ``size``
(width, height), ``matrix`` (3x3), ``distortions``, ``rotation`` (Rodrigues) and
``translation`` (world -> camera, in the board's units), and a ``[metadata]`` table.

What differs from aniposelib, on purpose:

* ``cam_N`` sorts numerically (aniposelib sorts the keys as strings, so ``cam_10``
  comes before ``cam_2``); with more than 10 cameras we write zero-padded keys
  (``cam_00`` ... ``cam_11``) so that aniposelib reads them in the same order;
* floats are written with ``repr`` (shortest exact form): a file read and written back
  is identical, and the same calibration gives the same bytes;
* :func:`read_calibration` refuses a defective file with a clear message (two
  cameras with identical parameters - sleap-anipose's minimal session ships one where
  ``side`` is a copy of ``top`` -, a duplicate name, a malformed entry, fisheye models).
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ConfigError
from markerless.io.atomic import atomic_write_text
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.errors import CalibrationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_CAM_KEY = re.compile(r"^cam_(\d+)$")
_FIELDS = ("name", "size", "matrix", "distortions", "rotation", "translation")


# --- writing -----------------------------------------------------------------------------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (os.PathLike,)):
        return _value(str(v))
    if isinstance(v, np.ndarray):
        return _value(v.tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {type(v).__name__} value {v!r} to calibration.toml")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _value(k)


def _table(name: str, d: Mapping[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    subs = []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, Mapping):
            subs.append((f"{name}.{_key(str(k))}", v))
        else:
            lines.append(f"{_key(str(k))} = {_value(v)}")
    lines.append("")
    for sub_name, sub in subs:
        lines += _table(sub_name, sub)
    return lines


def camera_keys(n: int) -> list[str]:
    """``cam_0 .. cam_{n-1}``, zero-padded when n > 10 (see module doc)."""
    width = len(str(n - 1)) if n > 10 else 1
    return [f"cam_{i:0{width}d}" for i in range(n)]


def calibration_text(group: CameraGroup) -> str:
    """The TOML text :func:`write_calibration` writes."""
    lines: list[str] = []
    for key, cam in zip(camera_keys(len(group.cameras)), group.cameras, strict=True):
        lines += _table(key, cam.get_dict())
    lines += _table("metadata", group.metadata)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_calibration(group: CameraGroup, path: str | os.PathLike) -> Path:
    """Write ``group`` as anipose's calibration.toml, atomically (old file kept as .bak)."""
    names = group.get_names()
    if len(set(names)) != len(names):
        raise CalibrationError(f"camera names must be unique, got {names}")
    return atomic_write_text(Path(path), calibration_text(group), backup=True)


# --- reading -----------------------------------------------------------------------------
def _camera(path: Path, key: str, d: Any) -> Camera:
    where = f"{str(path)!r}, [{key}]"
    if not isinstance(d, Mapping):
        raise CalibrationError(f"{where} is not a table")
    if d.get("fisheye"):
        raise CalibrationError(f"{where}: fisheye cameras are not supported; recalibrate "
                               "with the standard (pinhole + distortion) model")
    missing = [f for f in _FIELDS if f not in d]
    if missing:
        raise CalibrationError(f"{where} lacks {', '.join(missing)}")
    try:
        cam = Camera.from_dict(d)
        from markerless.pose3d.distortion import full_coefficients

        full_coefficients(cam.dist)
    except (ValueError, TypeError) as err:
        raise CalibrationError(f"{where}: {err}") from err
    if cam.rvec.shape != (3,) or cam.tvec.shape != (3,):
        raise CalibrationError(f"{where}: rotation and translation need 3 values each")
    if not (np.isfinite(cam.matrix).all() and np.isfinite(cam.rvec).all()
            and np.isfinite(cam.tvec).all() and np.isfinite(cam.dist).all()):
        raise CalibrationError(f"{where}: the camera has non-finite parameters")
    return cam


def _sorted_keys(data: Mapping[str, Any]) -> list[str]:
    """Camera tables: ``cam_N`` in numeric order, then any other camera tables in file order."""
    keys = [k for k in data if k != "metadata" and isinstance(data[k], Mapping)]
    numbered = sorted((int(m.group(1)), k) for k in keys if (m := _CAM_KEY.match(k)))
    others = [k for k in keys if not _CAM_KEY.match(k)]
    return [k for _, k in numbered] + others


def check_group(group: CameraGroup, source: str = "the calibration") -> None:
    """Refuse duplicate names and cameras that are copies of each other."""
    names = group.get_names()
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CalibrationError(f"{source}: camera name(s) {dup} appear more than once")
    cams = group.cameras
    for i in range(len(cams)):
        for j in range(i + 1, len(cams)):
            a, b = cams[i], cams[j]
            if (np.allclose(a.rvec, b.rvec, atol=1e-9) and np.allclose(a.tvec, b.tvec, atol=1e-6)
                    and np.allclose(a.matrix, b.matrix)):
                raise CalibrationError(
                    f"{source}: cameras {a.name!r} and {b.name!r} have identical poses and "
                    "intrinsics - one entry is a copy of the other, so every point they see "
                    "triangulates wrongly. Recalibrate from the calibration images "
                    "('markerless calibrate'), or pass validate=False to load it anyway.")


def read_calibration(path: str | os.PathLike, validate: bool = True) -> CameraGroup:
    """Read an anipose ``calibration.toml`` into a :class:`CameraGroup`.

    Raises :class:`~markerless.pose3d.errors.CalibrationError` naming the file and the
    camera for anything that would triangulate wrongly (``validate=False`` skips the
    check for copied cameras, not the parsing checks).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"calibration file {str(path)!r} not found; run "
                               "'markerless calibrate' first") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise CalibrationError(f"cannot read calibration file {str(path)!r}: {err}") from err
    keys = _sorted_keys(data)
    if not keys:
        raise CalibrationError(f"{str(path)!r} holds no camera ([cam_0], [cam_1], ...)")
    group = CameraGroup([_camera(path, k, data[k]) for k in keys],
                        dict(data.get("metadata", {})))
    if validate:
        check_group(group, repr(str(path)))
    return group
