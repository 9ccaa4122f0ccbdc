"""What the multi-animal network hands to tracking: per-frame peaks and assemblies.

Two arrays cross the boundary between inference and tracking, both padded to a
fixed size so that a chunk of frames is one array (no per-frame Python objects):

* :class:`Peaks` -- the network's candidate keypoints per bodypart (what
  DeepLabCut's ``_full.pickle`` stores): ``coords (F, K, P, 2)``,
  ``confidence (F, K, P)``, optional ``identity (F, K, P, I)``, optional
  ``affinity (F, E, P, P)`` (PAF line integrals per graph edge).
* :class:`Assemblies` -- the animals assembled from those peaks (what
  ``_assemblies.pickle`` stores): ``data (F, N, K, 4)`` with columns
  ``x, y, likelihood, affinity`` (NaN where absent; an all-NaN row is no
  animal), optional ``identity (F, N, I)`` (mean identity probability of each
  assembly) and optional ``unique (F, U, 3)`` for unique bodyparts.

Frame ``f`` of a chunk is video frame ``first_frame + f``. The converters below
read and write DeepLabCut 3's pickles (see docs/multianimal.md for the layout)
and stream: writers take chunk after chunk, memory stays flat in video length.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from markerless.errors import LabelFileError
from markerless.poses import Poses
from markerless.tracking.pickle_stream import DictPickleWriter

__all__ = [
    "ASSEMBLY_COLUMNS",
    "Assemblies",
    "FullPickleWriter",
    "Peaks",
    "full_pickle_metadata",
    "frame_key",
    "key_width",
    "read_assemblies_pickle",
    "write_assemblies_pickle",
]

#: columns of :attr:`Assemblies.data`.
ASSEMBLY_COLUMNS = ("x", "y", "likelihood", "affinity")


def key_width(n_frames: int) -> int:
    """DeepLabCut's zero-padding of ``"frame000123"`` keys: ``ceil(log10(n_frames))``."""
    return max(int(np.ceil(np.log10(max(n_frames, 1)))), 1)


def frame_key(index: int, width: int) -> str:
    return "frame" + str(int(index)).zfill(width)


def _f32(a: Any, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return a


# ---------------------------------------------------------------- assemblies
@dataclass(eq=False)
class Assemblies:
    """Animals assembled per frame, padded to ``max_individuals`` rows.

    Attributes
    ----------
    data : float32 (n_frames, max_individuals, n_bodyparts, 4)
        ``x, y, likelihood, affinity`` per multi-animal bodypart; NaN where a
        keypoint is absent; a row of all NaN is no animal. ``affinity`` is the
        mean PAF affinity of the links that attached the keypoint (NaN when
        unknown, e.g. read from DeepLabCut's pickle).
    bodyparts : list of str
        ``multianimalbodyparts`` in config order.
    identity : float32 (n_frames, max_individuals, n_identities) or None
        Mean identity probability of each assembly (identity head), else None.
    unique : float32 (n_frames, n_unique_bodyparts, 3) or None
        ``x, y, likelihood`` of the unique bodyparts (individual ``single``).
    unique_bodyparts : list of str
    identities : list of str or None
        Names of the identity classes (the project's individuals, in order).
    first_frame : int
        Video frame index of ``data[0]`` (chunks of a longer video).
    """

    data: np.ndarray
    bodyparts: list[str]
    identity: np.ndarray | None = None
    unique: np.ndarray | None = None
    unique_bodyparts: list[str] = field(default_factory=list)
    identities: list[str] | None = None
    first_frame: int = 0

    def __post_init__(self) -> None:
        self.data = _f32(self.data, "assemblies data", 4)
        self.bodyparts = [str(b) for b in self.bodyparts]
        self.unique_bodyparts = [str(b) for b in self.unique_bodyparts]
        n_frames, n_ind, n_kp, n_col = self.data.shape
        if n_col != 4:
            raise ValueError(f"assemblies need 4 columns {ASSEMBLY_COLUMNS}, got {n_col}")
        if n_kp != len(self.bodyparts):
            raise ValueError(f"assemblies have {n_kp} bodyparts but {len(self.bodyparts)} names")
        if self.identity is not None:
            self.identity = _f32(self.identity, "identity", 3)
            if self.identity.shape[:2] != (n_frames, n_ind):
                raise ValueError(
                    f"identity shape {self.identity.shape} != {(n_frames, n_ind)} + (I,)"
                )
            if self.identities is not None and len(self.identities) != self.identity.shape[2]:
                raise ValueError(
                    f"{self.identity.shape[2]} identity classes but names {self.identities}"
                )
        if self.unique is not None:
            self.unique = _f32(self.unique, "unique", 3)
            if self.unique.shape != (n_frames, len(self.unique_bodyparts), 3):
                raise ValueError(
                    f"unique shape {self.unique.shape} != "
                    f"{(n_frames, len(self.unique_bodyparts), 3)}"
                )
        self.first_frame = int(self.first_frame)

    # --- shape helpers
    @property
    def n_frames(self) -> int:
        return self.data.shape[0]

    @property
    def max_individuals(self) -> int:
        return self.data.shape[1]

    @property
    def n_bodyparts(self) -> int:
        return self.data.shape[2]

    @property
    def n_identities(self) -> int:
        return 0 if self.identity is None else self.identity.shape[2]

    @property
    def frames(self) -> np.ndarray:
        return np.arange(self.first_frame, self.first_frame + self.n_frames)

    @property
    def visible(self) -> np.ndarray:
        """(F, N, K) bool: keypoints with finite coordinates."""
        return np.isfinite(self.data[..., :2]).all(axis=-1)

    @property
    def present(self) -> np.ndarray:
        """(F, N) bool: rows that hold an animal."""
        return self.visible.any(axis=-1)

    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, frames: slice) -> Assemblies:
        """Frames ``frames`` (a slice of positions) as a new chunk."""
        if not isinstance(frames, slice) or frames.step not in (None, 1):
            raise TypeError("Assemblies can be sliced by a contiguous slice of frames only")
        start, stop, _ = frames.indices(self.n_frames)
        sl = slice(start, stop)
        return Assemblies(
            self.data[sl], self.bodyparts,
            None if self.identity is None else self.identity[sl],
            None if self.unique is None else self.unique[sl],
            self.unique_bodyparts, self.identities, self.first_frame + start,
        )

    def chunks(self, size: int) -> Iterator[Assemblies]:
        for start in range(0, self.n_frames, size):
            yield self[start : start + size]

    @classmethod
    def concatenate(cls, parts: Sequence[Assemblies]) -> Assemblies:
        """Consecutive chunks -> one (pads ``max_individuals`` to the largest)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        n_ind = max(p.max_individuals for p in parts)
        for prev, nxt in zip(parts, parts[1:], strict=False):
            if nxt.first_frame != prev.first_frame + prev.n_frames:
                raise ValueError(
                    f"chunks are not consecutive: frame {prev.first_frame + prev.n_frames} "
                    f"expected, got {nxt.first_frame}"
                )

        def pad(a: np.ndarray) -> np.ndarray:
            width = [(0, 0)] * a.ndim
            width[1] = (0, n_ind - a.shape[1])
            return np.pad(a, width, constant_values=np.nan)

        ident = None
        if first.identity is not None:
            ident = np.concatenate([pad(p.identity) for p in parts])
        unique = None if first.unique is None else np.concatenate([p.unique for p in parts])
        return cls(
            np.concatenate([pad(p.data) for p in parts]), first.bodyparts, ident, unique,
            first.unique_bodyparts, first.identities, first.first_frame,
        )

    @classmethod
    def empty(
        cls, n_frames: int, max_individuals: int, bodyparts: Sequence[str], **kw: Any
    ) -> Assemblies:
        data = np.full((n_frames, max_individuals, len(bodyparts), 4), np.nan, np.float32)
        return cls(data, list(bodyparts), **kw)

    # --- conversions
    @classmethod
    def from_poses(
        cls,
        poses: Poses,
        identity: np.ndarray | None = None,
        identities: Sequence[str] | None = None,
    ) -> Assemblies:
        """Ground truth or tracked :class:`Poses` as assemblies (likelihood 1 when unknown).

        The individual ``single`` (unique bodyparts) becomes :attr:`unique`.
        """
        from markerless.poses import UNIQUE_INDIVIDUAL

        inds = [i for i, n in enumerate(poses.individuals) if n != UNIQUE_INDIVIDUAL]
        kps = np.flatnonzero(poses.defined[inds].any(axis=0))
        xy = poses.xy[:, inds][:, :, kps]
        lik = (
            np.where(np.isfinite(xy).all(-1), 1.0, np.nan)
            if poses.likelihood is None
            else poses.likelihood[:, inds][:, :, kps]
        )
        data = np.concatenate([xy, lik[..., None], np.full_like(lik[..., None], np.nan)], -1)
        data[~np.isfinite(xy).all(-1)] = np.nan
        unique, unique_bps = None, []
        if UNIQUE_INDIVIDUAL in poses.individuals:
            s = poses.individuals.index(UNIQUE_INDIVIDUAL)
            ukp = np.flatnonzero(poses.defined[s])
            unique_bps = [poses.bodyparts[k] for k in ukp]
            ul = (
                np.ones(poses.xy.shape[:1] + (len(ukp),))
                if poses.likelihood is None
                else poses.likelihood[:, s, ukp]
            )
            unique = np.concatenate([poses.xy[:, s, ukp], ul[..., None]], -1)
        frames = [f for f in poses.frames if isinstance(f, (int, np.integer))]
        first = int(frames[0]) if len(frames) == poses.n_frames and frames else 0
        return cls(
            data, [poses.bodyparts[k] for k in kps], identity, unique, unique_bps,
            None if identities is None else list(identities), first,
        )

    def to_dlc(self) -> dict:
        """DeepLabCut 3's ``_assemblies.pickle`` dict for these frames.

        ``{frame: float64 (n_animals, K, 4) [x, y, likelihood, identity],
        "single": {frame: (U, 3)}}``; the 4th column is the argmax identity
        (``-1`` without an identity head), NaN rows for absent keypoints.
        """
        out: dict[Any, Any] = dict(self._dlc_items())
        out["single"] = dict(self._dlc_unique_items())
        return out

    def _dlc_items(self) -> Iterator[tuple[int, np.ndarray]]:
        vis = self.visible
        present = vis.any(-1)
        arr = self.data.astype(np.float64)
        if self.identity is not None:
            ids = np.argmax(np.nan_to_num(self.identity, nan=-1.0), axis=-1).astype(np.float64)
        else:
            ids = np.full(self.data.shape[:2], -1.0)
        arr[..., 3] = ids[..., None]
        arr[~vis] = np.nan
        for f in np.flatnonzero(present.any(-1)):
            yield int(self.first_frame + f), arr[f, present[f]]

    def _dlc_unique_items(self) -> Iterator[tuple[int, np.ndarray]]:
        if self.unique is None or not self.unique_bodyparts:
            return
        u = self.unique.astype(np.float64)
        for f in np.flatnonzero(np.isfinite(u[..., :2]).all(-1).any(-1)):
            yield int(self.first_frame + f), u[f]

    @classmethod
    def from_dlc(
        cls,
        data: dict,
        bodyparts: Sequence[str],
        n_frames: int | None = None,
        max_individuals: int | None = None,
        unique_bodyparts: Sequence[str] = (),
        identities: Sequence[str] | None = None,
        first_frame: int = 0,
        source: str | os.PathLike = "<assemblies>",
    ) -> Assemblies:
        """Parse a DeepLabCut ``_assemblies.pickle`` dict (DLC 2's lists or DLC 3's arrays).

        Keypoints with a negative or NaN coordinate or likelihood are absent
        (DLC 3 pads with -1). The identity column, when any value is >= 0, gives
        :attr:`identity` as likelihood-weighted votes per assembly.
        """
        n_kp = len(bodyparts)
        frames = {}
        for key, value in data.items():
            if key == "single":
                continue
            try:
                f = int(key)
            except (TypeError, ValueError):
                raise LabelFileError(
                    f"{source}: unexpected key {key!r} in an assemblies pickle"
                ) from None
            arr = np.asarray(value, dtype=np.float64)
            if arr.size == 0:
                continue
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3 or arr.shape[1] != n_kp or arr.shape[2] < 3:
                raise LabelFileError(
                    f"{source}: frame {f} holds assemblies of shape {arr.shape}, "
                    f"expected (animals, {n_kp} bodyparts {list(bodyparts)}, 3 or 4)"
                )
            frames[f] = arr
        last = max(frames, default=first_frame - 1)
        n_frames = n_frames if n_frames is not None else last + 1 - first_frame
        n_ind = max_individuals or max((a.shape[0] for a in frames.values()), default=1)
        out = np.full((n_frames, n_ind, n_kp, 4), np.nan, np.float32)
        ids = np.full((n_frames, n_ind, n_kp), -1.0)
        for f, arr in frames.items():
            row = f - first_frame
            if not 0 <= row < n_frames:
                continue
            arr = arr[:n_ind]
            out[row, : len(arr), :, :3] = arr[..., :3]
            if arr.shape[2] > 3:
                ids[row, : len(arr)] = np.nan_to_num(arr[..., 3], nan=-1.0)
        bad = ~np.isfinite(out[..., :3]).all(-1) | (out[..., :3] < 0).any(-1)
        out[bad] = np.nan
        ids[bad] = -1
        identity = None
        if (ids >= 0).any():
            n_id = len(identities) if identities is not None else int(ids.max()) + 1
            onehot = (ids[..., None] == np.arange(n_id)).astype(np.float64)
            votes = (onehot * np.nan_to_num(out[..., 2:3], nan=0.0)).sum(axis=2)
            tot = votes.sum(-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                identity = np.where(tot > 0, votes / tot, np.nan).astype(np.float32)
        unique = None
        if unique_bodyparts:
            unique = np.full((n_frames, len(unique_bodyparts), 3), np.nan, np.float32)
            for key, value in (data.get("single") or {}).items():
                row = int(key) - first_frame
                if 0 <= row < n_frames:
                    unique[row] = np.asarray(value, dtype=np.float64)[: len(unique_bodyparts), :3]
        return cls(out, list(bodyparts), identity, unique, list(unique_bodyparts),
                   None if identities is None else list(identities), first_frame)


def write_assemblies_pickle(
    path: str | os.PathLike, chunks: Assemblies | Iterable[Assemblies]
) -> Path:
    """Stream chunks of :class:`Assemblies` into DeepLabCut 3's ``_assemblies.pickle``."""
    if isinstance(chunks, Assemblies):
        chunks = [chunks]
    single: dict = {}
    with DictPickleWriter(path) as w:
        for chunk in chunks:
            w.update(chunk._dlc_items())
            single.update(chunk._dlc_unique_items())
        w["single"] = single
    return Path(path)


def read_assemblies_pickle(path: str | os.PathLike, bodyparts: Sequence[str], **kw) -> Assemblies:
    """Read an ``_assemblies.pickle`` (ours or DeepLabCut's) as :class:`Assemblies`."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except FileNotFoundError:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise LabelFileError(f"{str(path)!r} is not a readable assemblies pickle: {err}") from err
    if not isinstance(data, dict):
        raise LabelFileError(f"{str(path)!r} holds a {type(data).__name__}, not a dict of frames")
    return Assemblies.from_dlc(data, bodyparts, source=path, **kw)


# --------------------------------------------------------------------- peaks
@dataclass(eq=False)
class Peaks:
    """Candidate keypoints per bodypart for a chunk of frames, padded to ``max_peaks``.

    Attributes
    ----------
    coords : float32 (n_frames, n_bodyparts, max_peaks, 2)
        Peak positions ``x, y`` in frame pixels (DeepLabCut's convention).
    confidence : float32 (n_frames, n_bodyparts, max_peaks)
        Score of each peak; NaN (or <= 0) marks padding.
    identity : float32 (n_frames, n_bodyparts, max_peaks, n_identities) or None
        Identity probabilities at each peak (identity head).
    affinity : float32 (n_frames, n_edges, max_peaks, max_peaks) or None
        PAF affinity between peak ``a`` of the edge's first bodypart and peak
        ``b`` of its second, per graph edge (DeepLabCut 2's ``costs["m1"]``).
    first_frame : int
        Video frame of ``coords[0]``.

    ``n_bodyparts`` covers the multi-animal bodyparts followed by the unique
    ones, as in DeepLabCut's ``all_joints_names``.
    """

    coords: np.ndarray
    confidence: np.ndarray
    identity: np.ndarray | None = None
    affinity: np.ndarray | None = None
    first_frame: int = 0

    def __post_init__(self) -> None:
        self.coords = _f32(self.coords, "peak coords", 4)
        self.confidence = _f32(self.confidence, "peak confidence", 3)
        if self.coords.shape[:3] != self.confidence.shape or self.coords.shape[3] != 2:
            raise ValueError(
                f"peak coords {self.coords.shape} and confidence {self.confidence.shape} disagree"
            )
        if self.identity is not None:
            self.identity = _f32(self.identity, "peak identity", 4)
            if self.identity.shape[:3] != self.confidence.shape:
                raise ValueError(f"peak identity shape {self.identity.shape} does not fit")
        if self.affinity is not None:
            self.affinity = _f32(self.affinity, "peak affinity", 4)
        self.first_frame = int(self.first_frame)

    @property
    def n_frames(self) -> int:
        return self.coords.shape[0]

    @property
    def valid(self) -> np.ndarray:
        """(F, K, P) bool: real peaks (not padding)."""
        c = self.confidence
        return np.isfinite(c) & (c > 0) & np.isfinite(self.coords).all(-1)


def full_pickle_metadata(
    all_joints_names: Sequence[str],
    paf_graph: Sequence[Sequence[int]] = (),
    paf_inds: Sequence[int] | None = None,
    nms_radius: float | None = None,
    min_confidence: float | None = None,
    sigma: float = 1,
    n_frames: int = 0,
) -> dict:
    """The ``"metadata"`` entry DeepLabCut 3 writes into ``_full.pickle``."""
    graph = [list(map(int, e)) for e in paf_graph]
    return {
        "nms radius": nms_radius,
        "minimal confidence": min_confidence,
        "sigma": sigma,
        "PAFgraph": graph,
        "PAFinds": np.arange(len(graph)) if paf_inds is None else np.asarray(paf_inds),
        "all_joints": [[i] for i in range(len(all_joints_names))],
        "all_joints_names": list(all_joints_names),
        "nframes": int(n_frames),
        "key_str_width": key_width(n_frames),
    }


class FullPickleWriter:
    """Stream :class:`Peaks` chunks into DeepLabCut's ``_full.pickle``.

    Per frame ``"frame0042": {"coordinates": ([K arrays (n, 2)],), "confidence":
    [K arrays (n, 1)], "costs": {edge: {"m1": (na, nb)}} or None, "identity":
    [K arrays (n, I)]}`` (identity only with an identity head), and a final
    ``"metadata"`` entry from :func:`full_pickle_metadata`. ``n_frames`` (the
    video's length) is needed up front because the keys are zero-padded to it.
    """

    def __init__(self, path: str | os.PathLike, metadata: dict, n_frames: int):
        self.metadata = dict(metadata)
        self.n_frames = int(n_frames)
        self.width = key_width(self.n_frames)
        self._writer = DictPickleWriter(path)
        self._written = 0

    def add(self, peaks: Peaks) -> None:
        valid = peaks.valid
        items = []
        for f in range(peaks.n_frames):
            v = valid[f]
            kk = range(v.shape[0])
            coords = [peaks.coords[f, k, v[k]].astype(np.float64) for k in kk]
            conf = [peaks.confidence[f, k, v[k], None].astype(np.float64) for k in kk]
            entry: dict[str, Any] = {"coordinates": (coords,), "confidence": conf, "costs": None}
            if peaks.affinity is not None:
                entry["costs"] = self._costs(peaks.affinity[f], coords, v)
            if peaks.identity is not None:
                entry["identity"] = [peaks.identity[f, k, v[k]].astype(np.float64) for k in kk]
            items.append((frame_key(peaks.first_frame + f, self.width), entry))
        self._writer.update(items)
        self._written += peaks.n_frames

    def _costs(self, affinity: np.ndarray, coords: list, valid: np.ndarray) -> dict:
        graph = self.metadata.get("PAFgraph") or []
        costs = {}
        for e, (a, b) in enumerate(graph[: affinity.shape[0]]):
            m1 = affinity[e][np.ix_(valid[a], valid[b])].astype(np.float64)
            dist = np.linalg.norm(coords[a][:, None] - coords[b][None], axis=-1)
            costs[e] = {"m1": m1, "distance": dist}
        return costs

    def close(self) -> Path:
        meta = dict(self.metadata)
        meta["nframes"] = max(self.n_frames, self._written)
        meta["key_str_width"] = self.width
        self._writer["metadata"] = meta
        return self._writer.close()

    def abort(self) -> None:
        self._writer.abort()

    def __enter__(self) -> FullPickleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
