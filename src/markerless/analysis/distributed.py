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
from markerless.analysis.inference import ModelPayload, cached_predictor
from markerless.analysis.job import ModelSpec, VideoJob, finalize_job, prepare_job
from markerless.analysis.ma_outputs import ma_skipped_event
from markerless.analysis.progress import Rate, skipped_event

__all__ = ["analyze_range", "iter_analyze_distributed"]

def analyze_range(
    video: str,
    chunk: tuple[int, int],
    payload: ModelPayload,
    token: str,
    geometry: Any,
    batch_size: int,
    crop: tuple[int, int, int, int] | None,
    peaks: Any = None,
) -> np.ndarray | dict[str, np.ndarray]:
    """Dask task: coordinates ``(stop - start, K, 3)`` float32 of one chunk of ``video``.

    ``geometry`` is a `Geometry`, or a `TwoStageGeometry` (then the result is a dict with
    the coordinates and each frame's stage).

    With ``peaks`` (a `markerless.decoding.ma_peaks.PeakConfig`) the multi-animal function
    runs instead and the result is its dict of padded arrays (peaks, affinity, identity).
    """
    from markerless.io.video import VideoReader

    if peaks is None:
        predictor = cached_predictor(token, geometry, payload.to_model)
    else:
        from markerless.analysis.ma_inference import cached_ma_predictor

        predictor = cached_ma_predictor(token, geometry, peaks, payload.to_model)
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
    multianimal: tuple[Any, Any] | None = None,
    auto_track: bool = False,
    **job_kwargs: Any,
) -> Iterator[dict]:
    """Run every pending chunk of ``videos`` on ``client``; yields progress dicts.

    On a task error the remaining tasks are cancelled and the error re-raised;
    chunks already received stay saved, so running again resumes. ``multianimal`` =
    ``(MultiAnimalSpec, MultiAnimalSettings)`` runs the multi-animal analysis: the workers
    compute peaks and affinities, the driver assembles each chunk as it arrives.
    """
    from distributed import as_completed


    jobs: list[VideoJob] = []
    ma_jobs: dict[int, Any] = {}
    for video in videos:
        if multianimal is None:
            job = prepare_job(video, spec, **job_kwargs)
        else:
            from markerless.analysis.ma_analyze import prepare_ma_job

            mj = prepare_ma_job(video, spec, *multianimal, **job_kwargs)
            job = None if mj is None else mj.job
            if mj is not None:
                ma_jobs[id(job)] = mj
        if job is None:
            yield (skipped_event(video, spec.scorer, job_kwargs.get("destfolder"))
                   if multianimal is None else
                   ma_skipped_event(video, spec.scorer, job_kwargs.get("destfolder")))
        else:
            jobs.append(job)

    def save(job: VideoJob, chunk, result) -> None:
        if multianimal is None:
            job.store.save(*chunk, result)
        else:
            from markerless.analysis.ma_analyze import _assemble_chunk

            _assemble_chunk(ma_jobs[id(job)], chunk, result)

    def finalize(job: VideoJob):
        if multianimal is None:
            return finalize_job(job, save_as_csv)
        from markerless.analysis.ma_analyze import finalize_ma_job

        return finalize_ma_job(ma_jobs[id(job)], auto_track=auto_track)

    if not jobs:
        return
    payload = client.scatter(ModelPayload.from_model(model), broadcast=True)
    rates = {id(j): Rate(j.n_frames, j.store.frames_done()) for j in jobs}
    remaining = {id(j): len(j.store.pending()) for j in jobs}
    futures = {}
    run = uuid.uuid4().hex[:8]  # task keys unique per run (and per video path, not stem)
    for n, job in enumerate(jobs):
        for chunk in job.store.pending():
            peaks = ma_jobs[id(job)].peaks if multianimal is not None else None
            fut = client.submit(
                analyze_range, str(job.video), chunk, payload, spec.fingerprint,
                job.predictor_geometry,
                job.batch_size, job.crop, peaks, pure=False,
                key=f"markerless-analyze-{run}-{n}-{job.video.stem}-{chunk[0]}",
            )  # fmt: skip
            futures[fut] = (job, chunk)
    for job in jobs:  # fully resumed videos: nothing to compute
        if remaining[id(job)] == 0:
            yield rates[id(job)].event(job, "done", finalize(job))
    try:
        for fut in as_completed(list(futures)):
            job, chunk = futures.pop(fut)
            save(job, chunk, fut.result())
            rate = rates[id(job)]
            rate.add(chunk[1] - chunk[0])
            remaining[id(job)] -= 1
            if remaining[id(job)] == 0:
                yield rate.event(job, "done", finalize(job))
            else:
                yield rate.event(job)
    finally:
        if futures:
            client.cancel(list(futures))
