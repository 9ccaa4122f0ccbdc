"""Training hyperparameters in one place: the frozen `TrainConfig` and its presets.

Why one frozen dataclass: the same values must reach the jitted train step (as static,
hashable configuration), the model folder's ``pose_cfg.yaml`` (so evaluation and analysis
rebuild the exact network and input scaling) and the resumable checkpoint (so a resumed run
refuses to continue with different settings). Every default lives here and nowhere else;
`create_training_dataset`, `train_network` and the benchmarks only pick a preset and override
single fields.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from markerless.errors import ArgumentError, ConfigError
from markerless.validate import positive_int

__all__ = ["MULTI_ANIMAL_FIELDS", "PRESETS", "TrainConfig", "get_recipe", "read_pose_cfg",
           "write_pose_cfg"]

#: Fields that only multi-animal training reads; single-animal checkpoints leave them out of
#: their resume signature (so runs saved before these fields existed still resume).
MULTI_ANIMAL_FIELDS = ("paf_graph", "paf_loss_weight", "identity_loss_weight",
                       "paf_half_width", "all_animals_prob", "occlusion_prob")


class UnknownSettingError(ArgumentError, TypeError):
    """A training setting that does not exist (a TypeError, as for unknown keywords)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (DeepLabCut ``pose_cfg.yaml`` equivalents noted).

    Attributes
    ----------
    net_type
        Backbone name from `markerless.model.NET_TYPES` (DLC ``net_type``).
    pretrained
        Start from the backbone's ImageNet weights when it has them.
    stride
        Output stride of the scoremaps in input pixels (DLC ``stride``).
    batch_size
        Images per step (DLC ``batch_size``).
    maxiters
        Optimisation steps (DLC ``maxiters``); the learning-rate schedule spans them.
    lr, warmup_iters, schedule, final_lr_fraction, step_boundaries
        AdamW peak learning rate, linear warm-up length, then ``"cosine"`` decay to
        ``lr * final_lr_fraction`` or ``"step"`` decay (x0.1 at each fraction of ``maxiters``
        in ``step_boundaries``).
    weight_decay
        AdamW decoupled weight decay (applied to every parameter).
    grad_clip_norm
        Global gradient-norm clip; 0 disables it.
    crop_size
        ``(height, width)`` of the training crops around the animal, in pixels after
        ``global_scale``. Inference runs on whole frames: the network is fully convolutional.
    global_scale
        Every image is resized by this factor once, both for training and at inference
        (DLC ``global_scale``); keypoints are mapped back to original pixels.
    augment
        Preset name from `markerless.training.augment.PRESETS` or an ``AugmentConfig``.
    flip_symmetric
        Allow horizontal flips when left/right bodypart pairs can be found by name.
    background_fraction
        Share of each batch cropped anywhere in the frame rather than around the animal, so
        that whole-frame inference has seen the background far from the animal.
    pos_dist_thresh, target_mode, locref_stdev, locref_huber_weight
        Scoremap target radius (px, network input), ``"disk"`` or ``"gaussian"`` targets,
        location-refinement scale and loss weight (DLC names).
    unlabeled_weight
        Scoremap loss weight of an unlabeled (NaN) keypoint: 1 trains its whole map as
        "not here" (DeepLabCut's ``weigh_only_present_joints: false``), so a part that is
        not visible gets a likelihood below ``pcutoff``; 0 leaves it out of the loss.
    positive_weight, rare_part_boost, visibility_weight
        Loss weight of target cells against empty ones; how much more (at most) the target
        cells of a rarely labeled part weigh, by how much rarer it is labeled than the most
        frequent part (`markerless.training.targets.positive_weights`); and the weight of
        the "is the part in this image" term on each map's peak
        (`markerless.training.targets.heatmap_loss_terms`).
    freeze_backbone_steps
        Hold the pretrained backbone's weights still for this many first steps, while the
        new head learns (`markerless.training.train_step.freeze_for`).
    freeze_bn
        Keep BatchNorm running statistics fixed (DLC does when fine-tuning with small
        batches); ``None`` = frozen exactly when ``pretrained``.
    displayiters, saveiters, max_snapshots_to_keep
        Logging period, snapshot/checkpoint period and how many snapshots stay on disk.
    pad_multiple
        Whole frames are zero-padded (bottom/right) to a multiple of this at inference.
    seed
        Base seed; the shuffle number is folded in so shuffles differ.
    paf_graph
        Multi-animal part-affinity graph: ``"full"`` (DLC 3's complete graph, every pair of
        bodyparts, all assembled; the default, chosen by measurement: docs/
        multianimal-model.md), ``"pruned"`` (the complete graph, then pruned after training
        to the edges that assemble best, DLC's ``paf_best``) or ``"skeleton"`` (config.yaml's
        skeleton).
    paf_loss_weight, identity_loss_weight
        Weights of the part-affinity MSE and the identity cross-entropy in the loss.
    paf_half_width
        Half width (px, network input) of a limb's part-affinity target; None =
        ``pos_dist_thresh / 2``.
    all_animals_prob
        Share of multi-animal crops centred on all animals (else on one chosen at random).
    occlusion_prob
        Probability of hiding a random rectangle of each multi-animal crop (occlusion).
    """

    net_type: str = "efficientnet_lite0"
    pretrained: bool = True
    stride: int = 8
    batch_size: int = 8
    maxiters: int = 2500
    lr: float = 1e-3
    warmup_iters: int = 100
    schedule: Literal["cosine", "step"] = "cosine"
    final_lr_fraction: float = 0.02
    step_boundaries: tuple[float, ...] = (0.6, 0.85)
    weight_decay: float = 1e-4
    grad_clip_norm: float = 1.0
    crop_size: tuple[int, int] = (192, 192)
    global_scale: float = 1.0
    augment: Any = "light"
    flip_symmetric: bool = True
    background_fraction: float = 0.25
    pos_dist_thresh: float = 17.0
    target_mode: Literal["disk", "gaussian"] = "disk"
    locref_stdev: float = 7.2801
    locref_huber_weight: float = 0.05
    unlabeled_weight: float = 1.0
    positive_weight: float = 1.0
    rare_part_boost: float = 10.0
    freeze_backbone_steps: int = 0
    visibility_weight: float = 0.0
    freeze_bn: bool | None = None
    displayiters: int = 50
    saveiters: int = 500
    max_snapshots_to_keep: int = 5
    pad_multiple: int = 32
    seed: int = 0
    paf_graph: str = "full"
    paf_loss_weight: float = 1.0
    identity_loss_weight: float = 1.0
    paf_half_width: float | None = None
    all_animals_prob: float = 0.5
    occlusion_prob: float = 0.2

    def __post_init__(self) -> None:
        # ArgumentError is a ValueError that the CLI and docks report as the user's input
        if self.schedule not in ("cosine", "step"):
            raise ArgumentError(f"schedule must be 'cosine' or 'step', got {self.schedule!r}")
        if self.target_mode not in ("disk", "gaussian"):
            raise ArgumentError(
                f"target_mode must be 'disk' or 'gaussian', got {self.target_mode!r}")
        for name in ("batch_size", "maxiters", "stride", "pad_multiple", "displayiters",
                     "saveiters", "max_snapshots_to_keep"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))
        for name in ("lr", "global_scale", "pos_dist_thresh", "locref_stdev"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ArgumentError(f"{name} must be a number > 0, got {value!r}")
        if not 0 <= self.background_fraction < 1:
            raise ArgumentError(
                f"background_fraction must be in [0, 1), got {self.background_fraction}")
        if self.pad_multiple % self.stride:
            raise ArgumentError(
                f"pad_multiple ({self.pad_multiple}) must be a multiple of stride ({self.stride})"
            )
        try:
            crop = tuple(int(v) for v in self.crop_size)
        except (TypeError, ValueError):
            crop = ()
        if len(crop) != 2 or min(crop) < self.stride:
            raise ArgumentError(
                f"crop_size must be (height, width) >= stride, got {self.crop_size}")
        object.__setattr__(self, "crop_size", crop)
        if self.paf_graph not in ("full", "pruned", "skeleton"):
            raise ArgumentError(
                f"paf_graph must be 'full', 'pruned' or 'skeleton', got {self.paf_graph!r}")
        for name in ("all_animals_prob", "occlusion_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        object.__setattr__(self, "step_boundaries", tuple(float(b) for b in self.step_boundaries))

    @property
    def bn_frozen(self) -> bool:
        """Whether BatchNorm statistics stay fixed during training."""
        return self.pretrained if self.freeze_bn is None else bool(self.freeze_bn)

    def augment_config(self):
        """The resolved ``AugmentConfig`` (preset names looked up)."""
        from markerless.training.augment import AugmentConfig

        if isinstance(self.augment, AugmentConfig):
            return self.augment
        return AugmentConfig.preset(str(self.augment))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UnknownSettingError(
                f"TrainConfig has no field(s) {sorted(unknown)}; the training settings are: "
                + ", ".join(f.name for f in dataclasses.fields(self)))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-friendly values (tuples as lists, augmentation expanded)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                value = {k: list(v) if isinstance(v, tuple) else v
                         for k, v in dataclasses.asdict(value).items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys are ignored (forward compatibility)."""
        from markerless.training.augment import AugmentConfig

        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in dict(values).items() if k in names}
        for key in ("crop_size", "step_boundaries"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        aug = kwargs.get("augment")
        if isinstance(aug, Mapping):
            fields = {f.name for f in dataclasses.fields(AugmentConfig)}
            kwargs["augment"] = AugmentConfig(**{
                k: tuple(v) if isinstance(v, list) else v for k, v in aug.items() if k in fields
            })
        return cls(**kwargs)


#: Named recipes. ``default`` is what `train_network` uses (chosen on DeepLabCut's openfield
#: project for a 30-minute budget on 2 CPU cores: an ImageNet EfficientNet-Lite0 fine-tuned on
#: full-resolution 192x192 crops around the animal plus 25% crops anywhere in the frame;
#: see benchmarks/bench_train_accuracy.py). ``resnet18`` trains from scratch (no download,
#: needs far more steps: for GPUs). ``test`` is a tiny network for CI.
PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    "resnet18": TrainConfig(net_type="resnet18", pretrained=False, crop_size=(256, 256),
                            maxiters=20000, lr=2e-3, augment="default", saveiters=2000),
    "test": TrainConfig(
        net_type="resnet_tiny", pretrained=False, batch_size=4, maxiters=200, lr=3e-3,
        warmup_iters=10, crop_size=(64, 64), augment="light", displayiters=20, saveiters=100,
        pos_dist_thresh=8.0, background_fraction=0.0,
    ),
}


def get_recipe(name: str | TrainConfig = "default", **overrides: Any) -> TrainConfig:
    """A preset (or a given `TrainConfig`) with ``overrides`` applied (``None`` = keep)."""
    if isinstance(name, TrainConfig):
        base = name
    else:
        try:
            base = PRESETS[name]
        except KeyError:
            raise ArgumentError(
                f"unknown recipe {name!r}; choose one of {sorted(PRESETS)}") from None
    return base.replace(**overrides)


# --- pose_cfg.yaml (the model folder's configuration) ---------------------------------
def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    return yaml


def write_pose_cfg(path: str | os.PathLike, values: dict[str, Any]) -> None:
    """Write a model folder's ``pose_cfg.yaml`` atomically (folders created)."""
    import io

    from markerless.io.atomic import atomic_write_text

    stream = io.StringIO()
    _yaml().dump(values, stream)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, stream.getvalue(), backup=False)


def read_pose_cfg(path: str | os.PathLike) -> dict[str, Any]:
    """Read a model folder's ``train/pose_cfg.yaml`` (or the file itself)."""
    path = Path(path)
    if path.is_dir():
        train = path / "train"
        path = (train if train.is_dir() else path) / "pose_cfg.yaml"
    if not path.exists():
        raise ConfigError(f"Model configuration {str(path)!r} not found: run "
                          "create_training_dataset first")  # fmt: skip
    return dict(_yaml().load(path.read_text(encoding="utf-8")))
