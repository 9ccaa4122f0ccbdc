"""Loading a recorded split's frames and labels into memory for training and evaluation.

Kept apart from `markerless.training.dataset` (which *creates* and records the split) because
this is the read side used on every training/evaluation run: image decoding, padding and
rescaling of keypoints.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markerless.errors import LabelFileError
from markerless.io.dlc_labels import read_labels
from markerless.training.dataset import _load, load_split, training_set_folder

__all__ = ["TrainingData", "load_training_data", "read_images"]


@dataclass
class TrainingData:
    """Frames and labels held in memory as arrays.

    ``images`` ``(N, H, W, 3)`` uint8, zero-padded bottom/right to the largest frame;
    ``keypoints`` ``(N, I, K, 2)`` float32 in (scaled) pixels, NaN = unlabeled; ``sizes``
    ``(N, 2)`` the original ``(height, width)``; ``scale`` the resize factor applied.
    """

    images: np.ndarray
    keypoints: np.ndarray
    frames: list[str]
    sizes: np.ndarray
    bodyparts: list[str]
    individuals: list[str]
    scale: float = 1.0


def _read_image(path: Path, scale: float) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if scale != 1.0:
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=None)
            return np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as err:
        raise LabelFileError(
            f"Cannot read labeled frame {str(path)!r}: {err}. Extract the frame again (or "
            "delete its labels), then run create_training_dataset") from err


def read_images(paths: list[Path], scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Decode images (threads: PIL releases the GIL) into one zero-padded uint8 array."""
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        images = list(pool.map(lambda p: _read_image(p, scale), paths))
    sizes = np.array([im.shape[:2] for im in images], dtype=np.int64).reshape(-1, 2)
    h, w = sizes.max(axis=0) if len(images) else (0, 0)
    out = np.zeros((len(images), h, w, 3), dtype=np.uint8)
    for n, im in enumerate(images):  # a copy per frame; decoding dominates anyway
        out[n, : im.shape[0], : im.shape[1]] = im
    return out, sizes


def load_training_data(config: str | os.PathLike, shuffle: int = 1, trainingsetindex: int = 0,
                       which: str = "train", scale: float = 1.0) -> TrainingData:
    """Frames and labels of the recorded split's ``"train"``, ``"test"`` or ``"all"`` frames.

    Keypoints are scaled by ``scale`` with the images (pixel centres at integers, as DLC).
    """
    cfg, project = _load(config)
    split = load_split(project, shuffle, trainingsetindex)
    labels = read_labels(project / training_set_folder(cfg) / split["labels"])
    if which == "all":
        idx = sorted(split["train_indices"] + split["test_indices"])
    elif which in ("train", "test"):
        idx = split[f"{which}_indices"]
    else:
        raise ValueError(f"which must be 'train', 'test' or 'all', got {which!r}")
    if labels.n_frames != split["n_frames"]:
        raise LabelFileError(f"{split['labels']} has {labels.n_frames} frames but the split "
                             f"was made for {split['n_frames']}: re-run "
                             "create_training_dataset")  # fmt: skip
    sub = labels.select_frames(np.asarray(idx, dtype=int))
    images, sizes = read_images([project / f for f in sub.frames], scale)
    kp = sub.xy.astype(np.float32)
    if scale != 1.0:  # pixel centres at integers: x' = (x + 0.5) * s - 0.5
        kp = (kp + np.float32(0.5)) * np.float32(scale) - np.float32(0.5)
    return TrainingData(images, kp, [str(f) for f in sub.frames], sizes, sub.bodyparts,
                        sub.individuals, float(scale))
