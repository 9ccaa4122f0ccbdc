"""napari writer: a keypoints Points layer -> CollectedData .h5 + .csv (DeepLabCut's files).

The path the user chose is honoured; both the .h5 and the .csv are written
next to each other (same stem), atomically, keeping the previous version as
a backup. A save that would drop labels on disk is refused (DataLossError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markerless.napari.layers.convert import META_KEY, points_to_poses


def write_points(path: str, data: Any, attributes: dict) -> list[str]:
    """npe2 single-layer writer for Points layers made by markerless' reader or docks."""
    from markerless.io.dlc_labels import write_labels

    meta = attributes.get("metadata", {})
    if META_KEY not in meta:
        return []  # not a markerless keypoints layer: let another writer handle it
    poses = points_to_poses(data, attributes.get("features", {}), meta)
    poses.likelihood = None
    target = Path(path)
    if target.suffix.lower() not in {".h5", ".csv"}:
        target = target / f"CollectedData_{poses.scorer}.h5"
    written = write_labels(poses, target.with_suffix(".h5"))
    return [str(p) for p in (written if isinstance(written, (list, tuple)) else [written])]
