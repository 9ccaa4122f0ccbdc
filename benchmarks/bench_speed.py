"""Benchmark: analysis speed against DeepLabCut on this machine, at equal accuracy.

Run (a trained openfield project, e.g. from ``bench_small_data.py --run-one 0 default 1800
--keep bench-out/openfield-default``; DeepLabCut's venv from ../shared/peers/dlc-speed):

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/bench_speed.py \\
        --project bench-out/openfield-default --dlc-venv ../.dlc-venv [--long-minutes 60]

In one run, each measurement in a fresh process, interleaved (the machine is shared):

* **vs DeepLabCut**: ``analyze_videos`` on the first 600 frames of the openfield video
  (640x480) at batch 1: DeepLabCut 3.0.2's cspnext_s (its fastest CPU network, random
  weights: speed does not depend on them) and markerless's default network with two-stage
  and with whole-frame inference; the whole call is timed, model loading included, for both.
  Goal: two-stage >= 2x DeepLabCut.
* **accuracy**: test error on the project's test frames with the same snapshot, whole frames
  against two-stage (each test image on its own: the finder, then the crop). Goal: equal or
  better.
* **end to end**: steady-state analysis frames/s against the slower of the model alone
  (frames in memory) and decoding alone. Goal >= 0.9.
* **machine use**: CPU-seconds per wall-second at batch 1; ``batch_size="auto"``'s choice.
* **memory**: peak RSS analysing the whole openfield video (goal < 1 GiB), and with
  ``--long-minutes`` a video of that length (the openfield video stream-copied end to end):
  its wall time, peak RSS (flat) and the ETA the progress showed after one minute against
  the real total.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MARKERLESS_SHARED_DATA", REPO.parent / "shared" / "data"))
VIDEO = SHARED / "dlc-openfield-pranav" / "videos" / "m3v1mp4.mp4"
DLC_SPEED = REPO.parent / "shared" / "peers" / "dlc-speed" / "dlc_speed.py"
MODES = {"two-stage": (True, 0.5, 10), "whole": (False, 0.5, 10)}


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def cut(video: Path, n_frames: int, out: Path) -> Path:
    """The first ``n_frames`` of ``video`` by stream copy (no re-encoding)."""
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", str(video), "-frames:v",
                    str(n_frames), "-c", "copy", str(out)], check=True)
    return out


def repeat(video: Path, minutes: float, out: Path) -> Path:
    """``video`` played end to end until ``minutes`` long, by stream copy."""
    from markerless.io.video import probe_video

    info = probe_video(video)
    times = max(1, int(np.ceil(minutes * 60 * info.fps / info.n_frames)))
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{video.resolve()}'\n" for _ in range(times)))
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-c", "copy", str(out)], check=True)
    return out


# --- one measurement, in its own process ------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident memory (MiB): VmHWM, which starts anew at exec. (Linux's
    ``getrusage(RUSAGE_SELF).ru_maxrss`` keeps the parent's peak across fork + exec, so a
    child started after the parent loaded a model reported the parent's memory.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(project: Path, video: Path, mode: str, batch: str) -> dict:
    from markerless.analysis import iter_analyze

    config = project / "config.yaml"
    batch_size = batch if batch == "auto" else int(batch)
    with tempfile.TemporaryDirectory() as dest:
        t0, c0 = time.perf_counter(), time.process_time()
        first_minute_total, steady, chosen = None, None, None
        n = 0
        for ev in iter_analyze(config, [str(video)], dynamic=MODES[mode],
                               batch_size=batch_size, destfolder=dest, redo=True):
            now = time.perf_counter() - t0
            if ev["status"] == "info":
                chosen = ev["message"]
            if ev.get("fps"):
                steady = ev["fps"]
                if first_minute_total is None and now >= 60 and ev["eta_s"] is not None:
                    first_minute_total = now + ev["eta_s"]
            n = max(n, ev.get("n_frames") or 0)
            if ev["status"] == "done":
                meta = json.loads(next(Path(dest).glob("*_meta.json")).read_text())["data"]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = peak_rss_mb()
    return {"tool": "markerless", "mode": mode, "batch": meta["batch_size"], "frames": n,
            "seconds": round(wall, 2), "fps": round(n / wall, 3),
            "steady_fps": None if steady is None else round(steady, 2),
            "cpu_util": round(cpu / wall, 2), "peak_rss_mb": round(rss),
            "eta_after_1min_s": first_minute_total, "chosen": chosen,
            "inference": meta.get("inference")}


def _child(args: list[str], python: str = sys.executable) -> dict:
    out = subprocess.run([python, *args], capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"{args[:3]} failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def ours(project: Path, video: Path, mode: str, batch: str) -> dict:
    return _child([__file__, "--measure", str(project), str(video), mode, batch])


def dlc(venv: Path, video: Path, batch: int) -> dict:
    src = SHARED / "dlc-openfield-pranav"
    return _child([str(DLC_SPEED), str(src), str(video), "--net", "cspnext_s", "--batch",
                   str(batch)], python=str(venv / "bin" / "python"))


# --- accuracy and the parts of the pipeline ------------------------------------------------
def accuracy(project: Path) -> dict:
    from markerless.analysis.dynamic import resolve_two_stage
    from markerless.analysis.inference import Geometry
    from markerless.analysis.job import model_spec
    from markerless.analysis.two_stage import TwoStagePredictor
    from markerless.evaluation.metrics import compute_rmse
    from markerless.training.snapshots import Predictor, load_model_for_inference
    from markerless.training.training_data import load_training_data

    config = project / "config.yaml"
    model, info = load_model_for_inference(config)
    data = load_training_data(config, 1, which="test")
    gt = data.keypoints[:, 0].astype(np.float64)
    whole = Predictor(model, info).predict_batches(data.images, 1, data.sizes)
    spec = model_spec(model, info)
    h, w = data.images.shape[1:3]
    geom = Geometry(frame_hw=(h, w), scale=spec.global_scale, pad_multiple=spec.pad_multiple,
                    stride=spec.stride, locref_stdev=spec.locref_stdev, net_type=spec.net_type)
    two = resolve_two_stage(MODES["two-stage"], geom, spec.extra)
    pred = TwoStagePredictor(model, two)
    crops = []
    for image in data.images:
        pred.reset()  # each test image on its own: the finder finds the animal first
        crops.append(np.asarray(pred(image[None]))[0])
    return {"whole_px": compute_rmse(whole, gt), "two_stage_px": compute_rmse(np.stack(crops), gt),
            "crop": list(two.crop_hw), "n_test": len(gt)}


def parts(project: Path, video: Path) -> dict:
    """Frames/s of the model alone (two-stage, batch 1, frames in memory) and of decoding."""
    import jax

    from markerless.analysis.dynamic import resolve_two_stage
    from markerless.analysis.inference import Geometry
    from markerless.analysis.job import model_spec
    from markerless.analysis.two_stage import TwoStagePredictor
    from markerless.io.video import VideoReader
    from markerless.training.snapshots import load_model_for_inference

    model, info = load_model_for_inference(project / "config.yaml")
    spec = model_spec(model, info)
    with VideoReader(video, cache_bytes=0) as reader:
        t0 = time.perf_counter()
        frames = reader.read_range(0, len(reader))
        decode_fps = len(frames) / (time.perf_counter() - t0)
    geom = Geometry(frame_hw=frames.shape[1:3], scale=spec.global_scale,
                    pad_multiple=spec.pad_multiple, stride=spec.stride,
                    locref_stdev=spec.locref_stdev, net_type=spec.net_type)
    pred = TwoStagePredictor(model, resolve_two_stage(MODES["two-stage"], geom, spec.extra))
    jax.block_until_ready(pred(frames[:1]))
    pred.reset()
    t0 = time.perf_counter()
    out = None
    for i in range(len(frames)):
        out = pred(frames[i:i + 1])
    jax.block_until_ready(out)
    model_fps = len(frames) / (time.perf_counter() - t0)
    return {"model_fps": model_fps, "decode_fps": decode_fps}


def report(goal: str, figure: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "FAIL")
    print(f"  {goal}: {figure}  {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=REPO / "bench-out" / "openfield-default")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--dlc-venv", type=Path, default=REPO.parent / ".dlc-venv")
    parser.add_argument("--long-minutes", type=float, default=0.0)
    parser.add_argument("--measure", nargs=4, metavar=("PROJECT", "VIDEO", "MODE", "BATCH"))
    args = parser.parse_args()
    if args.measure:
        project, video, mode, batch = args.measure
        print(json.dumps(measure(Path(project), Path(video), mode, batch)), flush=True)
        return
    out = REPO / "bench-out" / "speed"
    out.mkdir(parents=True, exist_ok=True)
    clip = cut(args.video, args.frames, out / f"clip{args.frames}.mp4")
    have_dlc = (args.dlc_venv / "bin" / "python").exists() and DLC_SPEED.exists()
    print(f"{args.frames} frames of {args.video.name}; project {args.project}; DeepLabCut: "
          f"{'yes' if have_dlc else 'no (no venv)'}", flush=True)
    runs: dict[str, list[dict]] = {"dlc": [], "two-stage": [], "whole": []}
    for _ in range(args.reps):
        if have_dlc:
            runs["dlc"].append(dlc(args.dlc_venv, clip, 1))
            print("RESULT " + json.dumps(runs["dlc"][-1]), flush=True)
        for mode in ("two-stage", "whole"):
            runs[mode].append(ours(args.project, clip, mode, "1"))
            print("RESULT " + json.dumps(runs[mode][-1]), flush=True)
    auto = ours(args.project, clip, "two-stage", "auto")
    print("RESULT " + json.dumps(auto), flush=True)
    acc = accuracy(args.project)
    print("RESULT " + json.dumps({"accuracy": acc}), flush=True)
    pp = parts(args.project, clip)
    print("RESULT " + json.dumps({"parts": pp}), flush=True)
    full = ours(args.project, args.video, "two-stage", "1")
    print("RESULT " + json.dumps(full), flush=True)
    longrun = None
    if args.long_minutes:
        long_video = repeat(args.video, args.long_minutes, out / f"long{args.long_minutes:g}.mp4")
        longrun = ours(args.project, long_video, "two-stage", "1")
        print("RESULT " + json.dumps(longrun), flush=True)

    def med(key, mode):
        return float(np.median([r[key] for r in runs[mode]])) if runs[mode] else float("nan")

    print("\nsummary (medians over the interleaved repetitions):")
    two, whole = med("fps", "two-stage"), med("fps", "whole")
    report("markerless two-stage, batch 1", f"{two:.2f} fps (CPU {med('cpu_util', 'two-stage')}"
           " cores busy)", None)
    report("markerless whole frames, batch 1", f"{whole:.2f} fps (CPU "
           f"{med('cpu_util', 'whole')})", None)
    if runs["dlc"]:
        d = med("fps", "dlc")
        report("DeepLabCut 3.0.2 cspnext_s, batch 1", f"{d:.2f} fps", None)
        report("two-stage >= 2x DeepLabCut", f"{two / d:.2f}x", two >= 2 * d)
    report("batch_size='auto'", f"{auto['chosen']}; {auto['fps']:.2f} fps", None)
    report("accuracy: two-stage test error <= whole-frame", f"{acc['two_stage_px']:.2f} vs "
           f"{acc['whole_px']:.2f} px on {acc['n_test']} test frames ({acc['crop']} crops)",
           acc["two_stage_px"] <= acc["whole_px"] + 1e-6)
    e2e = med("steady_fps", "two-stage")
    floor = min(pp["model_fps"], pp["decode_fps"])
    report("end to end >= 0.9 x min(model, decode)", f"{e2e:.1f} / min({pp['model_fps']:.1f}, "
           f"{pp['decode_fps']:.1f}) = {e2e / floor:.2f}", e2e >= 0.9 * floor)
    report("peak RSS < 1 GiB (whole openfield video)", f"{full['peak_rss_mb']} MiB",
           full["peak_rss_mb"] < 1024)
    report("fallbacks on the openfield video", json.dumps(full["inference"]["frames_by_stage"]),
           None)
    if longrun:
        eta = longrun["eta_after_1min_s"]
        report(f"{args.long_minutes:g}-minute video", f"{longrun['seconds'] / 60:.1f} min wall, "
               f"{longrun['fps']:.1f} fps, peak RSS {longrun['peak_rss_mb']} MiB (openfield "
               f"video: {full['peak_rss_mb']} MiB)", longrun["peak_rss_mb"] < 1024)
        if eta:
            report("ETA after the first minute vs the real total",
                   f"{eta / 60:.1f} vs {longrun['seconds'] / 60:.1f} min "
                   f"({eta / longrun['seconds']:.2f}x)", None)


if __name__ == "__main__":
    main()
