"""``analyze_videos``: DeepLabCut's video analysis on a JAX model, resumable and scalable.

Layers, innermost first:

* :func:`iter_analyze_video` / :func:`analyze_video_file` analyse one video
  with a model object (no project needed: tests and benchmarks pass a freshly
  built model and a hand-written ``info``);
* :func:`iter_analyze` loads the project's model and runs many videos,
  in-process or on a dask cluster (``client=``), yielding progress dicts
  ``{video, status, frames_done, n_frames, fps, eta_s, output}`` for tqdm or
  napari's ``thread_worker``;
* :func:`analyze_videos` (DeepLabCut's name and leading arguments) consumes
  that generator, optionally behind a tqdm bar, and returns the scorer string.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from markerless.analysis.chunks import DEFAULT_CHUNK_FRAMES
from markerless.analysis.dynamic import parse_dynamic
from markerless.analysis.engine import run_chunks
from markerless.analysis.inference import cached_predictor
from markerless.analysis.job import VideoJob, finalize_job, model_spec, prepare_job
from markerless.analysis.progress import Rate, skipped_event
from markerless.errors import ConfigError
from markerless.validate import positive_int

__all__ = [
    "VIDEO_EXTENSIONS",
    "analyze_cli",
    "analyze_video_file",
    "analyze_videos",
    "collect_videos",
    "iter_analyze",
    "iter_analyze_video",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".webm", ".wmv")


def run_job_local(
    job: VideoJob, model: Any, save_as_csv: bool = False, prefetch: int = 3,
    predictor: Any = None,
) -> Iterator[dict]:
    """Analyse the pending chunks of ``job`` in this process, saving each chunk as it ends.

    ``predictor`` (frames -> coordinates) replaces the jitted network of ``model``, as for
    exported models (`markerless.export.analyze`)."""
    rate = Rate(job.n_frames, job.store.frames_done())
    yield rate.event(job)
    pending = job.store.pending()
    if pending:
        from markerless.io.video import VideoReader

        if predictor is None:
            predictor = cached_predictor(job.spec.fingerprint, job.predictor_geometry,
                                         lambda: model)
        with VideoReader(job.video, cache_bytes=0) as reader, contextlib.closing(
            run_chunks(reader, predictor, pending, job.batch_size, job.crop, prefetch)
        ) as events:
            for ev in events:
                if ev.coords is not None:
                    job.store.save(*ev.chunk, ev.coords)
                rate.add(ev.n)
                yield rate.event(job)
    out = finalize_job(job, save_as_csv)
    yield rate.event(job, "done", out)


def iter_analyze_video(
    video: str | os.PathLike,
    model: Any,
    info: Any,
    *,
    batch_size: int = 8,
    destfolder: str | os.PathLike | None = None,
    cropping: Sequence[int] | None = None,
    downscale: float | None = None,
    save_as_csv: bool = False,
    redo: bool = False,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    prefetch: int = 3,
    dynamic: Any = None,
) -> Iterator[dict]:
    """Analyse one video with ``model``; yields progress dicts, the last with ``status="done"``.

    ``info`` (a :class:`markerless.training.snapshots.ModelInfo`, a mapping or
    any object with those attributes) gives ``net_type``, ``stride``,
    ``bodyparts`` and optionally ``individuals``, ``scorer``, ``snapshot``,
    ``locref_stdev``, ``global_scale``, ``pad_multiple``. A multi-animal model (its info's
    ``meta["multianimal"]``) runs `markerless.analysis.ma_analyze.iter_analyze_video_ma`.
    ``dynamic`` as in `analyze_videos`.
    """
    from markerless.analysis.ma_inference import ma_spec_of

    if ma_spec_of(info) is not None:
        from markerless.analysis.ma_analyze import iter_analyze_video_ma

        yield from iter_analyze_video_ma(video, model, info, batch_size=batch_size,
                                         destfolder=destfolder, cropping=cropping,
                                         downscale=downscale, redo=redo,
                                         chunk_frames=chunk_frames, prefetch=prefetch)
        return
    spec = model_spec(model, info)
    job = prepare_job(video, spec, batch_size=batch_size, destfolder=destfolder,
                      cropping=cropping, downscale=downscale, redo=redo, chunk_frames=chunk_frames,
                      dynamic=dynamic)
    if job is None:
        yield skipped_event(video, spec.scorer, destfolder)
        return
    yield from run_job_local(job, model, save_as_csv, prefetch=prefetch)


def analyze_video_file(video: str | os.PathLike, model: Any, info: Any, **kwargs: Any) -> Path:
    """:func:`iter_analyze_video` run to the end; returns the ``.h5`` path."""
    last: dict = {}
    for ev in iter_analyze_video(video, model, info, **kwargs):
        last = ev
    return Path(last["output"])


def collect_videos(videos: str | os.PathLike | Sequence, videotype: str = "") -> list[Path]:
    """Video files from paths and folders (folders: files ending in ``videotype``)."""
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    ext = videotype if not videotype or videotype.startswith(".") else f".{videotype}"
    out: list[Path] = []
    for v in videos:
        p = Path(v)
        if p.is_dir():
            exts = (ext.lower(),) if ext else VIDEO_EXTENSIONS
            out.extend(sorted(f for f in p.iterdir()
                              if f.is_file() and f.suffix.lower() in exts))
        elif not ext or p.suffix.lower() == ext.lower():
            out.append(p)
    return out


@contextlib.contextmanager
def _client(client: Any) -> Iterator[Any]:
    """``client`` as given, or a Client connected to a scheduler address (closed after)."""
    if not isinstance(client, str):
        yield client
        return
    from distributed import Client

    with Client(client) as own:
        yield own


def _crop_from_config(cfg: Any) -> list[int] | None:
    if not cfg.get("cropping"):
        return None
    try:
        return [int(cfg[k]) for k in ("x1", "x2", "y1", "y2")]
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"config says cropping: true but x1/x2/y1/y2 are bad: {err}") from err


def iter_analyze(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence,
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    snapshot_index: int | str | None = None,
    batch_size: int | str | None = None,
    save_as_csv: bool = False,
    destfolder: str | os.PathLike | None = None,
    cropping: Sequence[int] | None = None,
    dynamic: Any = None,
    client: Any = None,
    redo: bool = False,
    downscale: float | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    auto_track: bool = True,
    n_tracks: int | None = None,
    identity_only: bool = False,
    multianimal: Any = None,
) -> Iterator[dict]:
    """Generator form of :func:`analyze_videos`: one progress dict per finished batch/chunk.

    ``multianimal`` (a `markerless.analysis.ma_analyze.MultiAnimalSettings`) tunes peak
    finding and assembly of multi-animal models; ``n_tracks`` and ``identity_only``
    override its fields.
    """
    from markerless.analysis.ma_inference import ma_spec_of
    from markerless.io.config import read_config
    from markerless.training.snapshots import load_model_for_inference

    parse_dynamic(dynamic)  # a bad tuple fails before the model loads
    cfg = read_config(config)
    auto_batch = isinstance(batch_size, str) and batch_size.strip().lower() == "auto"
    batch_size = 1 if auto_batch else positive_int(
        cfg.get("batch_size") or 8 if batch_size is None else batch_size, "batch_size")
    model, info = load_model_for_inference(config, shuffle, trainingsetindex, snapshot_index)
    if cropping is None:
        cropping = _crop_from_config(cfg)
    paths = collect_videos(videos, videotype)
    if not paths:
        warnings.warn(f"no videos found in {videos!r} (videotype {videotype!r})", stacklevel=2)
        return
    spec = model_spec(model, info)
    spec.extra.setdefault("iteration", int(cfg.get("iteration", 0) or 0))
    kw = {"batch_size": batch_size, "destfolder": destfolder, "cropping": cropping,
          "downscale": downscale, "redo": redo, "chunk_frames": chunk_frames}
    ma = ma_spec_of(info)
    if ma is None:
        kw["dynamic"] = dynamic
    else:
        if auto_batch:
            kw["batch_size"] = positive_int(cfg.get("batch_size") or 8, "batch_size")
        yield from _iter_analyze_ma(paths, model, spec, ma, client, multianimal, n_tracks,
                                    identity_only, auto_track, kw)
        return
    if auto_batch:
        kw["batch_size"] = yield from _choose_batch(paths[0], model, spec, kw)
    if client is not None:
        from markerless.analysis.distributed import iter_analyze_distributed

        with _client(client) as dask_client:
            yield from iter_analyze_distributed(paths, model, spec, dask_client, save_as_csv, **kw)
        return
    for video in paths:
        job = prepare_job(video, spec, **kw)
        if job is None:
            yield skipped_event(video, spec.scorer, destfolder)
            continue
        yield from run_job_local(job, model, save_as_csv)


def _choose_batch(video: Path, model: Any, spec: Any, kw: dict) -> Iterator[dict]:
    """``batch_size="auto"``: time a few sizes on the first video's frames (yields one
    ``"info"`` event saying what was chosen); returns the size. A video with an unfinished
    run keeps the size that run used, so it resumes."""
    import json

    from markerless.analysis.batch_size import choose_batch_size
    from markerless.analysis.outputs import output_paths
    from markerless.io.video import VideoReader

    plan = output_paths(video, spec.scorer, kw["destfolder"]).partial / "plan.json"
    try:
        recorded = int(json.loads(plan.read_text())["signature"]["batch_size"])
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    if recorded is not None and not kw.get("redo"):
        yield _info(video, f"batch size {recorded}, as the unfinished run of this video")
        return recorded
    probe = prepare_job(video, spec, **{**kw, "batch_size": 1, "redo": False})
    if probe is None:  # already analysed: any size does
        return 8
    with VideoReader(video, cache_bytes=0) as reader:
        frames = reader.read_range(0, min(64, probe.n_frames))
    if probe.crop is not None:
        x1, x2, y1, y2 = probe.crop
        frames = frames[:, y1:y2, x1:x2]
    predictor = cached_predictor(spec.fingerprint, probe.predictor_geometry, lambda: model)
    choice = choose_batch_size(lambda b: predictor, frames)
    yield _info(video, f"chose {choice.describe()}")
    return choice.batch_size


def _info(video: Path, message: str) -> dict:
    return {"video": str(video), "status": "info", "message": message, "frames_done": 0,
            "n_frames": 0, "fps": None, "eta_s": None, "output": None}


def _iter_analyze_ma(paths, model, spec, ma, client, settings, n_tracks, identity_only,
                     auto_track, kw) -> Iterator[dict]:
    """The multi-animal branch of `iter_analyze` (`markerless.analysis.ma_analyze`)."""
    import dataclasses

    from markerless.analysis.ma_analyze import (
        MultiAnimalSettings,
        prepare_ma_job,
        run_ma_job_local,
    )
    from markerless.analysis.ma_outputs import ma_skipped_event

    settings = settings or MultiAnimalSettings()
    changes = {"identity_only": bool(identity_only) or settings.identity_only}
    if n_tracks is not None:
        changes["n_tracks"] = int(n_tracks)
    settings = dataclasses.replace(settings, **changes)
    if client is not None:
        from markerless.analysis.distributed import iter_analyze_distributed

        with _client(client) as dask_client:
            yield from iter_analyze_distributed(paths, model, spec, dask_client,
                                                multianimal=(ma, settings),
                                                auto_track=auto_track, **kw)
        return
    for video in paths:
        mj = prepare_ma_job(video, spec, ma, settings, **kw)
        if mj is None:
            yield ma_skipped_event(video, spec.scorer, kw["destfolder"])
            continue
        yield from run_ma_job_local(mj, model, auto_track=auto_track)


def analyze_videos(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence,
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    snapshot_index: int | str | None = None,
    batch_size: int | str | None = None,
    save_as_csv: bool = False,
    destfolder: str | os.PathLike | None = None,
    cropping: Sequence[int] | None = None,
    dynamic: Any = None,
    client: Any = None,
    redo: bool = False,
    downscale: float | None = None,
    progress: bool = True,
    auto_track: bool = True,
    n_tracks: int | None = None,
    identity_only: bool = False,
    multianimal: Any = None,
    **dlc_kwargs: Any,
) -> str:
    """Analyse videos with the project's trained model (DeepLabCut's ``analyze_videos``).

    Writes ``<video stem><scorer>.h5`` (+ ``.csv`` with ``save_as_csv``) and
    ``<video stem><scorer>_meta.pickle``/``.json`` next to each video (or in
    ``destfolder``); videos with an existing result are skipped unless
    ``redo``. An interrupted run resumes from its last finished chunk.

    ``dynamic`` is DeepLabCut's ``(on, pcutoff, margin)``: ``(True, ...)`` finds the animal,
    then analyses a fixed-size crop around it at full resolution, reusing the previous
    frame's box while the pose stays confident (`markerless.analysis.two_stage`);
    ``(False, ...)`` analyses whole frames. The default ``None`` chooses by the model: crops
    when it was trained on crops clearly smaller than the frame (the default recipe).
    The metadata records which frames needed the whole frame. ``batch_size="auto"`` times a
    few batch sizes on the first video and uses the fastest (and says which).

    Parameters not in DeepLabCut: ``client`` (a ``dask.distributed.Client`` or
    a scheduler address: chunks run as tasks on the cluster), ``redo``,
    ``downscale`` (factor in (0, 1] applied before the network, on top of the
    model's training scale; coordinates stay in full-frame pixels) and
    ``progress`` (a tqdm bar per video).
    DeepLabCut-only options (``gputouse``, ``TFGPUinference``, ...) are accepted
    and ignored with a warning. Returns the scorer string, as DeepLabCut does.

    Multi-animal projects (DeepLabCut 3's behaviour): peaks, part-affinity fields and
    identity come out of the same compiled function as the network, animals are assembled
    on the host, and ``<video><scorer>_full.pickle`` + ``_assemblies.pickle`` are written;
    ``auto_track`` then tracks and stitches them, ``n_tracks`` (default: the number of
    individuals) is the most animals per frame, ``identity_only`` assembles by the
    identity head alone, ``multianimal`` (`MultiAnimalSettings`) holds the other
    assembly settings.
    """
    if batch_size is None and "batchsize" in dlc_kwargs:  # DeepLabCut 2's spelling
        batch_size = dlc_kwargs.pop("batchsize")
    if dlc_kwargs:
        warnings.warn(f"ignored DeepLabCut options: {sorted(dlc_kwargs)}", stacklevel=2)
    bar = None
    scorer = ""
    try:
        for ev in iter_analyze(config, videos, videotype, shuffle, trainingsetindex,
                               snapshot_index, batch_size, save_as_csv, destfolder, cropping,
                               dynamic, client, redo, downscale, auto_track=auto_track,
                               n_tracks=n_tracks, identity_only=identity_only,
                               multianimal=multianimal):  # fmt: skip
            if ev["output"]:
                stem = Path(ev["output"]).stem.removesuffix("_full")
                scorer = stem[len(Path(ev["video"]).stem):]
            if progress:
                bar = _show(bar, ev)
    finally:
        if bar is not None:
            bar.close()
    return scorer


def _show(bar: Any, ev: dict) -> Any:
    """Drive one tqdm bar per video from progress events (bars stay off when not a terminal)."""
    from tqdm.auto import tqdm

    name = Path(ev["video"]).name
    if ev["status"] == "info":
        tqdm.write(f"{name}: {ev['message']}")
        return bar
    if ev["status"] == "skipped":
        tqdm.write(f"{name}: already analysed ({ev['output']}); redo=True to analyse again")
        return bar
    if bar is None or getattr(bar, "_markerless_video", None) != name:
        if bar is not None:
            bar.close()
        bar = tqdm(total=ev["n_frames"], initial=ev["frames_done"], desc=name, unit="frame",
                   disable=None)
        bar._markerless_video = name
    bar.update(ev["frames_done"] - bar.n)
    if ev["status"] == "done":
        bar.close()
        tqdm.write(f"{name}: {ev['output']}")
        return None
    return bar


def analyze_cli(
    config: str | os.PathLike,
    videos: Sequence[str | os.PathLike],
    scheduler: str | None = None,
    batch_size: int | None = None,
    **kwargs: Any,
) -> int:
    """Entry point for ``markerless analyze CONFIG VIDEO... [--scheduler ADDRESS]``; exit code."""
    analyze_videos(config, list(videos), client=scheduler, batch_size=batch_size,
                   progress=True, **kwargs)
    return 0
