"""DeepLabCut 3's multi-animal analysis files, written chunk by chunk.

* ``<video><scorer>_full.pickle``: every frame's peaks per bodypart (coordinates,
  confidence, identity probabilities) and the PAF affinities of the assembled edges
  (DLC's ``costs`` ``{"m1", "distance"}``), plus DLC's ``metadata`` entry;
* ``<video><scorer>_assemblies.pickle``: the animals of each frame, ``{frame: (n, Km, 4)
  [x, y, likelihood, identity]}`` and ``"single"`` for unique bodyparts.

The writers are `markerless.tracking.detections`'s (``FullPickleWriter``,
``write_assemblies_pickle``), which stream entry by entry so memory stays flat in video
length. Until that module is on this branch, `_InterimWriters` writes the same layout.
The ``PAFgraph`` written is the list of *assembled* edges (``paf_best``), so that the
affinity channels and the graph indices agree for any reader.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.io.atomic import atomic_write

__all__ = ["full_pickle_path", "assemblies_pickle_path", "write_ma_pickles"]

Chunk = dict[str, np.ndarray]


def full_pickle_path(h5: Path) -> Path:
    return h5.with_name(h5.stem + "_full.pickle")


def assemblies_pickle_path(h5: Path) -> Path:
    return h5.with_name(h5.stem + "_assemblies.pickle")


def write_ma_pickles(h5: Path, chunks: Iterable[tuple[int, Chunk]], n_frames: int,
                     bodyparts: Sequence[str], multi_bodyparts: Sequence[str],
                     unique_bodyparts: Sequence[str], individuals: Sequence[str],
                     edges: Sequence[tuple[int, int]], nms_radius: float,
                     min_confidence: float) -> tuple[Path, Path]:
    """Write both pickles from ``(first_frame, chunk arrays)`` pairs in frame order.

    A chunk holds ``peaks`` ``(F, K, P, 3)``, ``affinity`` ``(F, E, P, P)``, optional
    ``identity`` ``(F, K, P, N)``, and the assembly arrays ``data`` ``(F, A, Km, 4)``,
    optional ``assembly_identity`` ``(F, A, N)`` and ``unique`` ``(F, Ku, 3)``.
    """
    full, ass = full_pickle_path(h5), assemblies_pickle_path(h5)
    try:
        from markerless.tracking import detections as det
    except ImportError:  # before markerless.tracking is merged
        det = None
    if det is None:
        _InterimWriters(full, ass, n_frames, bodyparts, edges, nms_radius,
                        min_confidence).write(chunks)
        return full, ass
    meta = det.full_pickle_metadata(list(bodyparts), [list(e) for e in edges], None,
                                    nms_radius, min_confidence, n_frames=n_frames)
    def assemblies():
        with det.FullPickleWriter(full, meta, n_frames) as writer:
            for first, c in chunks:
                p = c["peaks"]
                writer.add(det.Peaks(p[..., :2], p[..., 2], c.get("identity"), c["affinity"],
                                     first))
                yield det.Assemblies(c["data"], list(multi_bodyparts),
                                     c.get("assembly_identity"), c.get("unique"),
                                     list(unique_bodyparts),
                                     list(individuals) if "assembly_identity" in c else None,
                                     first)

    det.write_assemblies_pickle(ass, assemblies())
    return full, ass


class _InterimWriters:
    """The same two files, built in memory (used only until markerless.tracking exists)."""

    def __init__(self, full: Path, ass: Path, n_frames: int, bodyparts: Sequence[str],
                 edges: Sequence[tuple[int, int]], nms_radius: float, min_confidence: float):
        self.full, self.ass, self.n_frames = full, ass, int(n_frames)
        self.width = max(int(np.ceil(np.log10(max(self.n_frames, 1)))), 1)
        self.edges = [tuple(int(v) for v in e) for e in edges]
        self.meta = {"nms radius": nms_radius, "minimal confidence": min_confidence,
                     "sigma": 1, "PAFgraph": [list(e) for e in self.edges],
                     "PAFinds": np.arange(len(self.edges)),
                     "all_joints": [[i] for i in range(len(bodyparts))],
                     "all_joints_names": list(bodyparts), "nframes": self.n_frames,
                     "key_str_width": self.width}

    def write(self, chunks: Iterable[tuple[int, Chunk]]) -> None:
        full: dict[str, Any] = {}
        ass: dict[Any, Any] = {}
        single: dict[int, np.ndarray] = {}
        for first, c in chunks:
            self._full_entries(first, c, full)
            self._assembly_entries(first, c, ass, single)
        full["metadata"] = self.meta
        ass["single"] = single
        for path, obj in ((self.full, full), (self.ass, ass)):
            atomic_write(path, lambda tmp, obj=obj: tmp.write_bytes(
                pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)), backup=False)

    def _full_entries(self, first: int, c: Chunk, out: dict) -> None:
        p, aff, ident = c["peaks"], c["affinity"], c.get("identity")
        valid = np.isfinite(p[..., :2]).all(-1) & (p[..., 2] > 0)
        for f in range(len(p)):
            v = valid[f]
            coords = [p[f, k, v[k], :2].astype(np.float64) for k in range(len(v))]
            entry: dict[str, Any] = {
                "coordinates": (coords,),
                "confidence": [p[f, k, v[k], 2:3].astype(np.float64) for k in range(len(v))],
                "costs": {e: {"m1": aff[f, e][np.ix_(v[a], v[b])].astype(np.float64),
                              "distance": np.linalg.norm(coords[a][:, None] - coords[b][None],
                                                         axis=-1)}
                          for e, (a, b) in enumerate(self.edges)},
            }
            if ident is not None:
                entry["identity"] = [ident[f, k, v[k]].astype(np.float64) for k in range(len(v))]
            out["frame" + str(first + f).zfill(self.width)] = entry

    @staticmethod
    def _assembly_entries(first: int, c: Chunk, out: dict, single: dict) -> None:
        data = c["data"].astype(np.float64)
        vis = np.isfinite(data[..., :2]).all(-1)
        present = vis.any(-1)
        ai = c.get("assembly_identity")
        ids = (np.argmax(np.nan_to_num(ai, nan=-1.0), -1).astype(np.float64) if ai is not None
               else np.full(data.shape[:2], -1.0))
        data[..., 3] = ids[..., None]
        data[~vis] = np.nan
        for f in np.flatnonzero(present.any(-1)):
            out[int(first + f)] = data[f, present[f]]
        u = c.get("unique")
        if u is not None:
            for f in np.flatnonzero(np.isfinite(u[..., :2]).all(-1).any(-1)):
                single[int(first + f)] = u[f].astype(np.float64)
