"""Where analysis results go and how they are written (DeepLabCut's file names and keys).

For video ``/data/m3v1.mp4`` and scorer ``DLC_resnet18_openfieldOct30shuffle1_5000``:

* ``m3v1DLC_resnet18_openfieldOct30shuffle1_5000.h5`` (key ``df_with_missing``;
  columns scorer/bodyparts/coords, one row per video frame), optional ``.csv``;
* ``..._meta.pickle`` with DeepLabCut's ``{"data": {...}}`` keys, so DLC's own
  tools read it, and the same content as ``..._meta.json`` for people and
  non-Python tools;
* ``....partial/`` while the analysis runs (see :mod:`markerless.analysis.resume`).
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ModelError
from markerless.poses import SINGLE_ANIMAL, Poses

__all__ = [
    "OutputPaths",
    "coords_to_poses",
    "output_paths",
    "read_metadata",
    "write_metadata",
]


@dataclass(frozen=True)
class OutputPaths:
    h5: Path
    csv: Path
    meta_pickle: Path
    meta_json: Path
    partial: Path

    @property
    def finished(self) -> bool:
        """The result file exists (DeepLabCut's test for "already analysed")."""
        return self.h5.is_file()


def output_paths(
    video: str | os.PathLike, scorer: str, destfolder: str | os.PathLike | None = None
) -> OutputPaths:
    """DeepLabCut's output names for ``video`` (next to it unless ``destfolder``)."""
    video = Path(video)
    folder = Path(destfolder) if destfolder is not None else video.parent
    base = folder / f"{video.stem}{scorer}"
    return OutputPaths(
        h5=base.with_name(base.name + ".h5"),
        csv=base.with_name(base.name + ".csv"),
        meta_pickle=base.with_name(base.name + "_meta.pickle"),
        meta_json=base.with_name(base.name + "_meta.json"),
        partial=base.with_name(base.name + ".partial"),
    )


def coords_to_poses(
    coords: np.ndarray,
    bodyparts: list[str],
    individuals: list[str] | None,
    scorer: str,
) -> Poses:
    """``(F, C, 3)`` network output -> :class:`Poses` with likelihoods.

    ``C`` is ``len(bodyparts)`` for single-animal models, or
    ``len(individuals) * len(bodyparts)`` (individual-major) for models with
    one channel per (individual, bodypart).
    """
    coords = np.asarray(coords, dtype=np.float64)
    individuals = list(individuals) if individuals else [SINGLE_ANIMAL]
    n_frames, n_channels, _ = coords.shape
    n_ind, n_kp = len(individuals), len(bodyparts)
    if n_channels != n_ind * n_kp:
        raise ModelError(
            f"the network outputs {n_channels} keypoint channels but the model info lists "
            f"{n_kp} bodyparts x {n_ind} individuals ({bodyparts}, {individuals})"
        )
    coords = coords.reshape(n_frames, n_ind, n_kp, 3)
    return Poses(
        xy=coords[..., :2],
        bodyparts=list(bodyparts),
        individuals=individuals,
        frames=list(range(n_frames)),
        scorer=scorer,
        likelihood=coords[..., 2],
    )


def write_metadata(paths: OutputPaths, data: dict[str, Any]) -> None:
    """DeepLabCut's ``_meta.pickle`` (``{"data": data}``) and a JSON twin."""
    from markerless.io.atomic import atomic_write_bytes, atomic_write_text

    meta = {"data": data}
    atomic_write_bytes(paths.meta_pickle, pickle.dumps(meta, pickle.HIGHEST_PROTOCOL))
    atomic_write_text(paths.meta_json, json.dumps(meta, indent=1, default=_json_default),
                      backup=False)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def read_metadata(h5: str | os.PathLike) -> dict[str, Any] | None:
    """The ``data`` of an analysis file's ``_meta.json`` (also for its ``_filtered.h5``), or
    None when there is none (DeepLabCut writes only the pickle) or it is unreadable."""
    h5 = Path(h5)
    meta = h5.with_name(h5.name.removesuffix(".h5").removesuffix("_filtered") + "_meta.json")
    try:
        data = json.loads(meta.read_text())["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None
