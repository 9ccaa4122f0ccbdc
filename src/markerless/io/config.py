"""DeepLabCut's project ``config.yaml``: read, write, defaults and the name helpers.

The file is read in ruamel.yaml *round-trip* mode, so comments, key order,
flow/block style and keys this module does not know about all survive a
read-modify-write (DeepLabCut itself uses ruamel the same way; users keep
their own notes in the file). Writing is atomic and keeps ``config.yaml.bak``
(:mod:`markerless.io.atomic`). See docs/formats.md.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import YAMLError

from markerless.errors import ConfigError
from markerless.io.atomic import atomic_write_text
from markerless.poses import SINGLE_ANIMAL, UNIQUE_INDIVIDUAL

#: ``bodyparts`` value of multi-animal projects (the real names are elsewhere).
MULTI_BODYPARTS = "MULTI!"


class _WideKeyEmitter(Emitter):
    # Long video paths are keys of ``video_sets``: keep them plain keys instead of
    # ruamel's "? key" form, which older PyYAML-based tools misread.
    MAX_SIMPLE_KEY_LENGTH = 4096


def _yaml() -> YAML:
    y = YAML()  # round-trip mode
    y.width = 4096  # never re-wrap long paths (DeepLabCut's files are not wrapped)
    y.Emitter = _WideKeyEmitter
    return y


# Same sections, order and comments as DeepLabCut's create_config_template
# (deeplabcut/utils/auxiliaryfunctions.py), so files written here diff cleanly
# against files written by DeepLabCut.
_SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Project definitions (do not edit)",
        ["Task", "scorer", "date", "multianimalproject", "identity"],
    ),
    ("Project path (change when moving around)", ["project_path"]),
    (
        "Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)",
        ["engine"],
    ),
    (
        "Annotation data set configuration (and individual video cropping parameters)",
        ["video_sets", "individuals", "uniquebodyparts", "multianimalbodyparts", "bodyparts"],
    ),
    (
        "Fraction of video to start/stop when extracting frames for labeling/refinement",
        ["start", "stop", "numframes2pick"],
    ),
    (
        "Plotting configuration",
        ["skeleton", "skeleton_color", "pcutoff", "dotsize", "alphavalue", "colormap"],
    ),
    (
        "Training,Evaluation and Analysis configuration",
        [
            "TrainingFraction",
            "iteration",
            "default_net_type",
            "default_augmenter",
            "default_track_method",
            "snapshotindex",
            "detector_snapshotindex",
            "batch_size",
            "detector_batch_size",
        ],
    ),
    (
        "Cropping Parameters (for analysis and outlier frame detection)",
        ["cropping", "x1", "x2", "y1", "y2"],
    ),
    (
        "Refinement configuration (parameters from annotation dataset configuration also "
        "relevant in this stage)",
        ["corner2move2", "move2corner"],
    ),
    ("Conversion tables to fine-tune SuperAnimal weights", ["SuperAnimalConversionTables"]),
]
_MULTI_ONLY = {"individuals", "uniquebodyparts", "multianimalbodyparts", "default_track_method"}


def config_template(multianimal: bool = False) -> CommentedMap:
    """DeepLabCut's key layout and section comments; values empty but ``engine: pytorch``."""
    lines = []
    for comment, keys in _SECTIONS:
        lines.append(f"# {comment}")
        for key in keys:
            if key in _MULTI_ONLY and not multianimal:
                continue
            # DeepLabCut's template presets the engine (older projects lack the key).
            lines.append("engine: pytorch" if key == "engine" else f"{key}:")
            if key == "cropping":
                lines.append("#if cropping is true for analysis, then set the values here:")
        lines += ["", ""]
    return _yaml().load("\n".join(lines[:-2]) + "\n")


def default_config(
    task: str = "",
    scorer: str = "",
    date: str = "",
    *,
    multianimal: bool = False,
    bodyparts: Sequence[str] | None = None,
    individuals: Sequence[str] | None = None,
    unique_bodyparts: Sequence[str] = (),
    skeleton: Sequence[Sequence[str]] | None = None,
    project_path: str | os.PathLike = "",
    video_sets: Mapping[str, Any] | None = None,
    engine: str = "pytorch",
) -> CommentedMap:
    """A new project's config with DeepLabCut's keys and defaults (as ``create_new_project``).

    ``bodyparts`` are the multi-animal bodyparts when ``multianimal``; omitted
    names and skeleton get DeepLabCut's placeholders (``bodypart1`` ...). A
    skeleton defaults to DeepLabCut's example only with the placeholder names.
    """
    if not multianimal and (individuals or unique_bodyparts):
        raise ValueError("individuals and unique_bodyparts need multianimal=True")
    cfg = config_template(multianimal)
    placeholder = bodyparts is None
    if multianimal:
        bps = list(bodyparts) if bodyparts is not None else ["bodypart1", "bodypart2", "bodypart3"]
        cfg.update(
            multianimalproject=True,
            identity=False,
            individuals=list(individuals or ["individual1", "individual2", "individual3"]),
            uniquebodyparts=list(unique_bodyparts),
            multianimalbodyparts=bps,
            bodyparts=MULTI_BODYPARTS,
            default_net_type="dlcrnet_ms5",
            default_augmenter="multi-animal-imgaug",
            default_track_method="ellipse",
        )
        example = [
            ["bodypart1", "bodypart2"],
            ["bodypart2", "bodypart3"],
            ["bodypart1", "bodypart3"],
        ]
    else:
        bps = (
            list(bodyparts)
            if bodyparts is not None
            else ["bodypart1", "bodypart2", "bodypart3", "objectA"]
        )
        cfg.update(
            multianimalproject=False,
            bodyparts=bps,
            default_net_type="resnet_50",
            default_augmenter="default",
        )
        example = [["bodypart1", "bodypart2"], ["objectA", "bodypart3"]]
    if skeleton is None:
        skeleton = example if placeholder else []
    cfg.update(
        Task=task, scorer=scorer, date=date, project_path=str(project_path), engine=engine,
        video_sets=dict(video_sets or {}), start=0, stop=1, numframes2pick=20,
        skeleton=[list(edge) for edge in skeleton], skeleton_color="black", pcutoff=0.6,
        dotsize=12, alphavalue=0.7, colormap="rainbow", TrainingFraction=[0.95], iteration=0,
        snapshotindex=-1, detector_snapshotindex=-1, batch_size=8, detector_batch_size=1,
        cropping=False, x1=0, x2=640, y1=277, y2=624, corner2move2=[50, 50], move2corner=True,
    )  # fmt: skip
    return _plain_values(cfg)


def read_config(path: str | os.PathLike) -> CommentedMap:
    """Read ``config.yaml`` into a dict-like ruamel ``CommentedMap`` (comments kept).

    Unlike DeepLabCut, reading never rewrites the file (no silent
    ``project_path`` update): a read-only project stays untouched.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Config file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read config file {str(path)!r}: {err}") from err
    try:
        cfg = _yaml().load(text)
    except YAMLError as err:
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML: {err}") from err
    if cfg is None:
        raise ConfigError(f"Config file {str(path)!r} is empty")
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"Config file {str(path)!r} must hold a mapping of keys, got {type(cfg)}"
        )
    from markerless.io.config_schema import check_config

    return check_config(cfg, path)


def dump_config(cfg: Mapping[str, Any]) -> str:
    """The YAML text :func:`write_config` writes."""
    if not isinstance(cfg, CommentedMap):
        # Plain dicts go through DeepLabCut's template (as DeepLabCut's write_config
        # does): its keys and comments first, the dict's other keys after.
        template = config_template(bool(cfg.get("multianimalproject")))
        template.update(cfg)
        if "skeleton" not in cfg:  # as DeepLabCut, for older configs
            template.update(skeleton=[], skeleton_color="black")
        cfg = template
    stream = io.StringIO()
    _yaml().dump(_plain_values(cfg), stream)
    return stream.getvalue()


def write_config(cfg: Mapping[str, Any], path: str | os.PathLike, backup: bool = True) -> Path:
    """Write ``cfg`` to ``path`` atomically (previous file kept as ``config.yaml.bak``).

    A ``CommentedMap`` from :func:`read_config` is written back byte for byte
    apart from what was changed; numpy scalars, tuples and paths are converted
    to plain YAML values.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    try:
        text = dump_config(cfg)
    except YAMLError as err:
        raise ConfigError(
            f"Cannot write {str(path)!r}: a value is not representable: {err}"
        ) from err
    return atomic_write_text(path, text, backup=backup)


def _plain_values(obj: Any) -> Any:
    """Replace values ruamel cannot represent, in place for ruamel containers (keeps comments)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return [_plain_values(v) for v in obj.tolist()]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, CommentedMap):
        for key in list(obj):
            value = obj[key]
            new = _plain_values(value)
            if new is not value:
                obj[key] = new
        return obj
    if isinstance(obj, CommentedSeq):
        for i, value in enumerate(obj):
            new = _plain_values(value)
            if new is not value:
                obj[i] = new
        return obj
    if isinstance(obj, Mapping):
        return {str(k) if isinstance(k, PurePath) else k: _plain_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain_values(v) for v in obj]
    return obj


# --- name helpers (same names as deeplabcut.utils.auxiliaryfunctions) -------
def is_multianimal(cfg: Mapping[str, Any]) -> bool:
    """``multianimalproject`` as a bool (an empty value means single-animal)."""
    return bool(cfg.get("multianimalproject") or False)


def _names(cfg: Mapping[str, Any], key: str, required: bool = True) -> list[str]:
    value = cfg.get(key)
    if value is None:
        if required:
            raise ConfigError(f"config.yaml has no {key!r} list")
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"config.yaml {key!r} must be a list of names, got {value!r}")
    names = [str(v) for v in value]
    if len(set(names)) != len(names):
        raise ConfigError(f"config.yaml {key!r} has duplicate names: {names}")
    return names


def get_bodyparts(cfg: Mapping[str, Any]) -> list[str]:
    """Bodyparts every individual has: ``multianimalbodyparts`` or ``bodyparts``."""
    if is_multianimal(cfg):
        return _names(cfg, "multianimalbodyparts")
    return _names(cfg, "bodyparts")


def get_unique_bodyparts(cfg: Mapping[str, Any]) -> list[str]:
    """Bodyparts seen once per frame (``uniquebodyparts``; ``[]`` for single-animal)."""
    return _names(cfg, "uniquebodyparts", required=False) if is_multianimal(cfg) else []


def get_all_bodyparts(cfg: Mapping[str, Any]) -> list[str]:
    """Multi-animal bodyparts then unique ones: the column order of label files."""
    return get_bodyparts(cfg) + get_unique_bodyparts(cfg)


def get_individuals(cfg: Mapping[str, Any], with_single: bool = False) -> list[str]:
    """``individuals`` (``[""]`` for single-animal, as :class:`~markerless.poses.Poses`).

    ``with_single`` appends DeepLabCut's ``"single"`` pseudo-individual when
    the project has unique bodyparts (as ``extractindividualsandbodyparts``).
    """
    if not is_multianimal(cfg):
        return [SINGLE_ANIMAL]
    individuals = _names(cfg, "individuals")
    if with_single and get_unique_bodyparts(cfg):
        individuals.append(UNIQUE_INDIVIDUAL)
    return individuals


def get_skeleton(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Skeleton edges as (bodypart, bodypart) pairs; each name must be a project bodypart."""
    edges = cfg.get("skeleton") or []
    known = set(get_all_bodyparts(cfg))
    out = []
    for edge in edges:
        if isinstance(edge, str) or len(edge) != 2:
            raise ConfigError(f"config.yaml skeleton edge {edge!r} is not a pair of bodyparts")
        a, b = (str(v) for v in edge)
        unknown = [n for n in (a, b) if n not in known]
        if unknown:
            raise ConfigError(
                f"config.yaml skeleton edge {[a, b]} names unknown bodyparts {unknown}"
            )
        out.append((a, b))
    return out


def pose_layout(cfg: Mapping[str, Any]) -> tuple[list[str], list[str], np.ndarray]:
    """``(individuals, bodyparts, defined)`` of this project's label files, ready for ``Poses``.

    Multi-animal projects with unique bodyparts get ``"single"`` as the last
    individual carrying only the unique bodyparts; the real individuals carry
    only the multi-animal ones.
    """
    individuals = get_individuals(cfg, with_single=True)
    shared, unique = get_bodyparts(cfg), get_unique_bodyparts(cfg)
    defined = np.zeros((len(individuals), len(shared) + len(unique)), dtype=bool)
    if unique:
        defined[:-1, : len(shared)] = True
        defined[-1, len(shared) :] = True
    else:
        defined[:] = True
    return individuals, shared + unique, defined
