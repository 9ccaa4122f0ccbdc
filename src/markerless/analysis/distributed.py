"""Analysis on a dask.distributed cluster: chunks of every video run as tasks.

The driver (the process calling ``analyze_videos(..., client=...)``) probes
the videos, plans their chunks and opens the partial stores, exactly as an
in-process run does. It scatters the model once (graph definition + NumPy
weights, :class:`~markerless.analysis.inference.ModelPayload`) to every
worker; each task opens the video by path, analyses one chunk with the same
batching as a local run and returns its ``(frames, K, 3)`` coordinates (a few
kB). The driver saves each result in the partial store as it arrives (so a
killed driver resumes, too) and writes the final files when a video's last
chunk is in. Workers need the videos at the same paths (a shared file system).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.analysis.engine import run_chunks
from markerless.analysis.inference import Geometry, ModelPayload, cached_predictor
from markerless.analysis.job import ModelSpec, VideoJob, finalize_job, prepare_job
from markerless.analysis.progress import Rate, skipped_event

__all__ = ["analyze_range", "iter_analyze_distributed"]

def analyze_range(
    video: str,
    chunk: tuple[int, int],
    payload: ModelPayload,
    token: str,
    geometry: Geometry,
    batch_size: int,
    crop: tuple[int, int, int, int] | None,
) -> np.ndarray:
    """Dask task: coordinates ``(stop - start, K, 3)`` float32 of one chunk of ``video``."""
    from markerless.io.video import VideoReader

    predictor = cached_predictor(token, geometry, payload.to_model)
    with VideoReader(video, cache_bytes=0) as reader, contextlib.closing(
        run_chunks(reader, predictor, [tuple(chunk)], batch_size, crop, prefetch=2)
    ) as events:
        for ev in events:
            if ev.coords is not None:
                return ev.coords
    raise RuntimeError(f"chunk {chunk} of {video} produced no result")  # unreachable


def iter_analyze_distributed(
    videos: Sequence[str | Path],
    model: Any,
    spec: ModelSpec,
    client: Any,
    save_as_csv: bool = False,
    **job_kwargs: Any,
) -> Iterator[dict]:
    """Run every pending chunk of ``videos`` on ``client``; yields progress dicts.

    On a task error the remaining tasks are cancelled and the error re-raised;
    chunks already received stay saved, so running again resumes.
    """
    from distributed import as_completed


    jobs: list[VideoJob] = []
    for video in videos:
        job = prepare_job(video, spec, **job_kwargs)
        if job is None:
            yield skipped_event(video, spec.scorer, job_kwargs.get("destfolder"))
        else:
            jobs.append(job)
    if not jobs:
        return
    payload = client.scatter(ModelPayload.from_model(model), broadcast=True)
    rates = {id(j): Rate(j.n_frames, j.store.frames_done()) for j in jobs}
    remaining = {id(j): len(j.store.pending()) for j in jobs}
    futures = {}
    run = uuid.uuid4().hex[:8]  # task keys unique per run (and per video path, not stem)
    for n, job in enumerate(jobs):
        for chunk in job.store.pending():
            fut = client.submit(
                analyze_range, str(job.video), chunk, payload, spec.fingerprint, job.geometry,
                job.batch_size, job.crop, pure=False,
                key=f"markerless-analyze-{run}-{n}-{job.video.stem}-{chunk[0]}",
            )  # fmt: skip
            futures[fut] = (job, chunk)
    for job in jobs:  # fully resumed videos: nothing to compute
        if remaining[id(job)] == 0:
            yield rates[id(job)].event(job, "done", finalize_job(job, save_as_csv))
    try:
        for fut in as_completed(list(futures)):
            job, chunk = futures.pop(fut)
            coords = fut.result()
            job.store.save(*chunk, coords)
            rate = rates[id(job)]
            rate.add(chunk[1] - chunk[0])
            remaining[id(job)] -= 1
            if remaining[id(job)] == 0:
                yield rate.event(job, "done", finalize_job(job, save_as_csv))
            else:
                yield rate.event(job)
    finally:
        if futures:
            client.cancel(list(futures))
