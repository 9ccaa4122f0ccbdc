"""Checks of config.yaml values, run once by :func:`markerless.io.config.read_config`.

Why at the reader: every stage reads config.yaml, and each used to coerce values
its own way (``int(cfg.get("iteration") or 0)``), so a value users really write
(``TrainingFraction: 0.95`` as a scalar, ``iteration: "1"``) either worked in one
stage and crashed in another with a raw ``TypeError``, or was silently replaced.
Here a value is either accepted in a normal form (written the way DeepLabCut
writes it) or refused with a message naming the file and the key. Keys this
module does not know are left alone (users keep their own keys).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from markerless.errors import ConfigError

__all__ = ["check_config"]


class _Bad(ValueError):
    """A value is wrong; the message says what was expected."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise _Bad("expected a number")
    try:
        out = float(value)
    except ValueError:
        raise _Bad("expected a number") from None
    if not math.isfinite(out):
        raise _Bad("expected a finite number")
    return out


def _integer(value: Any, minimum: int | None = None) -> int:
    number = _number(value)
    if number != int(number):
        raise _Bad("expected a whole number")
    out = int(number)
    if minimum is not None and out < minimum:
        raise _Bad(f"expected a whole number >= {minimum}")
    return out


def _fraction_list(value: Any) -> list[float]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise _Bad("expected at least one fraction, e.g. [0.95]")
    out = []
    for item in items:
        f = _number(item)
        if not 0 < f <= 1:
            raise _Bad(f"fractions must be in (0, 1], got {item!r}")
        out.append(item if isinstance(item, numbers.Real) else f)
    return out


def _probability(value: Any) -> float:
    f = _number(value)
    if not 0 <= f <= 1:
        raise _Bad("expected a number in [0, 1]")
    return value if isinstance(value, numbers.Real) else f  # `start: 0` stays 0


def _positive_number(value: Any) -> float:
    f = _number(value)
    if f <= 0:
        raise _Bad("expected a number > 0")
    return value if isinstance(value, numbers.Real) else f


def _snapshotindex(value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() == "all":
        return "all"
    return _integer(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no"}:
        return value.strip().lower() in {"true", "yes"}
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise _Bad("expected true or false")


def _names(value: Any) -> Any:
    if isinstance(value, str):
        if value == "MULTI!":
            return value
        raise _Bad("expected a list of names, e.g. [snout, tailbase]")
    if not isinstance(value, (list, tuple)):
        raise _Bad("expected a list of names")
    bad = [v for v in value if not isinstance(v, (str, numbers.Integral)) or isinstance(v, bool)]
    if bad:
        raise _Bad(f"expected names, got {bad[0]!r}")
    return value


def _video_sets(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _Bad("expected a mapping of video paths to {crop: 'x1, x2, y1, y2'}")
    for key, entry in value.items():
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise _Bad(f"entry of video {key!r} must be a mapping such as {{crop: '0, 640, 0, "
                       "480'}}")
        crop = entry.get("crop")
        if crop is not None:
            parts = [p.strip() for p in str(crop).split(",")]
            try:
                x1, x2, y1, y2 = (int(float(p)) for p in parts)
            except ValueError:
                raise _Bad(f"crop of video {key!r} must be 'x1, x2, y1, y2', got {crop!r}"
                           ) from None
            if x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
                raise _Bad(f"crop of video {key!r} is empty or negative: {crop!r}")
    return value


#: key -> normaliser; ``None`` values are always accepted (DLC's template leaves keys empty).
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "TrainingFraction": _fraction_list,
    "iteration": lambda v: _integer(v, 0),
    "numframes2pick": lambda v: _integer(v, 1),
    "batch_size": lambda v: _integer(v, 1),
    "detector_batch_size": lambda v: _integer(v, 1),
    "pcutoff": _probability,
    "start": _probability,
    "stop": _probability,
    "alphavalue": _probability,
    "dotsize": _positive_number,
    "snapshotindex": _snapshotindex,
    "detector_snapshotindex": _snapshotindex,
    "multianimalproject": _boolean,
    "identity": _boolean,
    "cropping": _boolean,
    "bodyparts": _names,
    "multianimalbodyparts": _names,
    "uniquebodyparts": _names,
    "individuals": _names,
    "video_sets": _video_sets,
    "x1": lambda v: _integer(v, 0),
    "x2": lambda v: _integer(v, 0),
    "y1": lambda v: _integer(v, 0),
    "y2": lambda v: _integer(v, 0),
}


def check_config(cfg: MutableMapping[str, Any], path: str | Path) -> MutableMapping[str, Any]:
    """Check the known keys of ``cfg`` in place, normalising accepted forms.

    ``TrainingFraction: 0.95`` becomes ``[0.95]``, ``iteration: "2"`` becomes ``2``
    (DeepLabCut's forms); anything else that does not fit raises
    :class:`~markerless.errors.ConfigError` naming ``path`` and the key.
    """
    for key, check in _CHECKS.items():
        value = cfg.get(key)
        if value is None:
            continue
        try:
            normal = check(value)
        except _Bad as err:
            raise ConfigError(f"{str(path)!r}: {key}: {err} (found {value!r})") from None
        if isinstance(value, (list, tuple)):
            changed = list(normal) != list(value)  # keep ruamel's sequence (and comments)
        else:
            changed = type(normal) is not type(value) or normal != value
        if changed:
            cfg[key] = normal
    start, stop = cfg.get("start"), cfg.get("stop")
    if start is not None and stop is not None and float(start) >= float(stop):
        raise ConfigError(f"{str(path)!r}: start ({start}) must be smaller than stop ({stop})")
    return cfg
