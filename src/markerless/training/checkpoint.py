"""Saving and restoring model snapshots and full training state (plain msgpack files).

Why not orbax: a snapshot here is a few MB to ~100 MB written every few minutes from one
process; orbax's asynchronous, sharded, multi-host machinery buys nothing at that scale and
adds a heavy dependency with its own on-disk layout (a folder per step). One msgpack file per
snapshot (``flax.serialization``, already a flax dependency) written through
`markerless.io.atomic.atomic_write` (temporary file + fsync + ``os.replace``) is just as
crash-safe: a kill during a save leaves the previous file intact.

File layout: a msgpack map ``{"format", "version", "meta" (JSON text), "state"}`` where
``state`` maps ``"path/to/variable"`` strings to NumPy arrays. Flat string paths make a
mismatch easy to report ("snapshot lacks head/conv/kernel") and the files readable from any
language with a msgpack library.

Two kinds of files:

* ``snapshot-<step>.msgpack``: model parameters and BatchNorm statistics + metadata (what
  inference needs; the ones kept are the newest ``max_snapshots_to_keep``);
* ``train_state.msgpack``: the same plus the optimizer state, step and RNG key, enough to
  resume a killed run exactly (one file, replaced at every save).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx, serialization

from markerless.errors import ModelError
from markerless.io.atomic import atomic_write_bytes

__all__ = [
    "MODEL_VARIABLES",
    "flatten_state",
    "load_file",
    "restore_into",
    "save_file",
]

FORMAT = "markerless-state"
VERSION = 1
#: what a snapshot holds: trainable parameters and BatchNorm running statistics.
MODEL_VARIABLES = nnx.Any(nnx.Param, nnx.BatchStat)


def _key_name(entry: Any) -> str:
    for attr in ("key", "idx", "name"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def flatten_state(tree: Any) -> dict[str, np.ndarray]:
    """``{"a/b/c": array}`` for every leaf of a pytree (an ``nnx.State`` or pure dict)."""
    if isinstance(tree, nnx.State):
        tree = nnx.to_pure_dict(tree)
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {"/".join(_key_name(k) for k in path): np.asarray(leaf) for path, leaf in leaves}


def restore_into(target: Any, flat: dict[str, np.ndarray], source: str | os.PathLike,
                 prefix: str = "", variables: Any = ...) -> None:
    """Overwrite the variables of ``target`` (an nnx Module/Optimizer) with ``flat`` arrays.

    Every variable of ``target`` must be present with the same shape; names that ``target``
    does not have are an error too (a snapshot of another network). ``prefix`` selects a
    sub-tree of ``flat`` (``"model/"``, ``"optimizer/"``); ``variables`` filters which
    variables of ``target`` are restored (default: all; `MODEL_VARIABLES` for snapshots).
    """
    state = nnx.state(target, variables)
    pure = nnx.to_pure_dict(state)
    paths, treedef = jax.tree_util.tree_flatten_with_path(pure)
    names = ["/".join(_key_name(k) for k in path) for path, _ in paths]
    available = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
    missing = [n for n in names if n not in available]
    extra = sorted(set(available) - set(names))
    if missing or extra:
        raise ModelError(
            f"{str(source)!r} does not fit this network: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected {extra[:5]}"
            f"{' ...' if len(extra) > 5 else ''}"
        )
    leaves = []
    for (_, old), name in zip(paths, names, strict=True):
        # ``old`` may be an array or a ShapeDtypeStruct (a model built with nnx.eval_shape).
        shape, dtype = tuple(old.shape), old.dtype
        new = np.asarray(available[name])
        if new.shape != shape and new.size == 1 and math.prod(shape) == 1:
            new = new.reshape(shape)  # msgpack stores 0-d arrays as (1,)
        if new.shape != shape:
            raise ModelError(f"{str(source)!r}: {name} has shape {new.shape}, the network "
                             f"expects {shape}")  # fmt: skip
        leaves.append(jax.numpy.asarray(new, dtype=dtype))
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, leaves))
    nnx.update(target, state)


def save_file(path: str | os.PathLike, state: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``state`` + ``meta`` atomically to ``path`` (see module docstring)."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "meta": json.dumps(meta, default=_json_default),
        "state": {k: np.ascontiguousarray(v) for k, v in state.items()},
    }
    data = serialization.msgpack_serialize(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, data, backup=False)


def load_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(state, meta)`` from a file written by `save_file`."""
    path = Path(path)
    try:
        payload = serialization.msgpack_restore(path.read_bytes())
    except FileNotFoundError:
        raise ModelError(f"Snapshot {str(path)!r} not found") from None
    except Exception as err:  # noqa: BLE001 - msgpack raises many unrelated types
        raise ModelError(f"{str(path)!r} is not a readable markerless snapshot: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{str(path)!r} is not a markerless snapshot (format tag missing)")
    if int(payload.get("version", 0)) > VERSION:
        raise ModelError(f"{str(path)!r} was written by a newer markerless (format version "
                         f"{payload['version']} > {VERSION}); upgrade to read it")  # fmt: skip
    return dict(payload["state"]), json.loads(payload["meta"])


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def move_old_run(train_dir: str | os.PathLike, discard: bool = False) -> Path | None:
    """Set an earlier run's snapshots and checkpoint aside before starting over.

    Why: a new run writing into a folder that still holds the old run's snapshots
    would mix the two (the old run's later snapshots would look newest). The files
    move to ``train/previous-<time>/`` (``discard=True`` deletes them instead) and
    that folder is returned; ``None`` when there was nothing to move.
    """
    import datetime as _dt

    train_dir = Path(train_dir)
    old = sorted(train_dir.glob("snapshot-*.msgpack")) + sorted(
        train_dir.glob("train_state.msgpack"))
    if not old:
        return None
    if discard:
        for path in old:
            path.unlink()
        return None
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = train_dir / f"previous-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = train_dir / f"previous-{stamp}-{n}"
    target.mkdir()
    for path in old:
        path.rename(target / path.name)
    return target
