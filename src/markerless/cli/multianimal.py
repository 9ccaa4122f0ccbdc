"""CLI verbs for several animals: SLEAP import/export, tracking, stitching, tracking scores."""

from __future__ import annotations

import argparse

from markerless.cli import command
from markerless.cli._args import (
    config_file,
    existing_file,
    folder,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
)
from markerless.cli.training import shuffle_args

_TRACKERS = ["ellipse", "box", "skeleton"]


def _frames(text: str) -> range | list[int]:
    """``START:STOP[:STEP]`` (Python's range) or a comma-separated list of frame indices."""
    try:
        if ":" in text:
            parts = [int(p) if p else None for p in text.split(":")]
            start, stop, step = (parts + [None, None, None])[:3]
            return range(start or 0, stop, step or 1)
        return [int(p) for p in text.split(",") if p.strip()]
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected START:STOP[:STEP] or a list like 0,4,8, got {text!r}") from None


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("labels", type=existing_file, help="the SLEAP .slp file")
    p.add_argument("--working-directory", type=folder, default=None)
    p.add_argument("--frames", type=_frames, default=None,
                   help="labeled frames to import, e.g. 0:1100:4 (default: all)")
    p.add_argument("--project", default=None, help="task name (default: the .slp's name)")
    p.add_argument("--experimenter", default="sleap")
    p.add_argument("--video", type=existing_file, default=None,
                   help="the video, when the one the .slp names cannot be found")
    p.add_argument("--copy-videos", action="store_true")


@command("import-slp", "make a multi-animal project from SLEAP labels (.slp)", _import_args)
def _import(ns: argparse.Namespace) -> int:
    from markerless.io.slp_project import import_slp

    print(import_slp(ns.labels, working_directory=ns.working_directory, frames=ns.frames,
                     project=ns.project, experimenter=ns.experimenter, video=ns.video,
                     copy_videos=ns.copy_videos))
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=existing_file,
                   help="config.yaml (its labels), or a labels/analysis/_el.h5 file")
    p.add_argument("-o", "--output", default=None, help="the .slp to write")
    p.add_argument("--video", type=existing_file, default=None)
    p.add_argument("--config", type=config_file, default=None, help="for the skeleton's edges")


@command("export-slp", "write labels or tracks as a SLEAP .slp", _export_args)
def _export(ns: argparse.Namespace) -> int:
    from markerless.io.slp import export_slp

    print(export_slp(ns.source, ns.output, video=ns.video, config=ns.config))
    return 0


def _videos(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("videos", nargs="+", type=existing_file)
    shuffle_args(p)
    p.add_argument("--track-method", default="", choices=["", *_TRACKERS],
                   help="default: config.yaml's default_track_method")
    p.add_argument("--destfolder", type=folder, default=None)
    p.add_argument("--scorer", default=None,
                   help="the analysis files' scorer (default: the project's model's)")


def _convert_args(p: argparse.ArgumentParser) -> None:
    _videos(p)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--identity-only", action="store_true")
    p.add_argument("--ignore-bodyparts", nargs="*", default=None)


@command("convert-detections2tracklets",
         "link each video's assemblies into tracklets (<video><scorer>_el.pickle)", _convert_args)
def _convert(ns: argparse.Namespace) -> int:
    from markerless.tracking.api import convert_detections2tracklets

    for path in convert_detections2tracklets(
            ns.config, ns.videos, shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
            overwrite=ns.overwrite, destfolder=ns.destfolder, track_method=ns.track_method,
            identity_only=ns.identity_only, ignore_bodyparts=ns.ignore_bodyparts,
            scorer=ns.scorer):
        print(path)
    return 0


def _stitch_args(p: argparse.ArgumentParser) -> None:
    _videos(p)
    p.add_argument("--n-tracks", type=positive_int, default=None,
                   help="default: the number of individuals in config.yaml")
    p.add_argument("--animal-names", nargs="*", default=None)
    p.add_argument("--min-length", type=positive_int, default=10)
    p.add_argument("--max-gap", type=nonnegative_int, default=None)
    p.add_argument("--no-split-tracklets", action="store_true")
    p.add_argument("--output-name", default="")
    p.add_argument("--save-as-csv", action="store_true")


@command("stitch-tracklets", "stitch tracklets into n_tracks tracks (<video><scorer>_el.h5)",
         _stitch_args)
def _stitch(ns: argparse.Namespace) -> int:
    from markerless.tracking.api import stitch_tracklets

    for path in stitch_tracklets(
            ns.config, ns.videos, shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
            n_tracks=ns.n_tracks, animal_names=ns.animal_names, min_length=ns.min_length,
            split_tracklets=not ns.no_split_tracklets, max_gap=ns.max_gap or None,
            destfolder=ns.destfolder, track_method=ns.track_method,
            output_name=ns.output_name, save_as_csv=ns.save_as_csv, scorer=ns.scorer):
        print(path)
    return 0


def _score_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tracks", type=existing_file, help="tracks: _el.h5, .csv or .slp")
    p.add_argument("ground_truth", type=existing_file,
                   help="maDLC labels/tracks (.h5/.csv) or a SLEAP .slp")
    p.add_argument("--sigma", type=positive_float, default=0.1,
                   help="OKS keypoint tolerance (DeepLabCut 0.1, SLEAP 0.025)")
    p.add_argument("--oks-threshold", type=probability, default=0.5)
    p.add_argument("-o", "--output", default=None, help="save the scores as .json")


@command("evaluate-tracking", "IDF1, MOTA, ID switches and HOTA of tracks vs ground truth",
         _score_args)
def _score(ns: argparse.Namespace) -> int:
    from markerless.evaluation.tracking import evaluate_tracking

    print(evaluate_tracking(ns.tracks, ns.ground_truth, sigma=ns.sigma,
                            oks_threshold=ns.oks_threshold, output=ns.output))
    return 0
