"""DeepLabCut 3's multi-animal analysis files, written chunk by chunk.

* ``<video><scorer>_full.pickle``: every frame's peaks per bodypart (coordinates,
  confidence, identity probabilities) and the PAF affinities of the assembled edges
  (DLC's ``costs`` ``{"m1", "distance"}``), plus DLC's ``metadata`` entry;
* ``<video><scorer>_assemblies.pickle``: the animals of each frame, ``{frame: (n, Km, 4)
  [x, y, likelihood, identity]}`` and ``"single"`` for unique bodyparts.

The writers are `markerless.tracking.detections`'s (``FullPickleWriter``,
``write_assemblies_pickle``), which stream entry by entry so memory stays flat in video
length. The ``PAFgraph`` written is the list of *assembled* edges (``paf_best``), so that the
affinity channels and the graph indices agree for any reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["assemblies_pickle_path", "full_pickle_path", "ma_skipped_event",
           "write_ma_pickles"]

Chunk = dict[str, np.ndarray]


def full_pickle_path(h5: Path) -> Path:
    return h5.with_name(h5.stem + "_full.pickle")


def assemblies_pickle_path(h5: Path) -> Path:
    return h5.with_name(h5.stem + "_assemblies.pickle")


def ma_skipped_event(video, scorer: str, destfolder) -> dict:
    """`skipped_event` of a multi-animal video (its result is the ``_full.pickle``)."""
    from markerless.analysis.progress import skipped_event

    ev = skipped_event(video, scorer, destfolder)
    ev["output"] = str(full_pickle_path(Path(ev["output"])))
    return ev


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
    from markerless.tracking import detections as det

    full, ass = full_pickle_path(h5), assemblies_pickle_path(h5)
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
