"""``markerless doctor``: what a bug report needs, in one paste.

Versions of markerless and the libraries it stands on, the JAX devices, the
video stack (PyAV's FFmpeg, imageio-ffmpeg's binary), Qt and whether napari
sees the plugin. Every probe is guarded: a broken install is exactly when this
must still print.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Callable, Iterator

from markerless.cli import command

#: distributions whose versions a report lists (import name, distribution name).
LIBRARIES = (
    "numpy", "scipy", "pandas", "tables", "dask", "distributed", "jax", "jaxlib", "flax",
    "optax", "scikit-image", "scikit-learn", "av", "imageio", "imageio-ffmpeg", "ruamel.yaml",
    "napari", "npe2", "magicgui", "qtpy", "PyQt6", "PySide6", "PyQt5",
    "sleap-io", "opencv-python-headless", "pycocotools", "motmetrics", "trackeval",
    "pynwb", "ndx-pose", "movement", "onnx", "onnxruntime", "jax2onnx",
)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _guard(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - a report line, never a crash
        return f"unavailable ({type(err).__name__}: {err})"


def _jax_devices() -> str:
    import jax

    devices = jax.devices()
    return f"{jax.default_backend()}: " + ", ".join(
        f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in devices)


def _pyav() -> str:
    import av

    libs = getattr(av, "library_versions", {})
    ff = ", ".join(f"{k} {'.'.join(map(str, v))}" for k, v in sorted(libs.items())[:3])
    return f"PyAV {av.__version__} ({ff})"


def _ffmpeg_binary() -> str:
    import subprocess

    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=20)
    return f"{exe}: {out.stdout.splitlines()[0] if out.stdout else 'no output'}"


def _qt() -> str:
    # probed by name: a report about Qt, not a use of it (core modules never import Qt)
    qtpy = importlib.import_module("qtpy")
    qtcore = importlib.import_module("qtpy.QtCore")
    return f"{qtpy.API_NAME} (Qt {qtcore.qVersion()})"


def _napari_plugin() -> str:
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("markerless")
    c = manifest.contributions
    return (f"registered ({len(c.readers or [])} reader, {len(c.writers or [])} writer, "
            f"{len(c.widgets or [])} docks, {len(c.sample_data or [])} sample) "
            f"from {manifest.package_metadata and manifest.package_metadata.name or 'markerless'}")


def report() -> Iterator[str]:
    """The report's lines (also for the napari About box and tests)."""
    from markerless import __version__

    yield f"markerless {__version__} ({importlib.import_module('markerless').__file__})"
    yield f"python {sys.version.split()[0]} on {platform.platform()} ({platform.machine()})"
    yield f"processor: {platform.processor() or 'unknown'}, {_cpu_count()} cores"
    yield "libraries:"
    for dist in LIBRARIES:
        v = _version(dist)
        if v is not None:
            yield f"  {dist} {v}"
    yield f"jax devices: {_guard(_jax_devices)}"
    yield f"video decoding: {_guard(_pyav)}"
    yield f"ffmpeg binary: {_guard(_ffmpeg_binary)}"
    yield f"Qt: {_guard(_qt)}"
    yield f"napari plugin: {_guard(_napari_plugin)}"


def _cpu_count() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _doctor_args(p: argparse.ArgumentParser) -> None:
    del p


@command("doctor", "print versions, JAX devices, the video stack, Qt and the napari plugin "
         "(paste it into bug reports)", _doctor_args)
def _doctor(ns: argparse.Namespace) -> int:
    for line in report():
        print(line, flush=True)
    return 0
