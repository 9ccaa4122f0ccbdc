"""Per-chunk partial results on disk, so a killed analysis continues where it stopped.

Layout: ``<dest>/<video stem><scorer>.partial/`` holds ``plan.json`` (what is
being computed, and the chunk boundaries) and one ``<start>-<stop>.npy`` per
finished chunk (``(stop - start, K, 3)`` float32 ``[x, y, likelihood]``).
Each chunk file appears atomically (written to a temporary name, then
renamed), so a kill leaves only whole chunks. A resumed run reuses the saved
plan, so it computes exactly the same chunks with exactly the same batching as
an uninterrupted one, and the assembled result is identical. If anything that
changes the numbers differs (video file, model snapshot, crop, batch size...)
the partial folder is discarded and the analysis starts over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MultiPartialStore", "PartialStore", "video_fingerprint"]

PLAN_FILE = "plan.json"


def video_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Cheap identity of a video file (resolved path, size, modification time)."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _jsonable(obj: Any) -> Any:
    """Round-trip ``obj`` through JSON so that tuples and lists compare equal."""
    return json.loads(json.dumps(obj, default=str))


class PartialStore:
    """Chunk results of one video analysis, kept until the final file is written.

    Parameters
    ----------
    folder
        The ``.partial`` folder.
    signature
        JSON-able description of everything that changes the numbers. A saved
        plan with another signature is discarded.
    chunks
        Chunk boundaries ``[(start, stop), ...]`` for a fresh plan; a saved
        plan with the same signature keeps its own boundaries.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        signature: dict[str, Any],
        chunks: Sequence[tuple[int, int]],
    ):
        self.folder = Path(folder)
        self.signature = _jsonable(signature)
        self.chunks = [(int(a), int(b)) for a, b in chunks]
        self.resumed = False
        self._open()

    # --- plan -----------------------------------------------------------
    def _open(self) -> None:
        plan_path = self.folder / PLAN_FILE
        if plan_path.is_file():
            try:
                plan = json.loads(plan_path.read_text())
            except (OSError, ValueError):
                plan = None
            if plan and plan.get("signature") == self.signature:
                self.chunks = [(int(a), int(b)) for a, b in plan["chunks"]]
                self.resumed = True
                return
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        text = json.dumps({"signature": self.signature, "chunks": self.chunks}, indent=1)
        self._atomic(plan_path, lambda p: p.write_text(text))

    # --- chunks ---------------------------------------------------------
    def chunk_path(self, start: int, stop: int) -> Path:
        return self.folder / f"{start:010d}-{stop:010d}.npy"

    def is_done(self, start: int, stop: int) -> bool:
        return self.chunk_path(start, stop).is_file()

    def pending(self) -> list[tuple[int, int]]:
        """Chunks without a saved result, in video order."""
        return [c for c in self.chunks if not self.is_done(*c)]

    def frames_done(self) -> int:
        return sum(b - a for a, b in self.chunks if self.is_done(a, b))

    def save(self, start: int, stop: int, coords: np.ndarray) -> None:
        """Store one chunk's ``(stop - start, K, 3)`` result atomically."""
        coords = np.asarray(coords, dtype=np.float32)
        if coords.shape[0] != stop - start:
            raise ValueError(
                f"chunk {start}-{stop} has {coords.shape[0]} rows, expected {stop - start}"
            )
        self._atomic(self.chunk_path(start, stop), lambda p: _save_npy(p, coords))

    def load(self, start: int, stop: int) -> np.ndarray:
        return np.load(self.chunk_path(start, stop))

    def assemble(self) -> np.ndarray:
        """All chunks concatenated in frame order: ``(n_frames, K, 3)``."""
        missing = self.pending()
        if missing:
            raise RuntimeError(f"{len(missing)} chunks not analysed yet, first {missing[0]}")
        parts = [self.load(a, b) for a, b in self.chunks]
        if parts and isinstance(parts[0], dict):  # several arrays per chunk (MultiPartialStore)
            return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
        return np.concatenate(parts, axis=0)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @staticmethod
    def discard(folder: str | os.PathLike) -> None:
        """Forget any partial results in ``folder`` (``redo=True``)."""
        shutil.rmtree(folder, ignore_errors=True)

    # --- helpers --------------------------------------------------------
    def _atomic(self, path: Path, write: Any) -> None:
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr)
        f.flush()
        os.fsync(f.fileno())


def bad_frame_ranges(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Group sorted frame indices into inclusive ``(first, last)`` runs for messages."""
    runs: list[tuple[int, int]] = []
    for f in sorted(int(x) for x in frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


class MultiPartialStore(PartialStore):
    """A chunk's several arrays in one ``<start>-<stop>.npz`` (written atomically)."""

    def chunk_path(self, start: int, stop: int) -> Path:
        return self.folder / f"{start:010d}-{stop:010d}.npz"

    def save(self, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:  # type: ignore[override]
        n = {len(a) for a in arrays.values()}
        if n != {stop - start}:
            raise ValueError(f"chunk {start}-{stop} arrays have {n} rows, expected {stop - start}")
        path = self.chunk_path(start, stop)
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}.npz")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def load(self, start: int, stop: int) -> dict[str, np.ndarray]:  # type: ignore[override]
        with np.load(self.chunk_path(start, stop)) as z:
            return {k: z[k] for k in z.files}
