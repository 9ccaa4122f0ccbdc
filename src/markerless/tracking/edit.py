"""Bulk identity fixes on tracks: swap two animals from a frame on, or over a frame range.

A tracker that swaps two animals when they cross gets every later frame wrong
(DeepLabCut #3392, #2867, #2670: users fix swaps frame by frame). Swapping the
two individuals' rows from the swap frame on (or between two frames) fixes it
in one step. The functions are pure (a new :class:`~markerless.poses.Poses`
unless ``inplace``), vectorised (one fancy-indexed copy of the rows), and a swap
is its own inverse, so an undo is the same call again.

Frames are the *video frame numbers* in ``poses.frames`` (rows of ``_el.h5``
files are video frames; a SLEAP file may skip frames), ``stop`` is exclusive as
in a Python slice, and ``None`` means to the end of the video.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from markerless.errors import ArgumentError, LabelFileError
from markerless.poses import UNIQUE_INDIVIDUAL, Poses

__all__ = [
    "frame_numbers",
    "individual_index",
    "reorder_identities",
    "rows_between",
    "swap_identities",
]


def frame_numbers(poses: Poses) -> np.ndarray:
    """``(F,)`` int64 video frame number of each row (``poses.frames`` must be numbers)."""
    try:
        return np.asarray([int(f) for f in poses.frames], dtype=np.int64)
    except (TypeError, ValueError):
        raise LabelFileError(
            f"frames {poses.frames[:3]!r}... are not video frame numbers: identities are "
            "edited on tracks of a video (_el.h5, analysis .h5/.csv or .slp)"
        ) from None


def rows_between(poses: Poses, start: int, stop: int | None = None) -> np.ndarray:
    """Row positions whose frame number is in ``[start, stop)`` (``stop`` None: to the end)."""
    frames = frame_numbers(poses)
    start = int(start)
    if stop is not None and int(stop) <= start:
        raise ArgumentError(f"stop={stop} must be after start={start} (stop is exclusive)")
    keep = frames >= start
    if stop is not None:
        keep &= frames < int(stop)
    return np.flatnonzero(keep)


def individual_index(poses: Poses, who: str | int) -> int:
    """Position of individual ``who`` (a name or an index); never the unique ``single``."""
    if isinstance(who, (int, np.integer)) and not isinstance(who, bool):
        i = int(who)
        if not 0 <= i < poses.n_individuals:
            raise ArgumentError(f"individual {i} is out of range: there are "
                                f"{poses.n_individuals} ({poses.individuals})")
    else:
        if str(who) not in poses.individuals:
            raise ArgumentError(f"unknown individual {who!r}; these tracks have "
                                f"{poses.individuals}")
        i = poses.individuals.index(str(who))
    if poses.individuals[i] == UNIQUE_INDIVIDUAL:
        raise ArgumentError("'single' carries the unique bodyparts, not an animal: it has no "
                            "identity to swap")
    return i


def reorder_identities(
    poses: Poses,
    order: Sequence[str | int],
    start: int = 0,
    stop: int | None = None,
    *,
    inplace: bool = False,
) -> Poses:
    """Relabel the animals over ``[start, stop)``: individual ``k`` gets the data of ``order[k]``.

    ``order`` names (or indexes) every animal once, e.g. ``["b", "c", "a"]`` for
    three animals whose tracks rotated; ``"single"`` keeps its place. Coordinates
    and likelihoods move together; frames outside the range are untouched.
    """
    animals = [i for i, n in enumerate(poses.individuals) if n != UNIQUE_INDIVIDUAL]
    src = [individual_index(poses, w) for w in order]
    if sorted(src) != animals:
        names = [poses.individuals[i] for i in animals]
        raise ArgumentError(f"order {list(order)} must name each animal {names} exactly once")
    for a, b in zip(animals, src, strict=True):
        if not np.array_equal(poses.defined[a], poses.defined[b]):
            raise ArgumentError(f"individuals {poses.individuals[a]!r} and "
                                f"{poses.individuals[b]!r} have different bodyparts")
    rows = rows_between(poses, start, stop)
    out = poses if inplace else poses.copy()
    if not len(rows) or src == animals:
        return out
    dst, src_arr = np.asarray(animals), np.asarray(src)
    r = rows[:, None]  # advanced indexing copies the source rows before they are written
    out.xy[r, dst] = out.xy[r, src_arr]
    if out.likelihood is not None:
        out.likelihood[r, dst] = out.likelihood[r, src_arr]
    return out


def swap_identities(
    poses: Poses,
    a: str | int,
    b: str | int,
    start: int = 0,
    stop: int | None = None,
    *,
    inplace: bool = False,
) -> Poses:
    """Swap animals ``a`` and ``b`` from frame ``start`` on, or over ``[start, stop)``.

    >>> fixed = swap_identities(tracks, "female", "male", start=412)  # doctest: +SKIP

    Swapping again with the same arguments undoes it.
    """
    ia, ib = individual_index(poses, a), individual_index(poses, b)
    if ia == ib:
        raise ArgumentError(f"cannot swap {poses.individuals[ia]!r} with itself")
    order: list[int] = [i for i, n in enumerate(poses.individuals) if n != UNIQUE_INDIVIDUAL]
    pa, pb = order.index(ia), order.index(ib)
    order[pa], order[pb] = order[pb], order[pa]
    return reorder_identities(poses, order, start, stop, inplace=inplace)
