"""Checks of API arguments at the boundary, so a bad value raises instead of being replaced.

Why: values such as ``batch_size=0`` or ``numframes2pick=0`` used to be swapped for a
default by ``x or default`` (0 is falsy), so a user's mistake ran silently with other
settings. Public functions call these on their arguments; the CLI checks the same ranges
at parse time (:mod:`markerless.cli._args`).
"""

from __future__ import annotations

import numbers
from typing import Any

from markerless.errors import ArgumentError

__all__ = ["positive_int", "optional_positive_int", "probability"]


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1, or :class:`ArgumentError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real, str)):
        raise ArgumentError(f"{name} must be a whole number >= 1, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ArgumentError(f"{name} must be a whole number >= 1, got {value!r}") from None
    if number != int(number) or number < 1:
        raise ArgumentError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(number)


def optional_positive_int(value: Any, name: str) -> int | None:
    """Like :func:`positive_int`, with ``None`` meaning "use the default"."""
    return None if value is None else positive_int(value, name)


def probability(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1], or :class:`ArgumentError` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise ArgumentError(f"{name} must be a number in [0, 1], got {value!r}")
    return number
