"""CLI verbs that take a model or results elsewhere: export, benchmark-live, analyze-with,
export-nwb."""

from __future__ import annotations

import argparse
from pathlib import Path

from markerless.cli import command
from markerless.cli._args import (
    choice_of,
    config_file,
    existing_file,
    folder,
    positive_float,
    positive_int,
    probability,
    snapshot_index,
)
from markerless.cli.training import shuffle_args


def _model_folder(text: str) -> Path:
    path = Path(text).expanduser()
    if not (path / "pose_cfg.yaml").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not an exported model folder (no "
                                         "pose_cfg.yaml): make one with 'markerless export'")
    return path


def _frame_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH (e.g. 480x640), got {text!r}"
                                         ) from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text!r}")
    return h, w


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    shuffle_args(p)
    p.add_argument("--snapshotindex", type=snapshot_index, default=None)
    p.add_argument("--formats", nargs="+", type=choice_of(["stablehlo", "onnx"], "format"),
                   default=["stablehlo", "onnx"])
    p.add_argument("--frame-size", type=_frame_size, default=None,
                   help="HEIGHTxWIDTH of the ONNX file's input (default: the project's video)")
    p.add_argument("--destfolder", type=folder, default=None)


@command("export", "export a trained model as StableHLO + ONNX (exported-models/<scorer>/)",
         _export_args)
def _export(ns: argparse.Namespace) -> int:
    from markerless.export import export_model

    out = export_model(ns.config, ns.shuffle, ns.trainingsetindex, ns.snapshotindex,
                       formats=tuple(ns.formats), frame_size=ns.frame_size,
                       destfolder=ns.destfolder)
    print(out)
    return 0


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=_model_folder)
    p.add_argument("video", type=existing_file)
    p.add_argument("--frames", type=positive_int, default=300, help="timed frames per mode")
    p.add_argument("--warmup", type=positive_int, default=10)
    p.add_argument("--backend", type=choice_of(["xla", "onnx"], "backend"), default="xla")
    p.add_argument("--threshold", type=probability, default=0.5,
                   help="dynamic cropping: likelihood of a detected keypoint")
    p.add_argument("--margin", type=positive_int, default=10, help="dynamic cropping margin")
    p.add_argument("--resize", type=positive_float, default=None)
    p.add_argument("--device", default=None, help="cpu or gpu (default: JAX's default)")
    p.add_argument("--output", type=Path, default=None, help="also save the results as JSON")


@command("benchmark-live", "per-frame latency (p50/p95/p99) and fps of live inference",
         _bench_args)
def _bench(ns: argparse.Namespace) -> int:
    from markerless.live.benchmark import benchmark_live, format_table, write_results

    results = benchmark_live(ns.model, ns.video, n_frames=ns.frames, backend=ns.backend,
                             dynamic=(True, ns.threshold, ns.margin), resize=ns.resize,
                             warmup=ns.warmup, device=ns.device)
    print(format_table(results, f"{ns.model.name} on {ns.video.name}, batch 1"))
    if ns.output is not None:
        write_results(results, ns.output)
    return 0


def _analyze_with_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=_model_folder)
    p.add_argument("videos", nargs="+", type=existing_file)
    p.add_argument("--backend", type=choice_of(["xla", "onnx"], "backend"), default="xla")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--save-as-csv", action="store_true")
    p.add_argument("--destfolder", type=folder, default=None)
    p.add_argument("--redo", action="store_true")


@command("analyze-with", "analyse videos with an exported model folder (no project needed)",
         _analyze_with_args)
def _analyze_with(ns: argparse.Namespace) -> int:
    from markerless.export import analyze_with_model

    analyze_with_model(ns.model, list(ns.videos), backend=ns.backend,
                       batch_size=ns.batch_size, save_as_csv=ns.save_as_csv,
                       destfolder=ns.destfolder, redo=ns.redo)
    return 0


def _nwb_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("inputs", nargs="*", type=existing_file,
                   help="analysis .h5 files or videos (their newest analysis)")
    p.add_argument("--labels", action="store_true",
                   help="also write the labeled frames (ndx-pose PoseTraining)")
    p.add_argument("--subject", default=None, help="subject id")
    p.add_argument("--destfolder", type=folder, default=None)


@command("export-nwb", "write analysis results (and labels) as NWB with ndx-pose", _nwb_args)
def _nwb(ns: argparse.Namespace) -> int:
    from markerless.io.nwb import export_nwb, export_nwb_labels

    for item in ns.inputs:
        print(export_nwb(ns.config, item, subject=ns.subject, destfolder=ns.destfolder))
    if ns.labels:
        print(export_nwb_labels(ns.config, subject=ns.subject))
    return 0
