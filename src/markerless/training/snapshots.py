"""Finding, choosing and loading trained snapshots; whole-frame inference with a trained model.

A model folder (``dlc-models/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>/train/``)
holds ``snapshot-<step>.msgpack`` files (see `markerless.training.checkpoint`). Each
snapshot carries the metadata needed to rebuild the network and its input preprocessing
(net type, stride, bodyparts, ``global_scale``, padding), so inference never depends on
``pose_cfg.yaml`` still matching the weights.

``snapshotindex`` follows DeepLabCut: ``-1`` the last, ``"all"`` every snapshot, an int an
index into the step-sorted list.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from markerless.errors import ModelError

__all__ = [
    "ModelInfo",
    "Predictor",
    "build_from_meta",
    "build_network",
    "list_snapshots",
    "load_model_for_inference",
    "load_snapshot",
    "scorer_name",
    "select_snapshots",
    "snapshot_step",
]

_SNAPSHOT = re.compile(r"^snapshot-(\d+)\.msgpack$")


def snapshot_step(path: str | os.PathLike) -> int:
    """Training step encoded in ``snapshot-<step>.msgpack``."""
    match = _SNAPSHOT.match(Path(path).name)
    if match is None:
        raise ModelError(f"{str(path)!r} is not named snapshot-<step>.msgpack")
    return int(match.group(1))


def _train_dir(model_dir: str | os.PathLike) -> Path:
    path = Path(model_dir)
    return path / "train" if (path / "train").is_dir() else path


def list_snapshots(model_dir: str | os.PathLike) -> list[Path]:
    """Snapshots in a model folder (or its ``train/``), sorted by step (oldest first)."""
    folder = _train_dir(model_dir)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _SNAPSHOT.match(p.name)]
    return sorted(found, key=snapshot_step)


def select_snapshots(snapshots: list[Path], snapshot_index: int | str | None = -1) -> list[Path]:
    """Apply DeepLabCut's ``snapshotindex``: ``-1`` (last), ``"all"`` or an int index."""
    if not snapshots:
        raise ModelError("No snapshots found: train the network first (train_network)")
    if snapshot_index is None:
        snapshot_index = -1
    if isinstance(snapshot_index, str):
        if snapshot_index.strip().lower() == "all":
            return list(snapshots)
        try:
            snapshot_index = int(snapshot_index)
        except ValueError:
            raise ModelError(
                f"snapshotindex must be an int or 'all', got {snapshot_index!r}") from None
    try:
        return [snapshots[int(snapshot_index)]]
    except IndexError:
        raise ModelError(f"snapshotindex {snapshot_index} is out of range: "
                         f"{len(snapshots)} snapshot(s) in {snapshots[0].parent}") from None


def scorer_name(net_type: str, task: str, date: str, shuffle: int, step: int) -> str:
    """DeepLabCut-style scorer: ``DLC_<net>_<Task><date>shuffle<k>_<step>``.

    Underscores are dropped from the net name (``resnet_tiny`` -> ``resnettiny``), as
    DeepLabCut does (``resnet_50`` -> ``resnet50``), so the scorer splits on ``_`` the same way.
    """
    return f"DLC_{net_type.replace('_', '')}_{task}{date}shuffle{int(shuffle)}_{int(step)}"


@dataclass
class ModelInfo:
    """What inference needs besides the weights. Attributes can also be read as ``info[key]``."""

    net_type: str
    stride: int
    bodyparts: list[str]
    individuals: list[str]
    global_scale: float = 1.0
    pad_multiple: int = 32
    locref_stdev: float = 7.2801
    snapshot: str = ""
    step: int = 0
    scorer: str = ""
    shuffle: int = 1
    train_fraction: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_network(model_config: Any, seed: int = 0) -> nnx.Module:
    """`markerless.model.build_model` with an integer seed (ImageNet weights as configured)."""
    from markerless.model import build_model

    return build_model(model_config, nnx.Rngs(seed))


def _model_config(meta: dict[str, Any]) -> Any:
    from markerless.model import ModelConfig

    kwargs = dict(meta["model_config"])
    kwargs["pretrained"] = False  # weights come from the snapshot
    if kwargs.get("depths") is not None:
        kwargs["depths"] = tuple(kwargs["depths"])
    fields = set(ModelConfig.__dataclass_fields__)
    return ModelConfig(**{k: v for k, v in kwargs.items() if k in fields})


def build_from_meta(meta: dict[str, Any], seed: int = 0) -> nnx.Module:
    """A freshly (randomly) initialised network with the architecture of a snapshot's meta."""
    return build_network(_model_config(meta), seed)


def load_snapshot(path: str | os.PathLike) -> tuple[nnx.Module, ModelInfo]:
    """Rebuild the network stored in one snapshot file, in eval mode."""
    from markerless.training.checkpoint import MODEL_VARIABLES, load_file, restore_into

    state, meta = load_file(path)
    if "model_config" not in meta:
        raise ModelError(f"{str(path)!r} has no model configuration in its metadata")
    from markerless.model import build_model

    # Shapes only (no random initialisation to compile and run): every variable of the
    # network is then filled from the file.
    mc = _model_config(meta)
    model = nnx.eval_shape(lambda: build_model(mc, nnx.Rngs(0)))
    if nnx.to_pure_dict(nnx.state(model, nnx.Not(MODEL_VARIABLES))):
        model = build_network(mc)  # variables a snapshot does not hold: initialise them
    restore_into(model, state, path, prefix="model/", variables=MODEL_VARIABLES)
    model.eval()
    info = ModelInfo(
        net_type=meta["model_config"]["net_type"], stride=int(meta["model_config"]["stride"]),
        bodyparts=list(meta["bodyparts"]), individuals=list(meta.get("individuals", [""])),
        global_scale=float(meta.get("global_scale", 1.0)),
        pad_multiple=int(meta.get("pad_multiple", 32)),
        locref_stdev=float(meta.get("locref_stdev", 7.2801)), snapshot=str(path),
        step=int(meta.get("step", 0)), shuffle=int(meta.get("shuffle", 1)),
        train_fraction=float(meta.get("train_fraction", 1.0)), meta=meta,
    )  # fmt: skip
    info.scorer = scorer_name(info.net_type, meta.get("Task", ""), meta.get("date", ""),
                              info.shuffle, info.step)
    return model, info


def load_model_for_inference(
    config: str | os.PathLike,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    snapshot_index: int | str | None = None,
) -> tuple[nnx.Module, ModelInfo]:
    """The trained model of a project's shuffle, ready for `Predictor`.

    Parameters
    ----------
    config
        Path of config.yaml.
    shuffle, trainingsetindex
        Which model folder (``TrainingFraction[trainingsetindex]``, shuffle number).
    snapshot_index
        Index into the step-sorted snapshots; ``None`` uses config.yaml ``snapshotindex``
        (``"all"`` there means the last one here: one model is returned).

    Returns
    -------
    ``(model, info)``: the nnx model in eval mode and its `ModelInfo` (net_type, stride,
    bodyparts, individuals, global_scale, pad_multiple, snapshot, step, scorer).
    """
    from markerless.training.dataset import _load, model_folder, train_fraction_of

    cfg, project = _load(config)
    fraction = train_fraction_of(cfg, trainingsetindex)
    folder = project / model_folder(cfg, fraction, shuffle)
    snaps = list_snapshots(folder)
    if not snaps:
        raise ModelError(f"No snapshot-*.msgpack in {str(folder / 'train')!r}: train shuffle "
                         f"{shuffle} first (train_network)")  # fmt: skip
    index = cfg.get("snapshotindex", -1) if snapshot_index is None else snapshot_index
    if isinstance(index, str) and index.strip().lower() == "all":
        index = -1
    (path,) = select_snapshots(snaps, index)
    model, info = load_snapshot(path)
    # The project's own names win over the snapshot's (a moved/renamed project).
    info.scorer = scorer_name(info.net_type, str(cfg["Task"]), str(cfg["date"]), shuffle,
                              info.step)
    return model, info


# --- whole-frame inference ------------------------------------------------------------------
def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """Frame size after ``global_scale`` (the same rounding as the training images)."""
    if scale == 1.0:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def _predict(graphdef, state, frames, sizes, *, net_type: str, stride: int,
             locref_stdev: float, scale: float, pad_multiple: int) -> jax.Array:
    from markerless.decoding.scoremaps import decode_logits
    from markerless.model import normalize_images, pad_input

    model = nnx.merge(graphdef, state)
    b, h, w, c = frames.shape
    x = frames.astype(jnp.float32)
    if c == 1:
        x = jnp.repeat(x, 3, axis=-1)
    if scale != 1.0:
        sh, sw = scaled_size(h, w, scale)
        x = jax.image.resize(x, (b, sh, sw, 3), method="linear", antialias=True)
    sh, sw = x.shape[1:3]
    x = pad_input(x, sh + -sh % pad_multiple, sw + -sw % pad_multiple)
    logits, locref = model(normalize_images(x, net_type))
    # each image's own extent (after the resize): never decode into padding
    valid = jnp.round(sizes.astype(jnp.float32) * scale)
    pose = decode_logits(logits, locref, stride=stride, locref_stdev=locref_stdev,
                         valid_hw=valid)
    # Same frame as the training targets (labels' pixel-centre-at-integer coordinates);
    # undo the resize like the labels were resized: x' = (x + 0.5) * s - 0.5.
    xy = pose[..., :2]
    if scale != 1.0:
        xy = (xy + 0.5) / scale - 0.5
    return jnp.concatenate([xy, pose[..., 2:]], axis=-1)


class Predictor:
    """Keypoints for whole frames: ``Predictor(model, info)(frames) -> (B, K, 3)``.

    Frames are ``(B, H, W, 3)`` (or ``(B, H, W)`` / ``(B, H, W, 1)`` grey) uint8 at their
    original size; the output is ``[x, y, likelihood]`` in original frame pixels (pixel
    centres at integers, DLC's label convention). Resizing by ``global_scale``, zero padding
    to ``pad_multiple``, normalisation, the network and decoding run in one jitted function,
    compiled once per frame shape: keep ``B`` fixed in a video loop (pad the last batch).
    """

    def __init__(self, model: nnx.Module, info: ModelInfo):
        if getattr(getattr(model, "config", None), "multianimal", False):
            raise ModelError("this is a multi-animal model: its peaks come from "
                             "markerless.analysis.ma_inference.predict_multi_frames (and "
                             "analyze_videos / evaluate_network use it)")
        model.eval()
        self.graphdef, self.state = nnx.split(model)
        self.info = info
        # A graphdef is not hashable (static dict attributes), so it is closed over: one
        # jitted function per Predictor, compiled once per frame shape.
        self._fn = jax.jit(functools.partial(
            _predict, self.graphdef, net_type=info.net_type, stride=int(info.stride),
            locref_stdev=float(info.locref_stdev), scale=float(info.global_scale),
            pad_multiple=int(info.pad_multiple)))

    def __call__(self, frames: np.ndarray | jax.Array, sizes: np.ndarray | None = None
                 ) -> np.ndarray:
        """Predict ``frames``; ``sizes`` ``(B, 2)`` gives each image's own (height, width)
        when the stack was zero-padded to its largest image (`read_images`): keypoints are
        then only looked for inside each image."""
        frames = jnp.asarray(frames)
        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.ndim != 4 or frames.shape[-1] not in (1, 3):
            raise ValueError(f"frames must be (B, H, W, 3) or (B, H, W); got {frames.shape}")
        if sizes is None:
            sizes = np.broadcast_to(np.array(frames.shape[1:3]), (frames.shape[0], 2))
        out = self._fn(self.state, frames, jnp.asarray(sizes, jnp.int32))
        return np.asarray(out, dtype=np.float64)

    def predict_batches(self, frames: np.ndarray, batch_size: int = 8,
                        sizes: np.ndarray | None = None) -> np.ndarray:
        """`__call__` over an in-memory stack in fixed-size batches (last one padded).

        With ``sizes`` (each image's own (height, width) in a stack zero-padded to its
        largest image, as `read_images` makes), images are predicted in groups of one size,
        each cut back to that size: the network never sees the stack's black padding, which
        it was not trained on (one compile per size).
        """
        n = len(frames)
        full = np.array(np.shape(frames)[1:3])
        if sizes is not None and len(sizes) and (np.asarray(sizes) != full).any():
            sizes = np.asarray(sizes)
            groups = np.unique(sizes, axis=0)
            out = np.zeros((n, len(self.info.bodyparts), 3))
            for h, w in groups:  # a handful of distinct image sizes per project
                idx = np.flatnonzero((sizes == (h, w)).all(axis=1))
                out[idx] = self.predict_batches(np.asarray(frames)[idx, :h, :w], batch_size)
            return out
        sizes = np.broadcast_to(full, (n, 2))
        out = []
        for start in range(0, n, batch_size):
            chunk = np.asarray(frames[start:start + batch_size])
            hw = sizes[start:start + batch_size]
            pad = batch_size - len(chunk)
            if pad and n > batch_size:
                chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
                hw = np.concatenate([hw, np.repeat(hw[-1:], pad, axis=0)])
            out.append(self(chunk, hw)[: batch_size - pad if pad and n > batch_size else None])
        return np.concatenate(out) if out else np.zeros((0, len(self.info.bodyparts), 3))
