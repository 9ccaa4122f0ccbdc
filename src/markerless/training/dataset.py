"""Training datasets: a deterministic, recorded train/test split of a project's labeled frames.

``create_training_dataset`` collects every ``labeled-data/*/CollectedData_<scorer>.h5`` (CSV
when there is no .h5), splits the labeled frames by each ``TrainingFraction`` and shuffle and
records the result inside the project with DeepLabCut's folder names:

* ``training-datasets/iteration-<N>/UnaugmentedDataSet_<Task><date>/CollectedData_<scorer>.h5``
  (the combined labels) and ``split_<pct>shuffle<k>.json`` (train/test frame paths and
  indices; DLC keeps the same in a ``Documentation_data-*.pickle`` we do not write, since a
  pickle is neither readable nor safe to load);
* ``dlc-models/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>/train/pose_cfg.yaml``.

Why a recorded split: evaluation must always score the same held-out frames, even after new
labels are added. The permutation is seeded by the shuffle number only, so for one shuffle a
smaller training fraction's training set is a subset of a larger one's.

Loading a recorded split into memory lives in `markerless.training.training_data`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, ConfigError, LabelFileError
from markerless.io.config import is_multianimal, pose_layout, read_config
from markerless.poses import Poses
from markerless.training.recipes import TrainConfig, get_recipe, read_pose_cfg, write_pose_cfg
from markerless.validate import positive_int

__all__ = [
    "collect_labels",
    "create_training_dataset",
    "load_split",
    "model_folder",
    "read_pose_cfg",
    "split_indices",
    "training_set_folder",
]

log = logging.getLogger(__name__)

#: DeepLabCut augmenter names that map onto our augmentation presets.
_AUGMENTER_ALIASES = {"deterministic": "none", "imgaug": None, "default": None,
                      "tensorpack": None, "scalecrop": None}  # fmt: skip


# --- project paths --------------------------------------------------------------------------
def _load(config: str | os.PathLike | Any) -> tuple[Any, Path]:
    """``(cfg, project_dir)``; the project is where config.yaml lives, whatever
    ``project_path`` says (DeepLabCut's example projects ship a placeholder there)."""
    path = Path(config)
    if path.is_dir():
        path = path / "config.yaml"
    return read_config(path), path.parent.resolve()


def _pct(fraction: float) -> int:
    # round, not DLC's int(): int(100 * 0.29) == 28.
    return int(round(100 * float(fraction)))


def _task_date(cfg: Any) -> str:
    return f"{cfg['Task']}{cfg['date']}"


def training_set_folder(cfg: Any) -> Path:
    """``training-datasets/iteration-<N>/UnaugmentedDataSet_<Task><date>`` (relative)."""
    return (Path("training-datasets") / f"iteration-{cfg.get('iteration', 0) or 0}"
            / f"UnaugmentedDataSet_{_task_date(cfg)}")  # fmt: skip


def model_folder(cfg: Any, train_fraction: float, shuffle: int, base: str = "dlc-models") -> Path:
    """``<base>/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>`` (relative).

    ``base="evaluation-results"`` gives the evaluation folder of the same model.
    """
    return (Path(base) / f"iteration-{cfg.get('iteration', 0) or 0}"
            / f"{_task_date(cfg)}-trainset{_pct(train_fraction)}shuffle{int(shuffle)}")


def split_file_name(train_fraction: float, shuffle: int) -> str:
    return f"split_{_pct(train_fraction)}shuffle{int(shuffle)}.json"


def train_fraction_of(cfg: Any, trainingsetindex: int) -> float:
    """``TrainingFraction[trainingsetindex]`` with a clear error when out of range."""
    fractions = list(cfg.get("TrainingFraction") or [])
    if not fractions:
        raise ConfigError("config.yaml has no TrainingFraction list")
    try:
        return float(fractions[int(trainingsetindex)])
    except IndexError:
        raise ConfigError(f"trainingsetindex {trainingsetindex} is out of range for "
                          f"TrainingFraction {fractions}") from None  # fmt: skip


# --- labels ---------------------------------------------------------------------------------
def _conform(poses: Poses, bodyparts: list[str], individuals: list[str],
             source: Path) -> np.ndarray:
    """Coordinates of ``poses`` laid out in the config's (individuals, bodyparts) order."""
    xy = np.full((poses.n_frames, len(individuals), len(bodyparts), 2), np.nan)
    ind_map = {name: i for i, name in enumerate(poses.individuals)}
    bp_map = {name: k for k, name in enumerate(poses.bodyparts)}
    missing_ind = [i for i in individuals if i not in ind_map]
    if len(missing_ind) == len(individuals):
        raise LabelFileError(f"{str(source)!r} has individuals {poses.individuals}, none of the "
                             f"config's {individuals}")  # fmt: skip
    extra = sorted(set(poses.bodyparts) - set(bodyparts))
    if extra:
        log.warning("%s: bodyparts %s are not in config.yaml and are ignored", source, extra)
    src_i = [ind_map.get(i, -1) for i in individuals]
    src_k = [bp_map.get(b, -1) for b in bodyparts]
    ii = np.array([i for i in src_i if i >= 0])
    dst_i = np.array([n for n, i in enumerate(src_i) if i >= 0])
    kk = np.array([k for k in src_k if k >= 0])
    dst_k = np.array([n for n, k in enumerate(src_k) if k >= 0])
    if kk.size:
        xy[:, dst_i[:, None], dst_k[None, :]] = poses.xy[:, ii[:, None], kk[None, :]]
    return xy


def collect_labels(config: str | os.PathLike, audit: Any = None) -> tuple[Poses, list[str]]:
    """All usable labeled frames of the project as one `Poses`, plus the frames skipped.

    Frames where some keypoints are unlabeled are kept (NaN = masked in the loss); frames
    with no labeled keypoint at all, and frames whose image is missing or broken, are
    skipped and returned so callers can report them. ``audit`` is a
    `markerless.project.label_audit.LabelAudit` already made for this project (its usable
    files are the ones read); label files it could not read are left out.

    Raises
    ------
    LabelFileError
        When no frame is left to train on (naming what was found instead).
    """
    from markerless.project.label_audit import audit_labels

    cfg, project = _load(config)
    scorer = str(cfg["scorer"])
    individuals, bodyparts, defined = pose_layout(cfg)
    if audit is None:
        audit = audit_labels(project / "config.yaml")
    bad_images = {i.frame for i in audit.issues if i.frame and i.problem.startswith("image")}
    blocks, frames = [], []
    for labels_file, poses in audit.usable.items():
        blocks.append(_conform(poses, bodyparts, individuals, labels_file))
        frames += [str(f).replace("\\", "/") for f in poses.frames]
    if not blocks:
        raise LabelFileError(
            f"No usable labeled-data/*/CollectedData_{scorer}.h5 (or .csv) in {str(project)!r}"
            + _found_instead(audit) + ": label some frames first")
    xy = np.concatenate(blocks)
    xy[:, ~defined] = np.nan
    any_label = (~np.isnan(xy).any(-1)).any(axis=(1, 2))
    usable = any_label & np.array([f not in bad_images for f in frames], bool)
    skipped = [f for f, keep in zip(frames, usable, strict=True) if not keep]
    keep = np.flatnonzero(usable)
    if skipped:
        log.warning("Skipping %d labeled-data frame(s) without any labeled keypoint or with a "
                    "broken image", len(skipped))
    if not len(keep):
        raise LabelFileError(
            f"{str(project)!r}: none of the {len(frames)} frame(s) in the label files has a "
            "labeled keypoint and a readable image" + _found_instead(audit)
            + ": label some frames first (napari's Labeling dock) and save")
    xy = xy[keep]
    frames = [frames[i] for i in keep]
    if len(set(frames)) != len(frames):
        dup = sorted({f for f in frames if frames.count(f) > 1})[:5]
        raise LabelFileError(f"Frames labeled twice across labeled-data folders: {dup}")
    return Poses(xy, bodyparts, individuals, frames, scorer, None, defined), skipped


def _found_instead(audit: Any) -> str:
    if not audit.issues:
        return ""
    shown = "; ".join(str(i) for i in audit.issues[:3])
    n = len(audit.issues)
    more = f" (and {n - 3} more: run check_labels)" if n > 3 else ""
    return f" (problems found: {shown}{more})"


def split_indices(n_frames: int, train_fraction: float,
                  shuffle: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic ``(train, test)`` frame indices (sorted), seeded by the shuffle number.

    ``round(train_fraction * n_frames)`` frames train, as DeepLabCut; a fraction < 1 keeps at
    least one test frame when there are two or more frames.
    """
    if not 0 < train_fraction <= 1:
        raise ConfigError(f"TrainingFraction must be in (0, 1], got {train_fraction}")
    perm = np.random.default_rng(int(shuffle)).permutation(n_frames)
    n_train = int(round(train_fraction * n_frames))
    if train_fraction < 1 and n_frames > 1:
        n_train = min(n_train, n_frames - 1)
    n_train = max(n_train, 1)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


# --- create ---------------------------------------------------------------------------------
def _resolve_names(cfg: Any, net_type: str | None, augmenter_type: str | None,
                   recipe: str | TrainConfig) -> TrainConfig:
    from markerless.model import NET_TYPES

    tc = get_recipe(recipe)
    if net_type is None:
        default = cfg.get("default_net_type")
        net_type = default if default in NET_TYPES else None
        if default and net_type is None:
            log.info("config.yaml default_net_type %r is not available; using %r", default,
                     tc.net_type)
    elif net_type not in NET_TYPES:
        raise ConfigError(f"Unknown net_type {net_type!r}; choose one of {sorted(NET_TYPES)}")
    augment = augmenter_type
    if augment is None:
        augment = cfg.get("default_augmenter")
    if augment in _AUGMENTER_ALIASES:
        augment = _AUGMENTER_ALIASES[augment]
    if augment is not None:
        from markerless.training.augment import PRESETS as AUG_PRESETS

        if augment not in AUG_PRESETS:
            if augmenter_type is not None:
                raise ConfigError(f"Unknown augmenter_type {augment!r}; choose one of "
                                  f"{sorted(AUG_PRESETS)}")  # fmt: skip
            augment = None
    return tc.replace(net_type=net_type, augment=augment)


def pose_cfg_dict(cfg: Any, project: Path, poses: Poses, train_fraction: float, shuffle: int,
                  tc: TrainConfig) -> dict[str, Any]:
    """``pose_cfg.yaml`` content: DeepLabCut's key names where it has them + our recipe.

    Multi-animal projects also get DeepLabCut's multi-animal keys, the part-affinity graph
    (``partaffinityfield_graph``, ``paf_best``) first among them.
    """
    tsf = training_set_folder(cfg)
    multi = {}
    if is_multianimal(cfg):
        from markerless.assembly.spec import spec_from_project

        multi = spec_from_project(cfg, tc.paf_graph, poses.xy).pose_cfg_entries()
    return {**_base_pose_cfg(cfg, project, poses, train_fraction, shuffle, tc, tsf), **multi}


def _base_pose_cfg(cfg: Any, project: Path, poses: Poses, train_fraction: float, shuffle: int,
                   tc: TrainConfig, tsf: Path) -> dict[str, Any]:
    return {
        "net_type": tc.net_type, "stride": tc.stride, "num_joints": poses.n_keypoints,
        "all_joints": [[k] for k in range(poses.n_keypoints)],
        "all_joints_names": list(poses.bodyparts),
        "individuals": list(poses.individuals),
        "dataset": str(tsf / split_file_name(train_fraction, shuffle)),
        "labels": str(tsf / f"CollectedData_{cfg['scorer']}.h5"),
        "project_path": str(project), "Task": str(cfg["Task"]), "date": str(cfg["date"]),
        "scorer": str(cfg["scorer"]), "iteration": int(cfg.get("iteration", 0) or 0),
        "train_fraction": float(train_fraction), "shuffle": int(shuffle),
        "global_scale": tc.global_scale, "batch_size": tc.batch_size, "maxiters": tc.maxiters,
        "location_refinement": True, "locref_stdev": tc.locref_stdev,
        "pos_dist_thresh": tc.pos_dist_thresh,
        "init_weights": "imagenet" if tc.pretrained else None,
        "train_config": tc.to_dict(),
    }  # fmt: skip


def create_training_dataset(
    config: str | os.PathLike,
    num_shuffles: int = 1,
    Shuffles: list[int] | None = None,  # noqa: N803 (DeepLabCut's name)
    userfeedback: bool = False,
    trainIndices: list[list[int]] | None = None,  # noqa: N803
    testIndices: list[list[int]] | None = None,  # noqa: N803
    net_type: str | None = None,
    augmenter_type: str | None = None,
    recipe: str | TrainConfig = "default",
    trainingsetindex: int | None = None,
    **train_overrides: Any,
) -> list[tuple[float, int, tuple[np.ndarray, np.ndarray]]]:
    """Split the labeled frames for every ``TrainingFraction`` x shuffle and record it.

    Parameters
    ----------
    config
        Path of config.yaml (or the project folder).
    num_shuffles, Shuffles
        Shuffles ``1..num_shuffles``, or exactly the numbers in ``Shuffles``.
    userfeedback
        Accepted for DeepLabCut compatibility; existing splits are always rewritten (they
        are deterministic, so unchanged labels give the same split).
    trainIndices, testIndices
        Explicit split per shuffle (indices into the combined, empty-frame-free labels).
    net_type, augmenter_type, recipe, train_overrides
        Training recipe stored in each model's ``pose_cfg.yaml`` (see
        `markerless.training.recipes.TrainConfig`).
    trainingsetindex
        Only this ``TrainingFraction`` (an index, as elsewhere). None (DeepLabCut's behaviour)
        rewrites every fraction's split and ``pose_cfg.yaml``, which would describe a new
        network to another fraction's already trained snapshots.

    Returns
    -------
    list of ``(train_fraction, shuffle, (train_indices, test_indices))`` as DeepLabCut.
    """
    from markerless.io.dlc_labels import write_labels
    from markerless.project.label_audit import audit_labels

    cfg, project = _load(config)
    shuffles = ([positive_int(s, "Shuffles") for s in Shuffles] if Shuffles is not None
                else list(range(1, positive_int(num_shuffles, "num_shuffles") + 1)))
    if not shuffles:
        raise ArgumentError("Shuffles is empty: give at least one shuffle number")
    if (trainIndices is None) != (testIndices is None):
        raise ConfigError("Give both trainIndices and testIndices, or neither")
    if trainIndices is not None and len(trainIndices) != len(shuffles):
        raise ConfigError(f"{len(trainIndices)} explicit splits for {len(shuffles)} shuffles")
    tc = _resolve_names(cfg, net_type, augmenter_type, recipe).replace(**train_overrides)
    audit = audit_labels(project / "config.yaml")
    for issue in audit.issues:  # nothing is skipped without a word
        warnings.warn(f"create_training_dataset: {issue}", UserWarning, stacklevel=2)
    poses, skipped = collect_labels(project / "config.yaml", audit)
    tsf = project / training_set_folder(cfg)
    tsf.mkdir(parents=True, exist_ok=True)
    write_labels(poses, tsf / f"CollectedData_{cfg['scorer']}.h5", overwrite=True, backup=False)

    splits = []
    fractions = [float(f) for f in cfg.get("TrainingFraction") or []]
    if not fractions:
        raise ConfigError("config.yaml has no TrainingFraction list")
    if trainingsetindex is not None:
        fractions = [train_fraction_of(cfg, trainingsetindex)]
    for fraction in fractions:
        for n, shuffle in enumerate(shuffles):
            if trainIndices is not None:
                train = np.asarray(sorted(trainIndices[n]), dtype=int)
                test = np.asarray(sorted(testIndices[n]), dtype=int)
                bad = [i for i in np.concatenate([train, test]) if not 0 <= i < poses.n_frames]
                if bad:
                    raise ConfigError(f"Split indices {bad[:5]} outside 0..{poses.n_frames - 1}")
            else:
                train, test = split_indices(poses.n_frames, fraction, shuffle)
            record = {
                "train_fraction": fraction, "shuffle": int(shuffle),
                "labels": f"CollectedData_{cfg['scorer']}.h5",
                "n_frames": poses.n_frames, "bodyparts": poses.bodyparts,
                "individuals": poses.individuals,
                "train_indices": train.tolist(), "test_indices": test.tolist(),
                "train_frames": [poses.frames[i] for i in train],
                "test_frames": [poses.frames[i] for i in test],
                "skipped_empty_frames": skipped,
                "created": _dt.datetime.now().isoformat(timespec="seconds"),
            }  # fmt: skip
            _write_json(tsf / split_file_name(fraction, shuffle), record)
            mdir = project / model_folder(cfg, fraction, shuffle)
            write_pose_cfg(mdir / "train" / "pose_cfg.yaml",
                           pose_cfg_dict(cfg, project, poses, fraction, shuffle, tc))
            splits.append((fraction, int(shuffle), (train, test)))
            log.info("Shuffle %d, %d%%: %d train / %d test frames (%d empty frames skipped)",
                     shuffle, _pct(fraction), len(train), len(test), len(skipped))
    return splits


def _write_json(path: Path, record: dict[str, Any]) -> None:
    from markerless.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(record, indent=1) + "\n", backup=False)


def load_split(config: str | os.PathLike, shuffle: int = 1, trainingsetindex: int = 0) -> dict:
    """The recorded split (``split_<pct>shuffle<k>.json``) as a dict."""
    cfg, project = _load(config)
    fraction = train_fraction_of(cfg, trainingsetindex)
    path = project / training_set_folder(cfg) / split_file_name(fraction, shuffle)
    if not path.exists():
        raise ConfigError(f"No training split {str(path)!r}: run create_training_dataset("
                          f"config, Shuffles=[{shuffle}]) first")  # fmt: skip
    return json.loads(path.read_text(encoding="utf-8"))
