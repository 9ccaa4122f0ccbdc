"""``train_network(..., init_weights=...)``: start from another model (DLC's ``init_weights``).

The source is an exported folder (``exported-models/<scorer>/``, its ``snapshot.msgpack``), a
model folder or a ``snapshot-<step>.msgpack`` file. Every backbone and head variable is
copied when the architectures agree; the score and location-refinement channels are
matched by *bodypart name*, so a model trained on ``snout, leftear, rightear, tailbase``
initialises a project labelling ``tailbase, snout, nose`` with the two shared keypoints in
their new places, and ``nose`` keeps its fresh initialisation. The mapping is printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import ModelError

__all__ = ["InitReport", "apply_init_weights", "match_keypoints", "resolve_source"]

_HEAD_SCORE, _HEAD_LOCREF = "head/score/", "head/locref/"


def resolve_source(source: str | os.PathLike) -> Path:
    """The snapshot file behind an exported folder, a model folder or a snapshot path."""
    from markerless.training.snapshots import list_snapshots

    path = Path(source)
    if path.is_file():
        return path
    if (path / "snapshot.msgpack").is_file():
        return path / "snapshot.msgpack"
    snaps = list_snapshots(path)
    if snaps:
        return snaps[-1]
    raise ModelError(f"init_weights {str(source)!r} is neither a snapshot file, an exported "
                     "model folder (with snapshot.msgpack) nor a model folder with snapshots")


def match_keypoints(target: list[str], source: list[str]) -> list[int | None]:
    """For each target keypoint, the index of the source keypoint with the same name.

    Exact names first, then case- and separator-insensitive ones (``Left_Ear`` = ``leftear``).
    """
    def norm(name: str) -> str:
        return "".join(c for c in name.lower() if c.isalnum())

    exact = {n: i for i, n in enumerate(source)}
    loose: dict[str, int] = {}
    for i, n in enumerate(source):
        loose.setdefault(norm(n), i)
    out: list[int | None] = []
    for name in target:
        out.append(exact[name] if name in exact else loose.get(norm(name)))
    return out


class InitReport:
    """What `apply_init_weights` did: ``mapping`` target name -> source name or None."""

    def __init__(self, source: Path, mapping: dict[str, str | None], copied: int):
        self.source, self.mapping, self.copied = source, mapping, copied

    def __str__(self) -> str:
        lines = [f"init_weights from {self.source} ({self.copied} arrays copied); keypoints:"]
        for tgt, src in self.mapping.items():
            lines.append(f"  {tgt:<20} <- {src if src is not None else '(new: fresh weights)'}")
        return "\n".join(lines)


def _channels(kernel_or_bias: np.ndarray, per_kp: int) -> np.ndarray:
    """View the last axis as (K, per_kp) so channels can be picked per keypoint."""
    a = np.asarray(kernel_or_bias)
    return a.reshape(*a.shape[:-1], a.shape[-1] // per_kp, per_kp)


def apply_init_weights(model: Any, source: str | os.PathLike, bodyparts: list[str],
                       verbose: bool = True) -> InitReport:
    """Overwrite ``model``'s variables with those of ``source`` (see module docstring).

    Raises ModelError when the backbones differ (another ``net_type``, stride or width):
    only the keypoint channels of the head may differ.
    """
    from flax import nnx

    from markerless.training.checkpoint import MODEL_VARIABLES, flatten_state, load_file

    path = resolve_source(source)
    flat, meta = load_file(path)
    src_parts = list(meta.get("bodyparts") or [])
    src_ind = list(meta.get("individuals") or [""])
    if len(src_ind) > 1:  # channels are laid out individual-major
        src_parts = [f"{i}{'/' if i else ''}{b}" for i in src_ind for b in src_parts]
    weights = {k[len("model/"):]: v for k, v in flat.items() if k.startswith("model/")}
    state = nnx.state(model, MODEL_VARIABLES)
    target = flatten_state(state)
    mine_cfg, src_cfg = getattr(model, "config", None), meta.get("model_config", {})
    if mine_cfg is not None and src_cfg.get("net_type") not in (None, mine_cfg.net_type):
        raise ModelError(f"init_weights {str(path)!r} is a {src_cfg.get('net_type')} network; "
                         f"this project trains {mine_cfg.net_type}: use the same net_type")
    body = [k for k in target if not k.startswith((_HEAD_SCORE, _HEAD_LOCREF))]
    missing = [k for k in body if k not in weights]
    wrong = [k for k in body if k in weights and np.shape(weights[k]) != np.shape(target[k])]
    if missing or wrong:
        raise ModelError(f"init_weights {str(path)!r} does not fit this network (another "
                         f"architecture, stride or width): missing {missing[:3]}, other shape "
                         f"{wrong[:3]}")
    matches = match_keypoints(list(bodyparts), src_parts)
    new = dict(target)
    for k in body:
        new[k] = np.asarray(weights[k], dtype=np.asarray(target[k]).dtype)
    for prefix, per_kp in ((_HEAD_SCORE, 1), (_HEAD_LOCREF, 2)):
        for name in ("kernel", "bias"):
            key = prefix + name
            if key not in target or key not in weights:
                continue
            dst = _channels(np.array(target[key]), per_kp)
            src = _channels(weights[key], per_kp)
            for t, s in enumerate(matches):
                if s is not None and s < src.shape[-2]:
                    dst[..., t, :] = src[..., s, :]
            new[key] = dst.reshape(np.shape(target[key]))
    import jax

    from markerless.training.checkpoint import _key_name

    pure = nnx.to_pure_dict(state)
    paths, treedef = jax.tree_util.tree_flatten_with_path(pure)
    leaves = [jax.numpy.asarray(new["/".join(_key_name(e) for e in path)], dtype=old.dtype)
              for path, old in paths]
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, leaves))
    nnx.update(model, state)
    report = InitReport(path, {t: (src_parts[s] if s is not None else None)
                               for t, s in zip(bodyparts, matches, strict=False)}, len(new))
    if verbose:
        print(report)
    return report

