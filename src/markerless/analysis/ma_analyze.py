"""Multi-animal video analysis: the fused network + peaks + PAF function per batch, assembly
on the host, DeepLabCut 3's ``_full.pickle`` and ``_assemblies.pickle``.

Same machinery as the single-animal path (`markerless.analysis.analyze`): chunks of about
a thousand frames decoded in a background thread, batches of fixed size through one
compiled function (`markerless.analysis.ma_inference`), one partial-results file per
chunk (so a killed run resumes and memory stays flat in video length). What differs:

* each chunk's result is a few padded arrays (peaks, affinities, identity) plus its
  assemblies, computed on the host in a worker thread while the device runs the next
  batches (`markerless.assembly.assemble`), and saved as one ``.npz``;
* the final files are DLC 3's pickles, streamed chunk by chunk (`ma_outputs`), and the
  usual ``_meta.pickle``/``_meta.json``;
* `track_video` is the one place where tracking and stitching hook in (``auto_track``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from markerless.analysis.chunks import DEFAULT_CHUNK_FRAMES
from markerless.analysis.engine import run_chunks
from markerless.analysis.job import (
    ModelSpec,
    VideoJob,
    _warn_damage,
    analysis_metadata,
    prepare_job,
)
from markerless.analysis.ma_inference import cached_ma_predictor, peak_config
from markerless.analysis.ma_outputs import full_pickle_path, write_ma_pickles
from markerless.analysis.outputs import output_paths, write_metadata
from markerless.analysis.resume import MultiPartialStore
from markerless.assembly.assembler import AssemblerConfig, assemble
from markerless.assembly.spec import MultiAnimalSpec
from markerless.decoding.ma_peaks import PeakConfig
from markerless.errors import ConfigError

__all__ = ["MultiAnimalSettings", "MultiPartialStore", "crowded_frames",
           "iter_analyze_video_ma", "prepare_ma_job", "run_ma_job_local", "track_video"]


@dataclass(frozen=True)
class MultiAnimalSettings:
    """Peak finding and assembly settings of a multi-animal analysis (DLC's names noted).

    ``n_tracks`` (the most animals per frame, DLC ``topktoretain``) defaults to the
    number of individuals; ``max_peaks`` (peaks kept per bodypart on the device) to
    ``n_tracks + 2``.
    """

    n_tracks: int | None = None
    max_peaks: int | None = None
    nms_radius: int = 2  # cells (DLC nmsradius)
    min_confidence: float = 0.01  # DLC minconfidence
    pcutoff: float = 0.1
    min_affinity: float = 0.05  # DLC pafthreshold
    min_n_links: int = 2  # DLC minimalnumberofconnections
    max_overlap: float = 0.8
    identity_only: bool = False
    greedy: bool = False

    def resolve(self, ma: MultiAnimalSpec, spec: ModelSpec) -> tuple[PeakConfig,
                                                                      AssemblerConfig]:
        n = int(self.n_tracks or ma.n_individuals)
        if n < 1:
            raise ConfigError(f"n_tracks must be >= 1, got {self.n_tracks}")
        pcfg = peak_config(ma, spec.stride, spec.locref_stdev,
                           max_peaks=max(self.max_peaks or n + 2, n),
                           nms_radius=self.nms_radius, threshold=self.min_confidence)
        acfg = AssemblerConfig(max_n_individuals=n, n_multibodyparts=ma.n_multi,
                               edges=pcfg.edges, pcutoff=self.pcutoff,
                               min_affinity=self.min_affinity, min_n_links=self.min_n_links,
                               max_overlap=self.max_overlap, identity_only=self.identity_only,
                               greedy=self.greedy)
        return pcfg, acfg


@dataclass
class MultiJob:
    """A `VideoJob` plus what the multi-animal path needs."""

    job: VideoJob
    ma: MultiAnimalSpec
    peaks: PeakConfig
    assembler: AssemblerConfig

    @property
    def full_pickle(self) -> Path:
        return full_pickle_path(self.job.paths.h5)


def prepare_ma_job(video: str | os.PathLike, spec: ModelSpec, ma: MultiAnimalSpec,
                   settings: MultiAnimalSettings, **job_kwargs: Any) -> MultiJob | None:
    """`prepare_job` for a multi-animal model; None when ``_full.pickle`` already exists."""
    pcfg, acfg = settings.resolve(ma, spec)
    h5 = output_paths(video, spec.scorer, job_kwargs.get("destfolder")).h5
    extra = {"peaks": dataclasses.asdict(pcfg), "assembly": dataclasses.asdict(acfg)}
    job = prepare_job(video, spec, result_file=full_pickle_path(h5), extra_signature=extra,
                      store_class=MultiPartialStore, **job_kwargs)
    return None if job is None else MultiJob(job, ma, pcfg, acfg)


def crowded_frames(peaks: np.ndarray, n_multi: int, n_tracks: int,
                   min_score: float = 0.5) -> np.ndarray:
    """``(F,)`` bool: frames where most multi-animal bodyparts have more than ``n_tracks``
    confident peaks (score ``>= min_score``) -- more animals than the assembly keeps."""
    s = peaks[:, :n_multi, :, 2]
    n = (np.nan_to_num(s, nan=0.0) >= min_score).sum(-1)  # (F, Km)
    return np.median(n, axis=-1) > n_tracks


def _assemble_chunk(mj: MultiJob, chunk: tuple[int, int], out: dict[str, np.ndarray]) -> None:
    res = assemble(out["peaks"], out["affinity"], mj.assembler, out.get("identity"))
    arrays = dict(out)
    arrays["crowded"] = crowded_frames(out["peaks"], mj.ma.n_multi,
                                       mj.assembler.max_n_individuals,
                                       max(0.5, mj.assembler.pcutoff))
    arrays["data"] = res.data
    arrays["n_links"] = res.n_links
    if res.identity is not None:
        arrays["assembly_identity"] = res.identity
    if res.unique is not None:
        arrays["unique"] = res.unique
    mj.job.store.save(*chunk, arrays)


def run_ma_job_local(mj: MultiJob, model: Any, prefetch: int = 3, auto_track: bool = False,
                     **track_kwargs: Any) -> Iterator[dict]:
    """Analyse the pending chunks in this process; assembly runs in a worker thread."""
    from markerless.analysis.progress import Rate
    from markerless.io.video import VideoReader

    job = mj.job
    rate = Rate(job.n_frames, job.store.frames_done())
    yield rate.event(job)
    pending = job.store.pending()
    if pending:
        predictor = cached_ma_predictor(job.spec.fingerprint, job.geometry, mj.peaks,
                                        lambda: model)
        queue: deque = deque()
        with ThreadPoolExecutor(1, thread_name_prefix="markerless-assemble") as pool, \
                VideoReader(job.video, cache_bytes=0) as reader, contextlib.closing(
                run_chunks(reader, predictor, pending, job.batch_size, job.crop, prefetch)
                ) as events:
            for ev in events:
                if ev.coords is not None:
                    queue.append(pool.submit(_assemble_chunk, mj, ev.chunk, ev.coords))
                    while len(queue) > 1:  # at most one chunk waits: memory stays flat
                        queue.popleft().result()
                rate.add(ev.n)
                yield rate.event(job)
            while queue:
                queue.popleft().result()
    out = finalize_ma_job(mj, auto_track=auto_track, **track_kwargs)
    yield rate.event(job, "done", out)


def finalize_ma_job(mj: MultiJob, auto_track: bool = False, **track_kwargs: Any) -> Path:
    """Write the pickles and metadata from the chunks, drop the partials; returns the
    ``_full.pickle`` path."""
    job = mj.job
    store = job.store
    missing = store.pending()
    if missing:
        raise RuntimeError(f"{len(missing)} chunks not analysed yet, first {missing[0]}")
    first_scores, crowded = [], []
    for a, b in store.chunks:
        c = store.load(a, b)
        first_scores.append(c["peaks"][:, :, 0])
        crowded.append(c["crowded"])
    bad_runs = _warn_damage(job, np.concatenate(first_scores))
    _warn_crowded(mj, np.concatenate(crowded))
    write_ma_pickles(job.paths.h5, ((a, store.load(a, b)) for a, b in store.chunks),
                     job.n_frames, mj.ma.bodyparts, mj.ma.multi_bodyparts,
                     mj.ma.unique_bodyparts, mj.ma.individuals, mj.peaks.edges,
                     mj.peaks.nms_radius, mj.peaks.threshold)
    data = analysis_metadata(job, bad_runs)
    data["multianimal"] = {**mj.ma.to_meta(), "peaks": dataclasses.asdict(mj.peaks),
                           "assembly": dataclasses.asdict(mj.assembler)}
    write_metadata(job.paths, data)
    store.remove()
    if auto_track:
        track_video(mj, **track_kwargs)
    return mj.full_pickle


def _warn_crowded(mj: MultiJob, crowded: np.ndarray) -> None:
    from markerless.analysis.resume import bad_frame_ranges

    runs = bad_frame_ranges(np.flatnonzero(crowded).tolist())
    if not runs:
        return
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:20])
    n = mj.assembler.max_n_individuals
    warnings.warn(
        f"{int(crowded.sum())} frame(s) of {str(mj.job.video)!r} show more animals than "
        f"n_tracks={n} (frames {text}{' ...' if len(runs) > 20 else ''}); only the {n} best "
        "assemblies are kept there: pass n_tracks= to keep more", UserWarning, stacklevel=4)


def track_video(mj: MultiJob, track_method: str = "ellipse", **kwargs: Any) -> Path:
    """Tracking and stitching of one analysed video (``analyze_videos(auto_track=True)``).

    The single call site for `markerless.tracking`: reads the ``_assemblies.pickle`` just
    written and streams it through the tracker and the stitcher, chunk by chunk, into
    DeepLabCut 3's ``<video><scorer>_el.pickle`` (tracklets) and ``_el.h5`` (tracks), as
    ``convert_detections2tracklets`` + ``stitch_tracklets`` would. ``n_tracks`` and
    ``identity_only`` come from the analysis settings; ``kwargs`` go to
    `markerless.tracking.stream.track_video` (``inference_cfg``, ``min_length``...).
    """
    from markerless.analysis.ma_outputs import assemblies_pickle_path
    from markerless.tracking.api import DEFAULT_CHUNK_FRAMES as TRACK_CHUNK_FRAMES
    from markerless.tracking.detections import read_assemblies_pickle
    from markerless.tracking.stream import track_video as stream_tracks
    from markerless.tracking.trackers import TRACK_METHODS

    ma, job = mj.ma, mj.job
    assemblies = read_assemblies_pickle(
        assemblies_pickle_path(job.paths.h5), list(ma.multi_bodyparts), n_frames=job.n_frames,
        unique_bodyparts=list(ma.unique_bodyparts),
        identities=list(ma.individuals) if ma.identity else None)
    names = list(ma.individuals)
    n_tracks = mj.assembler.max_n_individuals
    if len(names) != n_tracks:
        names = [f"ind{i + 1}" for i in range(n_tracks)]
    prefix = job.paths.h5.with_suffix("")
    suffix = TRACK_METHODS[track_method]
    return stream_tracks(
        assemblies.chunks(TRACK_CHUNK_FRAMES),
        prefix.with_name(prefix.name + suffix + ".h5"), n_tracks, track_method,
        identity_only=mj.assembler.identity_only, animal_names=names, scorer=job.spec.scorer,
        tracklets_pickle=prefix.with_name(prefix.name + suffix + ".pickle"),
        n_frames=job.n_frames, **kwargs)


def iter_analyze_video_ma(video: str | os.PathLike, model: Any, info: Any, *,
                          settings: MultiAnimalSettings | None = None, batch_size: int = 8,
                          destfolder: str | os.PathLike | None = None, cropping=None,
                          downscale: float | None = None, redo: bool = False,
                          chunk_frames: int = DEFAULT_CHUNK_FRAMES, prefetch: int = 3,
                          auto_track: bool = False) -> Iterator[dict]:
    """Analyse one video with a multi-animal ``model`` (no project needed)."""
    from markerless.analysis.job import model_spec
    from markerless.analysis.ma_inference import ma_spec_of
    from markerless.analysis.ma_outputs import ma_skipped_event

    ma = ma_spec_of(info)
    if ma is None:
        raise ConfigError("iter_analyze_video_ma needs a multi-animal model")
    spec = model_spec(model, info)
    mj = prepare_ma_job(video, spec, ma, settings or MultiAnimalSettings(),
                        batch_size=batch_size, destfolder=destfolder, cropping=cropping,
                        downscale=downscale, redo=redo, chunk_frames=chunk_frames)
    if mj is None:
        yield ma_skipped_event(video, spec.scorer, destfolder)
        return
    yield from run_ma_job_local(mj, model, prefetch=prefetch, auto_track=auto_track)
