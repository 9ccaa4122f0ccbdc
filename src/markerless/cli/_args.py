"""Argument types for the CLI: bad values fail at parse time with a usage message.

Why here and not in the API: argparse turns a ``ValueError`` raised by a type
function into ``markerless VERB: error: argument --x: ...`` with exit code 2, so a
user sees which flag is wrong before anything heavy is imported. The API checks
the same ranges again for Python callers (:mod:`markerless.validate`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, iterations, frame counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0 (indices, counts that may be zero)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def probability(text: str) -> float:
    """A number in [0, 1] (pcutoff, p-bounds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def snapshot_index(text: str) -> int | str:
    """DeepLabCut's ``snapshotindex``: an integer (-1 is the newest), ``last`` or ``all``."""
    low = text.strip().lower()
    if low == "all":
        return "all"
    if low in {"last", "latest", "newest"}:
        return -1
    try:
        return int(low)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a snapshot number (0 = oldest, -1 = newest), 'last' or 'all', got {text!r}"
        ) from None


def existing_file(text: str) -> Path:
    """A path to a file that exists (config.yaml, label files)."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    if path.is_dir():
        config = path / "config.yaml"
        if config.is_file():
            return config  # a project folder stands for its config.yaml
        raise argparse.ArgumentTypeError(f"expected a file, got the folder {text}")
    return path


def config_file(text: str) -> Path:
    """A project's ``config.yaml`` (or its folder)."""
    path = existing_file(text)
    if path.suffix.lower() not in {".yaml", ".yml"}:
        raise argparse.ArgumentTypeError(
            f"expected a project's config.yaml, got {text} (create one with "
            "'markerless create-project')")
    return path


def choice_of(options: dict[str, str] | list[str], what: str):
    """A type accepting one of ``options`` case-insensitively, listing them when wrong.

    Unlike ``choices=``, the list can come from the code at parse time (recipes,
    networks) and the message says what the value is for.
    """
    names = list(options)

    def parse(text: str) -> str:
        for name in names:
            if text.lower() == name.lower():
                return name
        raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; choose one of "
                                         + ", ".join(names))

    parse.__name__ = what.replace(" ", "_")
    return parse


def folder(text: str) -> Path:
    """A destination folder: it may not exist yet, but it must not be a file."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, expected a folder")
    return path
