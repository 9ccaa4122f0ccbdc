"""``export_model``: a trained snapshot as a self-contained folder that runs without markerless.

``exported-models/<scorer>/`` (DeepLabCut-Live's layout) holds

* ``model.stablehlo``: `jax.export` of the fused network + decoding, weights included,
  lowered for CPU and CUDA; any batch size and (when ``global_scale == 1``) any frame size;
* ``model.onnx``: the same function through jax2onnx (`markerless.export.onnx_export`), for
  one frame size (the project's videos unless ``frame_size`` is given) and any batch size;
* ``snapshot.msgpack``: the weights as markerless stores them, to fine-tune from
  (``train_network(init_weights=folder)``);
* ``pose_cfg.yaml``: bodyparts, skeleton, sizes, stride, normalisation, ``pcutoff``, the
  input/output contract and the versions that wrote the files.

Both model files take uint8 ``(B, H, W, 3)`` RGB frames and return float32 ``(B, K, 3)``:
x and y in frame pixels (pixel centres at integers, DLC's convention), then likelihood.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import logging
import os
import platform
import shutil
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, ConfigError

__all__ = ["FORMATS", "export_model", "export_snapshot", "load_float32_snapshot"]

FORMATS = ("stablehlo", "onnx")
PLATFORMS = ("cpu", "cuda")
STABLEHLO_FILE, ONNX_FILE, WEIGHTS_FILE, POSE_CFG = (
    "model.stablehlo", "model.onnx", "snapshot.msgpack", "pose_cfg.yaml")
log = logging.getLogger(__name__)


def load_float32_snapshot(path: str | os.PathLike) -> tuple[Any, Any]:
    """`load_snapshot`, but computing in float32 on every backend.

    Why: a model built on a GPU computes in bfloat16 (`markerless.model.compute_dtype`);
    an exported file must give the same numbers wherever it runs, and ONNX runtimes have
    no fast bfloat16 convolutions.
    """
    from flax import nnx

    from markerless.model import build_model
    from markerless.training.checkpoint import MODEL_VARIABLES, load_file, restore_into
    from markerless.training.snapshots import _model_config, load_snapshot

    model, info = load_snapshot(path)
    if np.dtype(getattr(model, "dtype", np.float32)) == np.float32:
        return model, info
    state, _ = load_file(path)
    mc = dataclasses.replace(_model_config(info.meta), dtype="float32")
    model = build_model(mc, nnx.Rngs(0))
    restore_into(model, state, path, prefix="model/", variables=MODEL_VARIABLES)
    model.eval()
    return model, info


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("markerless", "jax", "jaxlib", "flax", "jax2onnx", "onnx"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _frame_size_from_config(cfg: Any, project: Path) -> tuple[int, int] | None:
    """(height, width) of the project's first video (its ``video_sets`` crop, else a probe)."""
    for video, entry in dict(cfg.get("video_sets") or {}).items():
        crop = (entry or {}).get("crop") if isinstance(entry, dict) else None
        if crop:
            try:
                x1, x2, y1, y2 = (int(float(v)) for v in str(crop).split(","))
                return y2 - y1, x2 - x1
            except ValueError:
                pass
        for path in (Path(video), project / "videos" / Path(video).name):
            if path.is_file():
                from markerless.io.video import probe_video

                v = probe_video(path)
                return int(v.height), int(v.width)
    return None


def _pose_cfg(info: Any, geom: Any, frame_size: tuple[int, int] | None, formats: Sequence[str],
              extra: dict[str, Any]) -> dict[str, Any]:
    from markerless.model.registry import _NORMALISATION

    mean, std = _NORMALISATION[geom.net_type]
    k = len(info.bodyparts) * max(1, len(info.individuals or [""]))
    any_size = geom.scale == 1.0
    files = {"stablehlo": STABLEHLO_FILE, "onnx": ONNX_FILE}
    return {
        "format": "markerless-exported-model", "format_version": 1,
        "scorer": info.scorer, "net_type": geom.net_type, "stride": geom.stride,
        "locref_stdev": geom.locref_stdev, "location_refinement": True,
        "global_scale": geom.scale, "pad_multiple": geom.pad_multiple,
        "num_joints": k, "all_joints": [[i] for i in range(k)],
        "all_joints_names": list(info.bodyparts), "bodyparts": list(info.bodyparts),
        "individuals": list(info.individuals or [""]),
        "normalization": {"mean": list(mean), "std": list(std), "scale": "0..255 RGB"},
        "input": {"name": "frames", "dtype": "uint8", "layout": "BHWC", "channels": "RGB",
                  "frame_size": list(frame_size) if frame_size else None,
                  "stablehlo_any_frame_size": any_size},
        "output": {"name": "poses", "dtype": "float32", "shape": ["B", k, 3],
                   "columns": ["x", "y", "likelihood"],
                   "coordinates": "frame pixels, pixel centres at integers"},
        "files": {f: files[f] for f in formats} | {"weights": WEIGHTS_FILE},
        "stablehlo_platforms": list(PLATFORMS), "snapshot": Path(info.snapshot).name,
        "step": int(info.step), "shuffle": int(info.shuffle),
        "train_fraction": float(info.train_fraction), **extra,
        "versions": _versions(), "created": _dt.datetime.now().isoformat(timespec="seconds"),
    }  # fmt: skip


def _write_bytes(path: Path, data: bytes) -> None:
    from markerless.io.atomic import atomic_write

    def _write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_write(path, _write, backup=False)


def _stablehlo_bytes(model: Any, geom: Any, frame_size: tuple[int, int] | None) -> bytes:
    import jax
    import jax.numpy as jnp
    from jax import export as jax_export

    from markerless.export.graph import portable_predict

    if geom.scale == 1.0:
        b, h, w = jax_export.symbolic_shape("B, H, W")
    else:
        if frame_size is None:
            raise ArgumentError("this model resizes frames (global_scale "
                                f"{geom.scale}): give frame_size=(height, width)")
        b, = jax_export.symbolic_shape("B")
        h, w = frame_size
    spec = jax.ShapeDtypeStruct((b, h, w, 3), jnp.uint8)
    exported = jax_export.export(jax.jit(portable_predict(model, geom)),
                                 platforms=PLATFORMS)(spec)
    return bytes(exported.serialize())


def _onnx_bytes(model: Any, geom: Any, frame_size: tuple[int, int], name: str) -> bytes:
    from markerless.export.graph import native_depthwise, portable_predict
    from markerless.export.onnx_export import export_onnx

    quiet = logging.getLogger("onnx_ir")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # jax2onnx's serialiser warns for every shape constant
    try:
        with native_depthwise():
            proto = export_onnx(portable_predict(model, geom), frame_size, model_name=name)
    finally:
        quiet.setLevel(level)
    return proto.SerializeToString()


def export_snapshot(
    snapshot: str | os.PathLike,
    folder: str | os.PathLike,
    formats: Sequence[str] = FORMATS,
    frame_size: tuple[int, int] | None = None,
    info: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Export one snapshot file into ``folder`` (the work of `export_model`, no project needed)."""
    from markerless.export.graph import ExportGeometry
    from markerless.training.recipes import write_pose_cfg

    formats = tuple(dict.fromkeys(str(f).lower() for f in formats))
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ArgumentError(f"unknown export format(s) {unknown}; choose from {list(FORMATS)}")
    model, loaded = load_float32_snapshot(snapshot)
    info = info or loaded
    geom = ExportGeometry.from_info(info)
    if frame_size is not None:
        frame_size = (int(frame_size[0]), int(frame_size[1]))
    if "onnx" in formats and frame_size is None:
        raise ArgumentError("ONNX files have a fixed frame size: give frame_size=(height, "
                            "width) (the project's videos set it in export_model)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if "stablehlo" in formats:
        _write_bytes(folder / STABLEHLO_FILE, _stablehlo_bytes(model, geom, frame_size))
    if "onnx" in formats:
        _write_bytes(folder / ONNX_FILE, _onnx_bytes(model, geom, frame_size, info.scorer))
    shutil.copyfile(snapshot, folder / WEIGHTS_FILE)
    write_pose_cfg(folder / POSE_CFG, _pose_cfg(info, geom, frame_size, formats, extra or {}))
    return folder


def export_model(
    config: str | os.PathLike,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    snapshotindex: int | str | None = None,
    formats: Sequence[str] = FORMATS,
    frame_size: tuple[int, int] | None = None,
    destfolder: str | os.PathLike | None = None,
    **dlc_kwargs: Any,
) -> Path:
    """Export a shuffle's trained model (DeepLabCut's ``export_model``); returns the folder.

    Writes ``<project>/exported-models/<scorer>/`` (or ``<destfolder>/<scorer>/``) with the
    files listed in this module's docstring. ``frame_size=(height, width)`` sets the ONNX
    file's input size (default: the project's first video); ``formats`` picks
    ``"stablehlo"`` and/or ``"onnx"``. DeepLabCut-only options (``iteration``,
    ``TFGPUinference``, ``overwrite``, ``make_tar``...) are accepted and ignored.
    """
    from markerless.io.config import get_skeleton, read_config
    from markerless.training.snapshots import load_model_for_inference

    for key in ("iteration", "TFGPUinference", "overwrite", "make_tar", "wipepaths",
                "modelprefix"):
        dlc_kwargs.pop(key, None)
    if dlc_kwargs:
        raise ArgumentError(f"unknown export_model option(s): {sorted(dlc_kwargs)}")
    config = Path(config)
    cfg = read_config(config)
    project = config.parent.resolve()
    _, info = load_model_for_inference(config, shuffle, trainingsetindex, snapshotindex)
    if frame_size is None and "onnx" in [str(f).lower() for f in formats]:
        frame_size = _frame_size_from_config(cfg, project)
        if frame_size is None:
            raise ConfigError(f"{config}: no video to take the ONNX frame size from; give "
                              "frame_size=(height, width)")
    try:
        skeleton = [list(pair) for pair in get_skeleton(cfg)]
    except Exception:  # noqa: BLE001 - a malformed skeleton must not block an export
        skeleton = []
    extra = {"Task": str(cfg.get("Task", "")), "date": str(cfg.get("date", "")),
             "iteration": int(cfg.get("iteration", 0) or 0), "skeleton": skeleton,
             "pcutoff": float(cfg.get("pcutoff", 0.6) or 0.6),
             "multianimalproject": bool(cfg.get("multianimalproject", False))}
    base = Path(destfolder) if destfolder is not None else project / "exported-models"
    return export_snapshot(info.snapshot, base / info.scorer, formats, frame_size, info, extra)
