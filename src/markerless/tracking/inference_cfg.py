"""``inference_cfg.yaml``: DeepLabCut's assembly and tracking parameters of a model.

It lives in ``dlc-models/.../<model>/test/inference_cfg.yaml``. DeepLabCut's
keys keep their names and meaning (see its ``deeplabcut/inference_cfg.yaml``);
keys markerless adds are marked below. A missing file is created with the
defaults (as DeepLabCut's ``read_inferencecfg`` does).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markerless.errors import ConfigError

__all__ = ["default_inferencecfg", "inferencecfg_path", "read_inferencecfg", "write_inferencecfg"]

#: DeepLabCut's keys, in its order, with its defaults.
DLC_DEFAULTS: dict[str, Any] = {
    "variant": 0,
    "pafthreshold": 0.1,
    "method": "m1",
    "minimalnumberofconnections": None,  # len(multianimalbodyparts) / 2
    "pcutoff": 0.1,
    "topktoretain": None,  # len(individuals)
    "withid": False,
    "boundingboxslack": 0,
    "iou_threshold": 0.6,
    "max_age": 1,
    "min_hits": 1,
}
#: markerless's additions (DeepLabCut ignores unknown keys).
EXTRA_DEFAULTS: dict[str, Any] = {
    "oks_threshold": 0.5,  # skeleton tracker (DeepLabCut 3 reads it too)
    "oks_sigma": 0.1,
    "identity_weight": 0.1,  # identity share of the frame-to-frame tracker cost
    "stitch_identity_weight": 0.5,  # identity share of the tracklet stitching cost
    "velocity_smoothing": 0.5,
}


def default_inferencecfg(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults for this project (DeepLabCut's ``form_default_inferencecfg``)."""
    out = dict(DLC_DEFAULTS)
    out["minimalnumberofconnections"] = len(cfg.get("multianimalbodyparts") or []) / 2
    out["topktoretain"] = len(cfg.get("individuals") or [])
    out["withid"] = bool(cfg.get("identity", False))
    out.update(EXTRA_DEFAULTS)
    return out


def inferencecfg_path(
    config: str | os.PathLike, shuffle: int = 1, trainingsetindex: int = 0, modelprefix: str = ""
) -> Path:
    """``<project>/[modelprefix/]dlc-models/iteration-N/<model>/test/inference_cfg.yaml``."""
    from markerless.postprocessing.common import read_project
    from markerless.training.dataset import model_folder, train_fraction_of

    cfg, project = read_project(config)
    base = project / modelprefix if modelprefix else project
    folder = model_folder(cfg, train_fraction_of(cfg, trainingsetindex), shuffle)
    return base / folder / "test" / "inference_cfg.yaml"


def write_inferencecfg(path: str | os.PathLike, values: Mapping[str, Any]) -> Path:
    from ruamel.yaml import YAML

    from markerless.io.atomic import atomic_write_text

    yaml = YAML()
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(dict(values), stream)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, stream.getvalue(), backup=False)


def read_inferencecfg(path: str | os.PathLike, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The file's values over this project's defaults; the file is created when missing."""
    from ruamel.yaml import YAML, YAMLError

    path = Path(path)
    values = default_inferencecfg(cfg)
    if not path.exists():
        write_inferencecfg(path, values)
        return values
    try:
        loaded = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except (OSError, YAMLError) as err:
        raise ConfigError(f"Cannot read {str(path)!r}: {err}") from err
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{str(path)!r} must hold a mapping of keys")
    loaded = {k: v for k, v in loaded.items()  # DLC's unfilled template placeholders
              if not (isinstance(v, str) and v.startswith("willbeautomatically"))}
    bad = [k for k in ("max_age", "min_hits", "topktoretain", "pcutoff", "iou_threshold")
           if loaded.get(k) is not None and not isinstance(loaded[k], (int, float))]
    if bad:
        raise ConfigError(f"{str(path)!r}: {bad[0]} must be a number, got {loaded[bad[0]]!r}")
    values.update({k: v for k, v in loaded.items() if v is not None})
    return values
