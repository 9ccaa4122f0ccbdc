"""Helpers shared by the analysis tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
H, W = 64, 96
SCORER = "DLC_resnettiny_testMar1shuffle1_0"
CROP = (16, 80, 8, 56)  # x1, x2, y1, y2: one crop for all tests (one compilation)


def make_video(
    path: Path, n_frames: int, seed: int = 0, gop: int = 10, extra_args: tuple = ()
) -> np.ndarray:
    """Write a synthetic clip (keyframe every ``gop``); returns the frames as decoded."""
    from markerless.io.video import VideoReader
    from markerless.io.video_write import VideoWriter
    from markerless.synthetic import SyntheticConfig, generate

    frames, _ = generate(SyntheticConfig(height=H, width=W, n_frames=n_frames, seed=seed))
    with VideoWriter(path, 30, gop=gop, extra_args=extra_args) as writer:
        writer.write(frames)
    with VideoReader(path) as reader:
        return reader.read_range(0, len(reader))


def direct_predictions(model, info, frames: np.ndarray, crop=None, batch_size=8) -> np.ndarray:
    """Reference without the video pipeline (no reader, chunks, resume): the fused
    predictor on in-memory frames. Uses the process's cached predictor for the same
    geometry and batch size, so it adds no compilation to the tests."""
    from markerless.analysis.inference import Geometry, cached_predictor
    from markerless.analysis.job import model_spec

    x1, x2, y1, y2 = crop or (0, frames.shape[2], 0, frames.shape[1])
    geom = Geometry(frame_hw=(y2 - y1, x2 - x1), offset_xy=(x1, y1), stride=info["stride"],
                    locref_stdev=7.2801, net_type=info["net_type"])
    pred = cached_predictor(model_spec(model, info).fingerprint, geom, lambda: model)
    out = []
    for s in range(0, len(frames), batch_size):
        batch = np.zeros((batch_size, y2 - y1, x2 - x1, 3), np.uint8)
        part = frames[s:s + batch_size, y1:y2, x1:x2]
        batch[: len(part)] = part
        out.append(np.asarray(pred(batch))[: len(part)])
    return np.concatenate(out)


def output_files(folder: Path, stem: str = "mouse", scorer: str = SCORER) -> dict[str, Path]:
    """DeepLabCut's output names for ``stem`` in ``folder``."""
    base = folder / f"{stem}{scorer}"
    return {k: base.with_name(base.name + s) for k, s in
            [("h5", ".h5"), ("csv", ".csv"), ("pickle", "_meta.pickle"),
             ("json", "_meta.json"), ("partial", ".partial")]}


def smash_frame(path, frame: int) -> None:
    """Overwrite the packet of display frame ``frame`` with 0xFF bytes (an invalid NAL)."""
    import av

    with av.open(str(path)) as c:
        packets = sorted((p.pts, p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size)
    _, pos, size = packets[frame]
    data = bytearray(path.read_bytes())
    data[pos:pos + size] = b"\xff" * size
    path.write_bytes(bytes(data))


class PeakModel(nnx.Module):
    """Score logits = mean brightness of each ``stride`` x ``stride`` cell (every channel),
    so the decoded keypoint is the cell of the brightest blob: a model with a known answer."""

    def __init__(self, stride: int = 4, k: int = 2):
        self.stride, self.k = stride, k
        self.gain = nnx.Param(jnp.ones(()))

    def __call__(self, x):
        b, h, w, _ = x.shape
        s = self.stride
        cells = x[..., 0].reshape(b, h // s, s, w // s, s).mean(axis=(2, 4)) * self.gain
        logits = jnp.repeat(cells[..., None], self.k, axis=-1)
        return logits, jnp.zeros((*logits.shape, 2), jnp.float32)
